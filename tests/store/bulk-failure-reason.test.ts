/**
 * The reason a throttled write is given up with says how often it was sent and why no more: when
 * the run is out of time the executor stops after the first round, and the reason must point at
 * the time limit, not say "after 4 attempts" (once, it always named the policy's attempts and the
 * container's throughput).
 */
import { openLedger, startCosmosServer, claim, type LedgerFixture } from './fixture';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import type { CosmosTestServer } from '../support/cosmos-server';

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

test('a write throttled once while the run is out of time is not reported as given up "after 4 attempts"', async () => {
  const ledger = new CosmosLedger({ container: fixture.container, retryPolicy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5, maxServerDelayMs: 5 } });
  const record = claim();
  server.resetRequests();
  server.throttleOperations(1, (id) => id === record.id);
  const [result] = await ledger.createNotifications([record], { outOfTime: () => true });
  // One bulk request was sent: one attempt.
  expect(server.requests().filter((r) => r.batch)).toHaveLength(1);
  expect(result).toMatchObject({ status: 'error', retryable: true });
  expect(result?.status === 'error' ? result.reason : '').toBe(
    'cosmos HTTP 429, sent 1 time, not tried again: the run reached its time limit (MaxRunMinutes); if it recurs: the container needs more throughput (RU/s), or autoscale',
  );
});
