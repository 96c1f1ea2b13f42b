import { claim, openLedger, startCosmosServer, type LedgerFixture } from './fixture';
import type { CosmosTestServer } from '../support/cosmos-server';
import type { NotificationRecord, WriteResult } from '../../src/store/ledger';
import { RemoteServiceError } from '../../src/shared/errors';

let server: CosmosTestServer;
let fixture: LedgerFixture;

beforeAll(async () => {
  server = await startCosmosServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  fixture = await openLedger(server);
});
afterEach(async () => {
  server.clearFaults();
  await fixture.close();
});

const batchRequests = () => server.requests().filter((r) => r.batch);
const okEtag = (result: WriteResult | undefined): string => {
  if (result?.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.etag;
};

describe('notifications', () => {
  test('create, get and replace round trip', async () => {
    const { ledger } = fixture;
    const records = [claim(), claim({ customerId: '' })];
    const created = await ledger.createNotifications(records);
    expect(created.map((r) => r.status)).toEqual(['ok', 'ok']);

    const stored = await ledger.getNotifications(records.map((r) => r.id));
    expect(stored.size).toBe(2);
    const first = stored.get(records[0]!.id)!;
    expect(first.record).toEqual(records[0]);
    expect(first.etag).toBe(okEtag(created[0]));

    const sent: NotificationRecord = {
      ...first.record,
      status: 'sent',
      sentAt: '2024-05-01T10:31:00.000Z',
      updatedAt: '2024-05-01T10:31:00.000Z',
      providerMessageId: 'emarsys-1',
    };
    const replaced = await ledger.replaceNotifications([{ record: sent, etag: first.etag }]);
    expect(replaced[0]).toMatchObject({ id: sent.id, status: 'ok' });
    expect(okEtag(replaced[0])).not.toBe(first.etag);

    const after = await ledger.getNotifications([sent.id]);
    expect(after.get(sent.id)).toEqual({ record: sent, etag: okEtag(replaced[0]) });
  });

  test('a second create of the same id is a conflict and leaves the first record', async () => {
    const { ledger } = fixture;
    const record = claim();
    await ledger.createNotifications([record]);
    const again = await ledger.createNotifications([{ ...record, runId: 'another-run' }]);
    expect(again).toEqual([{ id: record.id, status: 'conflict' }]);
    expect((await ledger.getNotifications([record.id])).get(record.id)?.record.runId).toBe(record.runId);
  });

  test('two runs claiming the same 50 carts at once: each cart is claimed exactly once', async () => {
    const records = Array.from({ length: 50 }, () => claim());
    const runA = records.map((r) => ({ ...r, runId: 'run-a' }));
    const runB = records.map((r) => ({ ...r, runId: 'run-b' }));
    const [a, b] = await Promise.all([fixture.ledger.createNotifications(runA), fixture.newLedger().createNotifications(runB)]);

    records.forEach((record, i) => {
      const statuses = [a[i]!.status, b[i]!.status].sort();
      expect(statuses).toEqual(['conflict', 'ok']);
      expect(a[i]!.id).toBe(record.id);
    });
    const stored = await fixture.ledger.getNotifications(records.map((r) => r.id));
    records.forEach((record, i) => {
      const winner = a[i]!.status === 'ok' ? 'run-a' : 'run-b';
      expect(stored.get(record.id)?.record.runId).toBe(winner);
    });
  });

  test('a replace with a stale etag is a conflict; a replace of a missing record too', async () => {
    const { ledger } = fixture;
    const record = claim();
    const [created] = await ledger.createNotifications([record]);
    const staleEtag = okEtag(created);
    const [first] = await ledger.replaceNotifications([{ record: { ...record, status: 'sent' }, etag: staleEtag }]);
    expect(first!.status).toBe('ok');

    const [second] = await ledger.replaceNotifications([{ record: { ...record, status: 'failed' }, etag: staleEtag }]);
    expect(second).toEqual({ id: record.id, status: 'conflict' });
    expect((await ledger.getNotifications([record.id])).get(record.id)?.record.status).toBe('sent');

    const missing = claim();
    const [gone] = await ledger.replaceNotifications([{ record: missing, etag: staleEtag }]);
    expect(gone).toEqual({ id: missing.id, status: 'conflict' });
  });

  test('getNotifications of 250 ids, 100 of them stored, costs one bulk request per 100 ids', async () => {
    const { ledger } = fixture;
    const stored = Array.from({ length: 100 }, () => claim());
    const created = await ledger.createNotifications(stored);
    expect(created.every((r) => r.status === 'ok')).toBe(true);
    const absent = Array.from({ length: 150 }, () => claim().id);
    // Interleave, and repeat some ids: the ledger reads each distinct id once.
    const ids = [...stored.map((r) => r.id), ...absent].sort();
    const before = ledger.stats();
    server.resetRequests();

    const found = await ledger.getNotifications([...ids, ...ids.slice(0, 20)]);

    expect(found.size).toBe(100);
    expect([...found.keys()].sort()).toEqual(stored.map((r) => r.id).sort());
    const after = ledger.stats();
    expect(after.requests - before.requests).toBe(3);
    expect(after.reads - before.reads).toBe(250);
    expect(server.requests()).toHaveLength(3);
    expect(batchRequests()).toHaveLength(3);
  });

  test('a page of 100 claims is one request, 250 claims three', async () => {
    const { ledger } = fixture;
    await ledger.getNotifications([claim().id]); // the client's one-off metadata lookup
    server.resetRequests();
    const before = ledger.stats().requests;
    await ledger.createNotifications(Array.from({ length: 100 }, () => claim()));
    expect(ledger.stats().requests - before).toBe(1);
    await ledger.createNotifications(Array.from({ length: 250 }, () => claim()));
    expect(ledger.stats().requests - before).toBe(4);
    expect(server.requests()).toHaveLength(4);
  });

  test('writes ask for answers without the documents (Prefer: return=minimal); reads do not', async () => {
    const { ledger } = fixture;
    const records = Array.from({ length: 3 }, () => claim());
    await ledger.getNotifications([claim().id]); // the client's one-off metadata lookup
    server.resetRequests();

    const created = await ledger.createNotifications(records);
    const stored = await ledger.getNotifications(records.map((r) => r.id));
    const replaced = await ledger.replaceNotifications(records.map((record, i) => ({ record: { ...record, status: 'sent' as const }, etag: okEtag(created[i]) })));

    expect(batchRequests().map((r) => r.minimal)).toEqual([true, false, true]);
    // The etags come from the short answers: each write's is the stored document's.
    records.forEach((record, i) => expect(stored.get(record.id)?.etag).toBe(okEtag(created[i])));
    const after = await ledger.getNotifications(records.map((r) => r.id));
    records.forEach((record, i) => expect(after.get(record.id)).toEqual({ record: { ...record, status: 'sent' }, etag: okEtag(replaced[i]) }));
  });

  test('notification documents carry pk = id, type and a ttl of ttlDays in seconds', async () => {
    const record = claim();
    await fixture.ledger.createNotifications([record]);
    const { resource } = await fixture.container.item(record.id, record.id).read<Record<string, unknown>>();
    expect(resource).toMatchObject({ id: record.id, pk: record.id, type: 'notification', ttl: 90 * 86_400 });
  });

  test('throttled operations are retried, and only those', async () => {
    const { ledger } = fixture;
    const records = Array.from({ length: 10 }, () => claim());
    server.resetRequests();
    server.throttleOperations(3);
    const results = await ledger.createNotifications(records);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('ok'));
    const stats = ledger.stats();
    expect(stats.retries).toBe(1);
    expect(stats.writes).toBe(13); // 10, then the 3 throttled ones again
    expect(batchRequests()).toHaveLength(2);
  });

  test('operations still throttled after the last attempt are retryable errors', async () => {
    const { ledger } = fixture;
    const records = Array.from({ length: 5 }, () => claim());
    server.throttleOperations(4, (id) => id === records[0]!.id); // on each of the 4 attempts
    const results = await ledger.createNotifications(records);
    expect(results[0]).toEqual({ id: records[0]!.id, status: 'error', reason: 'cosmos HTTP 429 after 4 attempts: the container needs more throughput (RU/s), or autoscale', retryable: true });
    expect(results.slice(1).map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  test('a whole bulk request answered 429 or 503 is sent again', async () => {
    const { ledger } = fixture;
    const records = [claim(), claim()];
    server.failNext(1, 429, (r) => r.batch);
    server.failNext(1, 503, (r) => r.batch);
    const results = await ledger.createNotifications(records);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(ledger.stats().retries).toBe(2);
  });

  test('a read that keeps failing is reported failed for its id, never "absent"', async () => {
    const { ledger } = fixture;
    const id = claim().id;
    server.failNext(4, 503, (r) => r.batch);
    const reads = await ledger.getNotifications([id]);
    expect([reads.has(id), reads.unreadable.has(id), reads.failed.get(id)]).toEqual([false, false, 'record not read (cosmos HTTP 503 after 4 attempts)']);
  });

  test('a read refused for good (403) is an error, not a failed id', async () => {
    const { ledger } = fixture;
    server.failNext(1, 403, (r) => r.batch);
    await expect(ledger.getNotifications([claim().id])).rejects.toMatchObject({ name: 'RemoteServiceError', service: 'CosmosDB', retryable: false });
  });

  test('a refused bulk request (403) throws a RemoteServiceError at once', async () => {
    const { ledger } = fixture;
    server.failNext(1, 403, (r) => r.batch);
    const error = await ledger.createNotifications([claim()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect(error).toMatchObject({ statusCode: 403, retryable: false });
    expect(ledger.stats().retries).toBe(0);
  });

  test('a create whose answer was lost, then met 409 on retry, is recognised as this call\'s own', async () => {
    const { ledger } = fixture;
    const records = [claim(), claim()];
    await ledger.getNotifications([records[0]!.id]); // metadata first, so the drop hits the bulk request
    server.dropResponses(1, (r) => r.batch);
    const results = await ledger.createNotifications(records);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok']);
    const stored = await ledger.getNotifications(records.map((r) => r.id));
    expect(stored.get(records[0]!.id)?.etag).toBe(okEtag(results[0]));
    // One line for the bulk call, however many of its records it settled.
    expect(fixture.logs.filter((l) => l.message.includes('earlier, timed-out try')).map((l) => l.fields)).toEqual([{ count: 2, samples: records.map((r) => r.id) }]);
  });

  test('after a lost answer, a 409 from another run\'s record stays a conflict', async () => {
    const { ledger } = fixture;
    const theirs = claim({ runId: 'their-run' });
    await fixture.newLedger().createNotifications([theirs]);
    server.dropResponses(1, (r) => r.batch);
    const [result] = await ledger.createNotifications([{ ...theirs, runId: 'our-run' }]);
    expect(result).toEqual({ id: theirs.id, status: 'conflict' });
  });

  test('stored documents that do not parse are left out, said once a read, and a create for one conflicts', async () => {
    const { ledger, container, logs } = fixture;
    const records = [claim(), claim(), claim()];
    for (const record of records) await container.items.create({ ...record, pk: record.id, status: 'opened-in-a-later-version' });
    const found = await ledger.getNotifications([...records.map((r) => r.id), claim().id]);
    expect(found.size).toBe(0);
    expect([...found.unreadable].sort()).toEqual(records.map((r) => r.id).sort());
    const warned = logs.filter((l) => l.level === 'warn');
    expect(warned.map((l) => [l.message, l.fields.count, l.fields.samples])).toEqual([
      ['Ignoring notification documents that do not parse; their carts count as handled', 3, records.map((r) => r.id)],
    ]);
    expect(await ledger.createNotifications([records[0] as NotificationRecord])).toEqual([{ id: records[0]?.id, status: 'conflict' }]);
  });

  test('an invalid record is an error without a request', async () => {
    const { ledger } = fixture;
    const before = ledger.stats().requests;
    const results = await ledger.createNotifications([claim({ id: 'bad/id' }), { ...claim(), cartModifiedAt: 'yesterday' }]);
    expect(results.map((r) => r.status)).toEqual(['error', 'error']);
    expect(results.every((r) => r.status === 'error' && !r.retryable)).toBe(true);
    expect(ledger.stats().requests).toBe(before);
  });

  test('empty lists cost nothing', async () => {
    const { ledger } = fixture;
    expect((await ledger.getNotifications([])).size).toBe(0);
    expect(await ledger.createNotifications([])).toEqual([]);
    expect(await ledger.replaceNotifications([])).toEqual([]);
    expect(ledger.stats()).toEqual({ requests: 0, reads: 0, writes: 0, retries: 0 });
  });
});
