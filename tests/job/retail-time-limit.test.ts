/** src/functions/abandoned-carts-run.ts HTTP_RERUN_MAX_MINUTES (imported, it would register the function). */
const HTTP_RERUN_MAX_MINUTES = 2.5;
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies } from '../../src/runtime/create-dependencies';
import { createLogger } from '../../src/shared/logger';
import { defaultRetryPolicy } from '../../src/shared/retry';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { startHarness, type Harness } from '../support/harness';

/**
 * The run checks its time limit only between pages, and a page in flight retries each Retail
 * Server call up to MaxAttempts times, waiting what Retry-After asks (up to 60 s). Those retries
 * must stop when their wait would end past the limit and the grace minute the store gets too
 * (OUT_OF_TIME_GRACE_MS), so that a throttling Retail Server cannot hold a run past the host's
 * timeout (or an HTTP rerun past Azure's 230 s).
 */
const NOW = '2026-11-23T12:00:00Z';
/** What the job allows past its limit for the pages in flight (run-abandoned-cart-job.ts OUT_OF_TIME_GRACE_MS). */
const GRACE_MS = 60_000;

describe('Retail Server retries and the run time limit', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'a', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] })],
      }),
    });
  });
  afterEach(() => h.close());

  test('an HTTP rerun (2.5 min limit) against a Retail Server throttling with Retry-After: 60 ends within its limit and grace, inside the front end\'s 230 s', async () => {
    // Every customer lookup throttled: Retry-After 60 s, as a CSU behind its gateway says under load.
    h.retail.failNext('customers', Array.from({ length: 20 }, () => ({ status: 429, headers: { 'Retry-After': '60' } })));
    const logger = createLogger((record) => h.logs.push(record), 'debug');
    const deps = await createJobDependencies({
      settings: h.settings(),
      env: h.secretsEnv,
      logger,
      clock: h.clock,
      // The production policy; waiting moves the run's clock, as real waiting would.
      retryPolicy: defaultRetryPolicy,
      sleep: async (ms) => h.clock.advanceMinutes(ms / 60_000),
    });
    const report = await runAbandonedCartJob(deps, { trigger: 'http', maxRunMinutes: HTTP_RERUN_MAX_MINUTES });

    expect(report.status).toBe('failed');
    // Before a fix: 4 waits of 60 s inside the one page = 240 s, past both the 2.5 min + 1 min
    // the job allows itself and Azure's 230 s HTTP front-end limit (the caller gets a 502/timeout).
    expect(report.durationMs).toBeLessThanOrEqual(HTTP_RERUN_MAX_MINUTES * 60_000 + GRACE_MS);
    expect(report.durationMs).toBeLessThan(230_000);
    expect(report.error).toMatch(/Customers\/GetByAccountNumbers.*MaxRunMinutes/);
  });
});

describe('the Retail Server token fetched in the request\'s turn', () => {
  let f: FaultHarness | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  test('a token that comes back after the run\'s time for calls is spent: the request is not sent with the time the run had before', async () => {
    f = await startFaultHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'a', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] })],
      }),
    });
    const harness = f;
    // The authority answers slowly: by the time the token comes, the run's 8 minutes and the grace
    // minute are gone (the clock moved as real waiting would).
    harness.proxies.token.inject({ match: (request) => /\/token$/.test(request.path), times: 1, before: () => harness.clock.set(new Date(Date.parse(NOW) + 10 * 60_000)) });
    let retailRequests = 0;
    harness.proxies.retail.inject({ match: () => true, before: () => void retailRequests++ });
    const report = await harness.run({}, { RetailServerClientOptions__MaxRunMinutes: '8' });
    expect(retailRequests).toBe(0);
    expect(report.error).toMatch(/was not sent: the run had no time left for Retail Server calls \(MaxRunMinutes\)/);
  });
});
