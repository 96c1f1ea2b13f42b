import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies } from '../../src/runtime/create-dependencies';
import { createLogger } from '../../src/shared/logger';
import { defaultRetryPolicy } from '../../src/shared/retry';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * A page whose customer lookup runs out of the run's time (Retail Server throttling past
 * MaxRunMinutes and its grace) ends the run before that page, status `completed`, as the time
 * limit does. That page's carts are the next run's, and are counted there: this run's report
 * counts only pages that ended (once, they were counted as seen without an outcome, and
 * seen no longer equalled eligible + skipped).
 */
const NOW = '2026-11-23T12:00:00Z';

describe('report counts when a page runs out of time', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('seen = eligible + skipped in a completed run that a lookup time-up ended', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [0, 1, 2, 3].map((i) => customerRecord(`C${i}`)),
        products: [productRecord(1)],
        carts: [
          cartRecord({ id: 'a', customerId: 'C0', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'b', customerId: 'C1', modifiedDateTime: '2026-11-23T09:01:00Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'c', customerId: 'C2', modifiedDateTime: '2026-11-23T09:02:00Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'd', customerId: 'C3', modifiedDateTime: '2026-11-23T09:03:00Z', lines: [{ productId: 1 }] }),
        ],
      }),
    });
    const logger = createLogger((record) => h.logs.push(record), 'debug');
    const deps = await createJobDependencies({
      settings: h.settings({ RetailServerClientOptions__PageSize: '2', RetailServerClientOptions__MaxRunMinutes: '1' }),
      env: h.secretsEnv,
      logger,
      clock: h.clock,
      retryPolicy: defaultRetryPolicy,
      sleep: async (ms) => h.clock.advanceMinutes(ms / 60_000),
    });
    const report = await runAbandonedCartJob(
      {
        ...deps,
        settings: { ...deps.settings, strategy: 'sequential' },
        onProgress: (progress) => {
          // Once the first page is committed, Retail Server throttles every customer lookup.
          if (progress.phase === 'pages' && progress.pages === 1) {
            h.retail.failNext('customers', Array.from({ length: 20 }, () => ({ status: 429, headers: { 'Retry-After': '60' } })));
          }
        },
      },
      { trigger: 'timer' },
    );
    expect(report.status).toBe('completed');
    expect(report.remaining).toBeDefined();
    // The first page (a, b) was worked; the rest is left to the next run.
    expect(report.carts.notified).toBe(2);
    const { seen, eligible, skipped, notified, failed } = report.carts;
    expect({ seen, eligibleAndSkipped: eligible + skipped, eligible, notifiedAndFailed: notified + failed }).toEqual({
      seen,
      eligibleAndSkipped: seen,
      eligible,
      notifiedAndFailed: eligible,
    });
    // Only a and b have an outcome in this run; c (read on the page that ran out of time) is the next run's.
    expect({ seen, pages: report.pages }).toEqual({ seen: 2, pages: 1 });
  });
});
