import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { atLevels, NOW, store } from '../support/bad-day-store';

/**
 * A dependency that fails every cart of a run must say so at warn or error, as Emarsys failures
 * (error 'emarsys trigger request failed') and Retail Server lookup failures (warn) do. Cosmos DB
 * refusing the claims leaves the run 'completed' (its report logged at info), so the pages say it.
 */
describe('Cosmos DB refusing the claims', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('every claim throttled past its retries: 300 of 300 carts fail, and a warn line per page names Cosmos DB, the count and why', async () => {
    h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
    h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => documentId.startsWith('cart-'));
    const report = await h.run();

    const reason = 'cosmos HTTP 429 after 4 attempts: the container needs more throughput (RU/s), or autoscale';
    expect(report.status).toBe('completed');
    expect(report.carts).toMatchObject({ seen: 300, notified: 0, failed: 300 });
    expect(report.failures).toEqual([{ reason: `ledger: ${reason}`, count: 300 }]);
    const loud = atLevels(h.logs, 'warn', 'error');
    expect(loud.map((log) => log.message)).toEqual(Array(report.pages).fill('Cosmos DB failed the claims of carts; they fail for this run, and a later run tries them again'));
    expect(loud.map((log) => log.fields)).toEqual(loud.map(() => expect.objectContaining({ reason, runId: report.runId })));
    expect(loud.reduce((sum, log) => sum + Number(log.fields.count), 0)).toBe(300);
  });
});
