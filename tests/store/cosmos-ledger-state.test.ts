import { randomUUID } from 'node:crypto';
import { openLedger, runReport, startCosmosServer, type LedgerFixture } from './fixture';
import type { CosmosTestServer } from '../support/cosmos-server';
import { LeaseLostError, type Checkpoint, type Lease, type LeaseResult } from '../../src/store/ledger';

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

const at = (iso: string) => new Date(iso);
const MINUTE = 60_000;

function held(result: LeaseResult): Lease {
  if (!result.acquired) throw new Error(`expected the lease, held by ${result.heldByRunId}`);
  return result.lease;
}

describe('checkpoints', () => {
  const checkpoint: Checkpoint = {
    operatingUnitNumber: '128',
    channelId: 5637144592,
    lastModifiedAt: '2024-05-01T07:59:00.000Z',
    cartIdsAtLastModified: ['cart-1', 'cart-2'],
    runId: randomUUID(),
    updatedAt: '2024-05-01T08:10:00.000Z',
  };

  test('absent until saved, then read back; saving again overwrites', async () => {
    const { ledger } = fixture;
    expect(await ledger.getCheckpoint('128', 5637144592)).toBeUndefined();
    await ledger.saveCheckpoint(checkpoint);
    expect(await ledger.getCheckpoint('128', 5637144592)).toEqual(checkpoint);
    const later = { ...checkpoint, lastModifiedAt: '2024-05-01T08:59:00.000Z', cartIdsAtLastModified: [] };
    await ledger.saveCheckpoint(later);
    expect(await ledger.getCheckpoint('128', 5637144592)).toEqual(later);
  });

  test('one per unit and channel; unit numbers with characters Cosmos forbids in ids are kept apart', async () => {
    const { ledger } = fixture;
    const units = ['128', 'A/1', 'A_2f1', 'A?1', 'B#\\1'];
    for (const [i, unit] of units.entries()) {
      await ledger.saveCheckpoint({ ...checkpoint, operatingUnitNumber: unit, cartIdsAtLastModified: [`cart-${i}`] });
    }
    for (const [i, unit] of units.entries()) {
      expect((await ledger.getCheckpoint(unit, 5637144592))?.cartIdsAtLastModified).toEqual([`cart-${i}`]);
    }
    expect(await ledger.getCheckpoint('128', 1)).toBeUndefined();
  });

  test('checkpoint documents carry no ttl', async () => {
    await fixture.ledger.saveCheckpoint(checkpoint);
    const id = 'checkpoint-128-5637144592';
    const { resource } = await fixture.container.item(id, id).read<Record<string, unknown>>();
    expect(resource).toMatchObject({ id, pk: id, type: 'checkpoint' });
    expect(resource?.ttl).toBeUndefined();
  });

  test('a checkpoint document that does not parse reads as absent, with a warning', async () => {
    const id = 'checkpoint-128-5637144592';
    await fixture.container.items.upsert({ id, pk: id, type: 'checkpoint', lastModifiedAt: 'soon' });
    expect(await fixture.ledger.getCheckpoint('128', 5637144592)).toBeUndefined();
    expect(fixture.logs.some((l) => l.level === 'warn' && l.fields.id === id)).toBe(true);
  });
});

describe('leases', () => {
  const t0 = at('2024-05-01T08:00:00.000Z');

  test('acquire, refused while held, taken after expiry, lost by the old holder', async () => {
    const { ledger } = fixture;
    const first = held(await ledger.acquireLease('128', 'run-1', t0, 15 * MINUTE));
    expect(first).toMatchObject({ operatingUnitNumber: '128', runId: 'run-1', expiresAt: '2024-05-01T08:15:00.000Z' });

    const busy = await ledger.acquireLease('128', 'run-2', at('2024-05-01T08:05:00.000Z'), 15 * MINUTE);
    expect(busy).toEqual({ acquired: false, heldByRunId: 'run-1', expiresAt: '2024-05-01T08:15:00.000Z' });

    const second = held(await ledger.acquireLease('128', 'run-2', at('2024-05-01T08:16:00.000Z'), 15 * MINUTE));
    expect(second.runId).toBe('run-2');
    await expect(ledger.renewLease(first, at('2024-05-01T08:17:00.000Z'), 15 * MINUTE)).rejects.toBeInstanceOf(LeaseLostError);

    const renewed = await ledger.renewLease(second, at('2024-05-01T08:20:00.000Z'), 15 * MINUTE);
    expect(renewed).toMatchObject({ runId: 'run-2', expiresAt: '2024-05-01T08:35:00.000Z' });
    expect(renewed.etag).not.toBe(second.etag);
    // The old etag is spent: renewing with it again finds the lease still ours and renews on the current one.
    await expect(ledger.renewLease(second, at('2024-05-01T08:21:00.000Z'), 15 * MINUTE)).resolves.toMatchObject({ runId: 'run-2' });
  });

  test('leases of different units are independent', async () => {
    const { ledger } = fixture;
    held(await ledger.acquireLease('128', 'run-1', t0, MINUTE));
    held(await ledger.acquireLease('129', 'run-2', t0, MINUTE));
  });

  test('release, then acquire by another run; releasing again or a lost lease is no error', async () => {
    const { ledger } = fixture;
    const first = held(await ledger.acquireLease('128', 'run-1', t0, 15 * MINUTE));
    await ledger.releaseLease(first);
    const second = held(await ledger.acquireLease('128', 'run-2', t0, 15 * MINUTE));
    await ledger.releaseLease(first); // gone and taken: ignored
    expect(await ledger.acquireLease('128', 'run-3', t0, 15 * MINUTE)).toMatchObject({ acquired: false, heldByRunId: 'run-2' });
    await ledger.releaseLease(second);
    await ledger.releaseLease(second);
    await expect(ledger.renewLease(second, t0, MINUTE)).rejects.toBeInstanceOf(LeaseLostError);
  });

  test('four runs racing for an expired lease: exactly one wins', async () => {
    held(await fixture.ledger.acquireLease('128', 'run-old', t0, MINUTE));
    const later = at('2024-05-01T09:00:00.000Z');
    const runs = ['run-a', 'run-b', 'run-c', 'run-d'];
    const results = await Promise.all(runs.map((runId) => fixture.newLedger().acquireLease('128', runId, later, 15 * MINUTE)));
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const winner = held(winners[0]!).runId;
    for (const result of results.filter((r) => !r.acquired)) {
      expect(result).toEqual({ acquired: false, heldByRunId: winner, expiresAt: '2024-05-01T09:15:00.000Z' });
    }
  });

  test('four runs racing for a free lease: exactly one wins', async () => {
    const runs = ['run-a', 'run-b', 'run-c', 'run-d'];
    const results = await Promise.all(runs.map((runId) => fixture.newLedger().acquireLease('128', runId, t0, 15 * MINUTE)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });

  test('a run acquiring a lease it already holds extends it (its own earlier create landed)', async () => {
    const { ledger } = fixture;
    held(await ledger.acquireLease('128', 'run-1', t0, MINUTE));
    const again = held(await ledger.acquireLease('128', 'run-1', at('2024-05-01T08:00:30.000Z'), MINUTE));
    expect(again.expiresAt).toBe('2024-05-01T08:01:30.000Z');
  });

  test('a lease document that does not parse is taken over', async () => {
    const id = 'lease-128';
    await fixture.container.items.upsert({ id, pk: id, type: 'lease', holder: 'someone' });
    held(await fixture.ledger.acquireLease('128', 'run-1', t0, MINUTE));
  });
});

/**
 * Real Cosmos DB answers every document request in a container that no longer exists (deleted,
 * or re-created under another name by an operator) with 404. The stand-in answers a create there
 * with 500, so the 404 is injected for the creates; its reads already answer 404.
 */
test('a container that no longer exists is an error naming it, not a busy unit', async () => {
  const { ledger, container } = fixture;
  await container.delete();
  server.failNext(100, 404, (r) => r.method === 'POST' && r.path.endsWith('/docs'));
  const result = await ledger.acquireLease('128', 'run-1', new Date('2024-05-01T08:00:00Z'), 15 * 60_000).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  // Not "held by another run": every run would then end unit-busy, which the timer takes for a quiet
  // success, until the app restarts.
  expect(result).not.toHaveProperty('value');
  expect(result).toHaveProperty('error');
  expect(String((result as { error: Error }).error.message)).toMatch(/"AbandonedCarts".*ContainerId/);
});

describe('runs', () => {
  test('saveRun then getRun returns the report', async () => {
    const report = runReport();
    await fixture.ledger.saveRun(report);
    expect(await fixture.ledger.getRun(report.runId)).toEqual(report);
    expect(await fixture.ledger.getRun(report.runId.toUpperCase())).toEqual(report);
  });

  test('a run record carries the ttl', async () => {
    const report = runReport();
    await fixture.ledger.saveRun(report);
    const id = `run-${report.runId}`;
    const { resource } = await fixture.container.item(id, id).read<Record<string, unknown>>();
    expect(resource).toMatchObject({ id, pk: id, type: 'run', ttl: 90 * 86_400 });
  });

  test('unknown and malformed run ids are undefined; malformed ones cost no request', async () => {
    const { ledger } = fixture;
    expect(await ledger.getRun(randomUUID())).toBeUndefined();
    const before = ledger.stats().requests;
    for (const bad of ['', 'not-a-uuid', '../run', `${randomUUID()}/x`, 'run-1?x=1']) {
      expect(await ledger.getRun(bad)).toBeUndefined();
    }
    expect(ledger.stats().requests).toBe(before);
  });

  test('a run record written before a field existed still reads', async () => {
    const report = runReport();
    const { invalidRecords: _dropped, ...older } = report;
    const id = `run-${report.runId}`;
    await fixture.container.items.upsert({ ...older, id, pk: id, type: 'run' });
    expect(await fixture.ledger.getRun(report.runId)).toEqual({ ...report, invalidRecords: { customers: 0, products: 0 } });
  });

  test('saveRun refuses a run id that is not a UUID', async () => {
    await expect(fixture.ledger.saveRun(runReport({ runId: 'x' }))).rejects.toThrow(/UUID/);
  });
});

test('a point read survives a 503, and every round trip it took is counted', async () => {
  const { ledger } = fixture;
  await ledger.getCheckpoint('128', 1); // the client's one-off metadata lookups
  const before = ledger.stats().requests;
  server.resetRequests();
  server.failNext(1, 503, (r) => r.method === 'GET' && r.path.includes('/docs/'));
  expect(await ledger.getCheckpoint('128', 1)).toBeUndefined();
  expect(server.requests()).toHaveLength(2);
  expect(ledger.stats().requests - before).toBe(2);
});

test('a point write retries a 503 the client does not retry itself', async () => {
  const { ledger } = fixture;
  const report = runReport();
  server.failNext(1, 503, (r) => r.method === 'POST' && r.path.endsWith('/docs'));
  await ledger.saveRun(report);
  expect(await ledger.getRun(report.runId)).toEqual(report);
  expect(ledger.stats().retries).toBe(1);
});
