import type { RemoteServiceError } from '../../src/shared/errors';
import { claim, isBulk, isPointDocument, openProxiedLedger, type ProxiedLedgerFixture } from './fixture';

/**
 * How the ledger reads a failed Cosmos DB call's status, through the real client, a TLS fault
 * proxy and the embedded server: a 410 (the partition moved) is retried, and a status the SDK
 * recorded for an earlier try it already recovered from is not taken for the failure's.
 */

let f: ProxiedLedgerFixture;
beforeEach(async () => {
  f = await openProxiedLedger();
});
afterEach(() => f.close());

const gone = (substatus: string) => ({
  kind: 'status' as const,
  status: 410,
  headers: { 'x-ms-substatus': substatus, 'content-type': 'application/json' },
  body: JSON.stringify({ code: 'Gone', message: `The requested resource is no longer available at the server (substatus ${substatus}).` }),
});

const checkpoint = {
  operatingUnitNumber: '128',
  channelId: 1,
  lastModifiedAt: '2024-05-01T10:00:00.000Z',
  cartIdsAtLastModified: ['a'],
  runId: '3f1c1d2e-0000-4000-8000-000000000001',
  updatedAt: '2024-05-01T10:00:00.000Z',
};

describe('410 (Gone) outside a split the SDK handles itself', () => {
  test('a bulk create answered 410/1008 (a partition migration completing) once is retried', async () => {
    const record = claim();
    f.proxy.inject({ match: isBulk, times: 1, fault: gone('1008') });
    expect(await f.ledger.createNotifications([record])).toEqual([expect.objectContaining({ id: record.id, status: 'ok' })]);
  });

  test('a bulk read answered 410/1008 once is retried', async () => {
    const record = claim();
    await f.ledger.createNotifications([record]);
    f.proxy.inject({ match: isBulk, times: 1, fault: gone('1008') });
    expect((await f.ledger.getNotifications([record.id])).get(record.id)?.record).toMatchObject({ id: record.id });
  });

  test('one that lasts is reported as the partition moving, not as the SDK\'s "unsupported partitionKey type"', async () => {
    f.proxy.inject({ match: isBulk, fault: gone('1008') });
    const [result] = await f.ledger.createNotifications([claim()]);
    expect(result).toMatchObject({ status: 'error', retryable: true });
    const reads = await f.ledger.getNotifications([claim().id]);
    const reason = [...reads.failed.values()][0] ?? '';
    expect(reason).toContain('HTTP 410');
    expect(reason).not.toMatch(/partitionKey type/);
  });
});

describe('a status recorded for a try the SDK recovered from', () => {
  test('a dropped connection after a split the SDK recovered from (410/1002) is retried like any dropped connection', async () => {
    const record = claim();
    f.proxy.inject({ match: isBulk, times: 1, fault: gone('1002') });
    f.proxy.inject({ match: isBulk, times: 1, fault: { kind: 'reset', when: 'before-forward' } });
    expect(await f.ledger.createNotifications([record])).toEqual([expect.objectContaining({ id: record.id, status: 'ok' })]);
  });

  const sessionNotAvailable = {
    kind: 'status' as const,
    status: 404,
    headers: { 'x-ms-substatus': '1002', 'content-type': 'application/json' },
    body: '{"code":"NotFound","message":"read session not available"}',
  };

  test('a bulk create whose 404/1002 (read session not available) the SDK sent again, and whose retry lost its connection, is retried like any dropped connection', async () => {
    const record = claim();
    f.proxy.inject({ match: isBulk, times: 1, fault: sessionNotAvailable });
    f.proxy.inject({ match: isBulk, times: 1, fault: { kind: 'reset', when: 'before-forward' } });
    expect(await f.ledger.createNotifications([record])).toEqual([expect.objectContaining({ id: record.id, status: 'ok' })]);
  });

  test('the same on a bulk read: the record is read, not failed as a final 404', async () => {
    const record = claim();
    await f.ledger.createNotifications([record]);
    f.proxy.inject({ match: isBulk, times: 1, fault: sessionNotAvailable });
    f.proxy.inject({ match: isBulk, times: 1, fault: { kind: 'reset', when: 'before-forward' } });
    expect((await f.ledger.getNotifications([record.id])).get(record.id)?.record).toMatchObject({ id: record.id });
  });

  test('a checkpoint read whose first try the SDK retried (404/1002) and whose retry came back cut short is retried, never "no checkpoint"', async () => {
    await f.ledger.saveCheckpoint(checkpoint);
    f.proxy.inject({
      method: 'GET',
      match: isPointDocument,
      times: 1,
      fault: { kind: 'status', status: 404, headers: { 'x-ms-substatus': '1002', 'content-type': 'application/json' }, body: '{"code":"NotFound","message":"read session not available"}' },
    });
    f.proxy.inject({ method: 'GET', match: isPointDocument, times: 1, fault: { kind: 'truncate', fraction: 0.5 } });
    let failure: RemoteServiceError | undefined;
    const read = await f.ledger.getCheckpoint('128', 1).catch((error: RemoteServiceError) => {
      failure = error;
      return undefined;
    });
    expect(failure).toBeUndefined();
    expect(read).toMatchObject({ lastModifiedAt: checkpoint.lastModifiedAt });
  });
});
