import { openLedger, startCosmosServer, type LedgerFixture } from './fixture';
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
