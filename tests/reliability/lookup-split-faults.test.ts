import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies } from '../../src/runtime/create-dependencies';
import { createLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { fastRetry } from '../support/harness';
import type { FaultRule } from '../../src/simulators/fault-proxy';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { RETAIL_ENDPOINTS } from './faults/retail';

/**
 * The lookup split (src/retail/lookup-isolation.ts) under the faults a second review found it
 * mishandled, each shown failing first: a probe id that has turned bad, an outage that begins after
 * the probe, the run's time limit, requests left running after a failed split, and the sequential
 * strategy's one request at a time. The split's main cases are in poison-lookup.test.ts.
 */

const criticalStorageError = JSON.stringify({
  error: { code: 'Microsoft_Dynamics_Commerce_Runtime_CriticalStorageError', message: 'An error occurred while loading the record.' },
});
const START = Date.parse('2026-11-23T05:00:00Z');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const accountsOf = (text: string) => (JSON.parse(text) as { accountNumbers: string[] }).accountNumbers;

/** `fault` (after `before`, when given) for every customer lookup that names `account`. */
function onLookupsNaming(h: FaultHarness, account: string, fault: FaultRule['fault'], before?: FaultRule['before']): void {
  h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, match: (request) => accountsOf(request.text()).includes(account), fault, ...(before ? { before } : {}) });
}

/** `count` carts, one per customer C0.., twenty seconds apart from 05:00. */
function data(count: number) {
  return buildSimulatorData({
    customers: Array.from({ length: count }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: count }, (_, i) =>
      cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 20_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}


/**
 * The probe id is the first id of the last customer request Retail Server answered, kept by the
 * client, which a Functions host reuses across runs. That very customer's record may turn bad
 * later: its probe failing must not read as an outage (every run of the process would fail at that
 * page), so an id no record has is probed too.
 */

function cartsOf(carts: { id: string; customer: string; at: string }[]) {
  return buildSimulatorData({
    customers: Array.from({ length: 12 }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: carts.map((cart) => cartRecord({ id: cart.id, customerId: cart.customer, modifiedDateTime: cart.at, lines: [{ productId: 1 }] })),
  });
}

describe('a known-good probe id that has since become bad', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('the page with that customer fails only their cart, not every run of the process', async () => {
    const first = [0, 1, 2].map((i) => ({ id: `cart-${i}`, customer: `C${i}`, at: `2026-11-23T10:0${i}:00Z` }));
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: cartsOf(first) });
    const r1 = await h.run();
    expect(r1.carts.notified).toBe(3);

    // C0 edits their profile (now a record the runtime cannot load) and changes their cart; C11 leaves one too.
    const later = [
      { id: 'cart-0b', customer: 'C0', at: '2026-11-23T12:05:00Z' },
      { id: 'cart-11', customer: 'C11', at: '2026-11-23T12:06:00Z' },
    ];
    h.retail.data = cartsOf([...first, ...later]);
    onLookupsNaming(h, 'C0', { kind: 'status', status: 500, body: criticalStorageError });
    const reports = [];
    for (let i = 0; i < 3; i++) {
      h.clock.advanceMinutes(30);
      reports.push(await h.run());
    }
    const sent = new Set(h.emarsys.deliveries.map((delivery) => String(delivery.data.cartId)));
    expect({ statuses: reports.map((r) => r.status), cart11Sent: sent.has('cart-11') }).toEqual({
      statuses: ['completed', 'completed', 'completed'],
      cart11Sent: true,
    });
  });
});

/**
 * An outage of the customer endpoint (HTTP 500, a database failover, say) that starts once the
 * probe before the split has been answered makes every id of the chunk fail alone. A failure counts
 * as a record's only if Retail Server answers after it: a level that fails as a whole, and the
 * split's end, probe again.
 */

/** C<bad> poisons every request naming it; once the probe has been answered, every customer request fails with 500 (an outage). */
function poisonThenOutageAfterProbe(h: FaultHarness, bad: string): { outage: boolean } {
  const state = { outage: false };
  h.proxies.retail.inject({
    path: RETAIL_ENDPOINTS.customers,
    match: (request) => {
      const asked = accountsOf(request.text());
      if (state.outage) return true;
      if (asked.length === 1 && asked[0] === 'ABANDONED-CART-CONNECTOR-PROBE') {
        state.outage = true; // answered; the outage starts right after
        return false;
      }
      return asked.includes(bad);
    },
    fault: { kind: 'status', status: 500, body: criticalStorageError },
  });
  return state;
}

describe('an outage that starts after the split probe was answered', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('is not taken for bad records: no good customer\'s cart is charged an attempt (MaxSendAttempts 1: lost)', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(4), env: { EmarsysClientOptions__MaxSendAttempts: '1' } });
    poisonThenOutageAfterProbe(h, 'C3');
    const first = await h.run();
    h.proxies.retail.clear(); // the outage is over, and C3 is fine again
    h.clock.advanceMinutes(30);
    await h.run();
    const sent = new Set(h.emarsys.deliveries.map((delivery) => String(delivery.data.cartId)));
    expect({ firstFailed: first.carts.failed, goodCartsSent: ['cart-0', 'cart-1', 'cart-2'].filter((id) => sent.has(id)) }).toEqual({
      firstFailed: expect.any(Number),
      goodCartsSent: ['cart-0', 'cart-1', 'cart-2'],
    });
  });

  test('a page of 1,000 costs a bounded number of requests, not hundreds', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(1000), env: { RetailServerClientOptions__PageSize: '1000' } });
    poisonThenOutageAfterProbe(h, 'C500');
    const report = await h.run();
    const customerRequests = h.proxies.retail.requests().filter((request) => RETAIL_ENDPOINTS.customers.test(request.path)).length;
    expect({ status: report.status, failed: report.carts.failed, customerRequests: customerRequests <= 4 + 1 + 2 * 2 * 10 + 2 ? 'bounded' : customerRequests }).toEqual({
      status: 'failed',
      failed: 0,
      customerRequests: 'bounded',
    });
  });
});

/**
 * withCallBudget stops a request's retries whose wait does not fit the run's time, not new
 * requests; the split sends new ones at every level, each waiting what Retail Server takes to fail
 * on the bad record (here 15 s, a runtime extension's SQL timeout). So the split itself stops once
 * the run has no time left, and the page is left to the next run.
 */

/** What the job allows past its limit for the pages in flight (run-abandoned-cart-job.ts OUT_OF_TIME_GRACE_MS). */
const GRACE_MS = 60_000;

describe('the split and the run time limit', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('a page whose customer lookup is split ends within MaxRunMinutes and its grace', async () => {
    const count = 64;
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      data: data(count),
    });
    // Every request naming C40 takes Retail Server 15 s to fail with 500.
    onLookupsNaming(h, 'C40', { kind: 'status', status: 500, body: criticalStorageError }, () => h.clock.advanceMinutes(15 / 60));
    const report = await h.run({ maxRunMinutes: 1 });
    const customerRequests = h.proxies.retail.requests().filter((request) => RETAIL_ENDPOINTS.customers.test(request.path)).length;
    expect({ durationWithinLimit: report.durationMs <= 60_000 + GRACE_MS ? true : report.durationMs, customerRequests }).toEqual({
      durationWithinLimit: true,
      customerRequests: expect.any(Number),
    });
    // The run fails at that page, as a lookup that fails does, and says why it stopped splitting.
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/HTTP 500.*Not split further to find the record it fails for: the run had no time left \(MaxRunMinutes\)/);
  });
});

describe('the split out of time on a later page', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('the run ends as at its time limit: the pages before it recorded, `remaining` from there, and the next run finishes', async () => {
    // Pages of 16: C40's cart is on the third page.
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(64), env: { RetailServerClientOptions__PageSize: '16' } });
    onLookupsNaming(h, 'C40', { kind: 'status', status: 500, body: criticalStorageError }, () => h.clock.advanceMinutes(15 / 60));
    const first = await h.run({ maxRunMinutes: 1 });
    expect({ status: first.status, error: first.error, remaining: first.remaining !== undefined }).toEqual({ status: 'completed', error: undefined, remaining: true });
    expect(Date.parse(first.remaining?.from ?? '')).toBeLessThanOrEqual(START + 40 * 20_000);
    expect(h.logs.some((log) => log.message === 'A page ran out of time for its calls (Retail Server or Cosmos DB); the run ends before it')).toBe(true);

    h.proxies.retail.clear();
    h.clock.advanceMinutes(30);
    const second = await h.run();
    const sent = new Set(h.emarsys.deliveries.map((delivery) => String(delivery.data.cartId)));
    expect({ status: second.status, notSent: Array.from({ length: 64 }, (_, i) => `cart-${i}`).filter((id) => !sent.has(id)) }).toEqual({ status: 'completed', notSent: [] });
  });
});

describe('Retail Server throttling a later page past the time limit', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('the run ends as at its time limit, not failed: the retry that no longer fits stops the page, not the run', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(64), env: { RetailServerClientOptions__PageSize: '16' } });
    // Customer lookups naming C40 (third page) are throttled with Retry-After 60 s.
    onLookupsNaming(h, 'C40', { kind: 'status', status: 429, headers: { 'Retry-After': '60' } });
    const deps = await createJobDependencies({
      settings: h.settings(),
      env: h.secretsEnv,
      logger: createLogger(() => undefined, 'error'),
      clock: h.clock,
      retryPolicy: { ...fastRetry, maxServerDelayMs: 60_000 },
      // Waiting moves the run's clock, as real waiting would.
      sleep: async (ms) => h.clock.advanceMinutes(ms / 60_000),
    });
    const report = await runAbandonedCartJob(deps, { trigger: 'cli', maxRunMinutes: 1 });
    expect({ status: report.status, remaining: report.remaining !== undefined, error: report.error }).toEqual({ status: 'completed', remaining: true, error: undefined });
    expect(Date.parse(report.remaining?.from ?? '')).toBeLessThanOrEqual(START + 40 * 20_000);

    // A page after it failing for a reason of its own (a 403) still fails the run: the time-up hides nothing.
    onLookupsNaming(h, 'C50', { kind: 'status', status: 403 });
    h.clock.advanceMinutes(30);
    const second = await runAbandonedCartJob(deps, { trigger: 'cli', maxRunMinutes: 1 });
    expect({ status: second.status, refused: /HTTP 403/.test(second.error ?? '') }).toEqual({ status: 'failed', refused: true });
  });
});

/**
 * One half of a level fails with a service error (503 after its retries) while the other half's
 * request is still on its way. The lookup fails, but only once that request has settled: a run must
 * not go on sending requests after its report, which would not count them.
 */

describe('a split level that fails with a service error', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('the run reports every Retail Server request it made, and makes none after it has ended', async () => {
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      data: data(4),
    });
    // The half [C0, C1] meets an overloaded gateway: 503 on every attempt, at once.
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.customers,
      match: (request) => accountsOf(request.text()).join() === 'C0,C1',
      fault: { kind: 'status', status: 503 },
    });
    // The half [C2, C3] names the bad record: Retail Server takes 400 ms to fail it.
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.customers,
      match: (request) => accountsOf(request.text()).includes('C3') && accountsOf(request.text()).length < 4,
      before: () => sleep(400),
      fault: { kind: 'status', status: 500, body: criticalStorageError },
    });
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.customers,
      match: (request) => accountsOf(request.text()).includes('C3'),
      fault: { kind: 'status', status: 500, body: criticalStorageError },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const report = await h.run();
      const atReport = h.proxies.retail.requests().filter((request) => RETAIL_ENDPOINTS.customers.test(request.path)).length;
      await sleep(1500);
      const afterwards = h.proxies.retail.requests().filter((request) => RETAIL_ENDPOINTS.customers.test(request.path)).length;
      expect({ status: report.status, unhandled, reported: report.calls.customers, sentByTheRun: afterwards, sentAfterTheReport: afterwards - atReport }).toEqual({
        status: 'failed',
        unhandled: [],
        reported: afterwards,
        sentByTheRun: afterwards,
        sentAfterTheReport: 0,
      });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/**
 * The sequential strategy (Microsoft's sample's pattern, "each call awaited in turn", kept to
 * measure against) passes `concurrency: 1` to the lookups: the split sends its halves one at a time too.
 */

describe('the sequential strategy and the split', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('a split customer lookup still sends one Retail Server request at a time', async () => {
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      data: data(8),
    });
    let inFlight = 0;
    let most = 0;
    const track = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(100);
      inFlight--;
    };
    h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, match: (r) => accountsOf(r.text()).includes('C7'), before: track, fault: { kind: 'status', status: 500, body: criticalStorageError } });
    h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, before: track });
    const deps = await createJobDependencies({
      settings: h.settings(),
      env: h.secretsEnv,
      logger: createLogger(() => undefined, 'error'),
      clock: h.clock,
      retryPolicy: fastRetry,
      sleep: async () => undefined,
    });
    const report = await runAbandonedCartJob({ ...deps, settings: { ...deps.settings, strategy: 'sequential' } }, { trigger: 'cli' });
    expect({ status: report.status, failed: report.carts.failed, mostCustomerRequestsInFlight: most }).toEqual({ status: 'completed', failed: 1, mostCustomerRequestsInFlight: 1 });
  });
});
