import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { atLevels, NOW, store } from './support';

/**
 * Review: a dependency that fails every cart of a run must say so at warn or error, as Emarsys
 * failures (error 'emarsys trigger request failed') and Retail Server lookup failures (warn) do.
 * Cosmos DB refusing the claims is counted in the report only, and the report is logged at info
 * because the run's status is 'completed'.
 */
describe('review: Cosmos DB refusing the claims is logged at warn or error', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('every claim throttled past its retries: 300 of 300 carts fail, and some warn/error line names Cosmos DB', async () => {
    h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
    h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => documentId.startsWith('cart-'));
    const report = await h.run();

    expect(report.status).toBe('completed');
    expect(report.carts).toMatchObject({ seen: 300, notified: 0, failed: 300 });
    expect(report.failures).toEqual([{ reason: 'ledger: cosmos HTTP 429 after 4 attempts: the container needs more throughput (RU/s), or autoscale', count: 300 }]);
    // Measured: no warn or error line at all; the only trace is the info line
    // 'Abandoned cart run finished' (src/job/run-abandoned-cart-job.ts:192-193), and
    // src/job/claim-page.ts (claimFailed, failUnread) logs nothing.
    const loud = atLevels(h.logs, 'warn', 'error');
    expect(loud.map((log) => `${log.message} ${JSON.stringify(log.fields)}`).join('\n')).toMatch(/cosmos/i);
  });
});
