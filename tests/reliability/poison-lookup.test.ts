import type { RunReport } from '../../src/job/report';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId, type NotificationRecord } from '../../src/store/ledger';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { RETAIL_ENDPOINTS } from './faults/retail';

/**
 * One customer or product that Retail Server fails every lookup of (a commerce runtime extension
 * that throws on that record's data), while it answers every other. Before, the lookup of the
 * whole page failed, so the run failed; the checkpoint could not move past that page, every later
 * run failed at it again, and no cart after it was reminded. Now the lookup is split until the
 * record is found, only its cart fails (retryably, up to MaxSendAttempts), and the rest go out.
 * An outage, where Retail Server fails every request, still fails the run and costs no cart an
 * attempt.
 */

const START = Date.parse('2026-11-23T05:00:00Z');
const at = (minute: number) => new Date(START + minute * 60_000);
const POISON_PRODUCT = 2;

/** cart-0..9 from 05:00, ten minutes apart; cart-10 and on arrive later, from 12:00. Cart 4 also holds the poison product. */
function minuteOf(i: number): number {
  return i < 10 ? i * 10 : 7 * 60 + (i - 10) * 5;
}

function data(count: number, linesOf: (i: number) => { productId: number }[] = (i) => (i === 4 ? [{ productId: 1 }, { productId: POISON_PRODUCT }] : [{ productId: 1 }]), productIds = [1, POISON_PRODUCT]) {
  return buildSimulatorData({
    customers: Array.from({ length: count }, (_, i) => customerRecord(`C${i}`)),
    products: productIds.map((id) => productRecord(id)),
    carts: Array.from({ length: count }, (_, i) =>
      cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: at(minuteOf(i)).toISOString(), lines: linesOf(i) }),
    ),
  });
}

const criticalStorageError = JSON.stringify({
  error: { code: 'Microsoft_Dynamics_Commerce_Runtime_CriticalStorageError', message: 'An error occurred while loading the record.' },
});

/** Retail Server failing every customer call that includes one of `accounts` (records its runtime cannot load). */
function poisonCustomer(h: FaultHarness, status: number, accounts: ReadonlySet<string> = new Set(['C9'])): void {
  h.proxies.retail.inject({
    path: RETAIL_ENDPOINTS.customers,
    match: (request) => (JSON.parse(request.text()) as { accountNumbers: string[] }).accountNumbers.some((account) => accounts.has(account)),
    fault: { kind: 'status', status, body: criticalStorageError },
  });
}

function poisonProduct(h: FaultHarness): void {
  h.proxies.retail.inject({
    path: RETAIL_ENDPOINTS.products,
    match: (request) => (JSON.parse(request.text()) as { productSearchCriteria: { Ids: number[] } }).productSearchCriteria.Ids.includes(POISON_PRODUCT),
    fault: { kind: 'status', status: 500, body: criticalStorageError },
  });
}

function sentCarts(h: FaultHarness): Set<string> {
  return new Set(h.emarsys.deliveries.map((delivery) => String(delivery.data.cartId)));
}

async function recordOf(h: FaultHarness, cart: number): Promise<NotificationRecord | undefined> {
  const id = notificationId(`cart-${cart}`, at(minuteOf(cart)));
  return (await (await h.ledger()).getNotifications([id])).get(id)?.record;
}

const ALL = (count: number) => Array.from({ length: count }, (_, i) => `cart-${i}`);

describe('a customer or product Retail Server fails every lookup of', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test.each([500, 400])('customer, HTTP %i: only its cart fails, retryably, until MaxSendAttempts; later carts and runs go on', async (status) => {
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      data: data(10),
      env: { RetailServerClientOptions__PageSize: '4', EmarsysClientOptions__MaxSendAttempts: '3' },
    });
    poisonCustomer(h, status);
    const reports: RunReport[] = [await h.run()];
    const afterFirst = await recordOf(h, 9);
    // Three new carts come in after the first run; three more runs, half an hour apart.
    h.retail.data = data(13);
    for (let i = 0; i < 3; i++) {
      h.clock.advanceMinutes(30);
      reports.push(await h.run());
    }
    const sent = sentCarts(h);
    expect({
      statuses: reports.map((r) => r.status),
      notSent: ALL(13).filter((id) => !sent.has(id)),
      failed: reports.map((r) => r.carts.failed),
      byDependency: reports.map((r) => r.failuresByDependency),
      // After three attempts the cart is given up and the checkpoint moves past it: the fourth run
      // starts after cart-9 and does not look at it again.
      checkpointPastCart9: Date.parse(reports[3]?.window.from ?? '') > at(minuteOf(9)).getTime(),
    }).toEqual({
      statuses: ['completed', 'completed', 'completed', 'completed'],
      notSent: ['cart-9'],
      failed: [1, 1, 1, 0],
      byDependency: [{ retail: 1 }, { retail: 1 }, { retail: 1 }, {}],
      checkpointPastCart9: true,
    });
    expect(afterFirst).toMatchObject({ status: 'failed', retryable: true, attempts: 1 });
    expect(afterFirst?.reason).toMatch(/customer lookup fails for this customer.*HTTP/);
    expect(await recordOf(h, 9)).toMatchObject({ status: 'failed', retryable: true, attempts: 3 });
    expect(reports[0]?.failures[0]?.reason).toContain('An error occurred while loading the record.');
  });

  test('once Retail Server answers for the customer again, the cart is reminded by the next run', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(10), env: { RetailServerClientOptions__PageSize: '4' } });
    poisonCustomer(h, 500);
    const first = await h.run();
    h.proxies.retail.clear();
    h.clock.advanceMinutes(30);
    const second = await h.run();
    expect([first.carts.notified, first.carts.failed, second.carts.notified, second.carts.failed]).toEqual([9, 1, 1, 0]);
    expect(await recordOf(h, 9)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(sentCarts(h)).toEqual(new Set(ALL(10)));
  });

  test('product: the carts holding it fail, the rest of the page goes out, and it is looked up once per run', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(10), env: { RetailServerClientOptions__PageSize: '4' } });
    poisonProduct(h);
    const report = await h.run();
    expect({ status: report.status, notSent: ALL(10).filter((id) => !sentCarts(h).has(id)), failed: report.carts.failed }).toEqual({
      status: 'completed',
      notSent: ['cart-4'],
      failed: 1,
    });
    expect(await recordOf(h, 4)).toMatchObject({ status: 'failed', retryable: true, attempts: 1 });
    expect(report.failures[0]?.reason).toMatch(/product lookup fails for product 2/);
  });

  test('an outage (every customer call fails) still fails the run, and costs no cart an attempt', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(10), env: { RetailServerClientOptions__PageSize: '4' } });
    h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, fault: { kind: 'status', status: 500, body: criticalStorageError } });
    const failed = await h.run();
    const recorded = await Promise.all(Array.from({ length: 10 }, (_, i) => recordOf(h, i)));
    expect(failed.status).toBe('failed');
    expect(recorded.filter((record) => record?.status === 'failed')).toEqual([]);

    h.proxies.retail.clear();
    h.clock.advanceMinutes(30);
    const next = await h.run();
    expect([next.status, next.carts.notified, sentCarts(h).size]).toEqual(['completed', 10, 10]);
    const attempts = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await recordOf(h, i))?.attempts));
    expect(attempts).toEqual(Array<number>(10).fill(1));
  });

  test('a brief outage met by a page with one customer is no bad record: the cart is not charged an attempt, and is reminded', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(10), env: { EmarsysClientOptions__MaxSendAttempts: '1' } });
    expect((await h.run()).carts.notified).toBe(10);
    h.retail.data = data(11); // cart-10 (customer C10) arrives at 12:00, alone on its page
    h.clock.advanceMinutes(30);
    // Every customer request fails for as long as one request's attempts, then the endpoint is back.
    h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, times: 4, fault: { kind: 'status', status: 500, body: criticalStorageError } });
    const second = await h.run();
    expect({ failed: second.carts.failed, record: (await recordOf(h, 10))?.status, sent: sentCarts(h).has('cart-10') }).toEqual({ failed: 0, record: 'sent', sent: true });
  });

  test('a dry run over carts already reminded tallies them as the real rerun does, not as failures', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(10), env: { RetailServerClientOptions__PageSize: '4' } });
    const first = await h.run();
    expect(first.carts.notified).toBe(10);
    poisonCustomer(h, 500);
    const window = { from: new Date(first.window.from), to: new Date(first.window.to) };
    const dry = await h.run({ ...window, dryRun: true });
    const real = await h.run(window);
    expect(real.carts).toMatchObject({ failed: 0, skippedByReason: { 'already-notified': 10 } });
    expect({ failed: dry.carts.failed, skippedByReason: dry.carts.skippedByReason }).toEqual({ failed: 0, skippedByReason: real.carts.skippedByReason });
  });

  test('throttling during the split is retried as for any request: the run completes with only the bad cart failed', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: data(10), env: { RetailServerClientOptions__PageSize: '4' } });
    // Requests naming one good customer alone are only the split's (the probe, a half): throttled twice.
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.customers,
      match: (request) => {
        const asked = (JSON.parse(request.text()) as { accountNumbers: string[] }).accountNumbers;
        return asked.length === 1 && asked[0] !== 'C9';
      },
      times: 2,
      fault: { kind: 'status', status: 429, headers: { 'Retry-After': '1' } },
    });
    poisonCustomer(h, 500);
    const report = await h.run();
    expect({ status: report.status, failed: report.carts.failed, notSent: ALL(10).filter((id) => !sentCarts(h).has(id)) }).toEqual({
      status: 'completed',
      failed: 1,
      notSent: ['cart-9'],
    });
  });

  test('an outage of the product lookup met by a fresh process (no id to probe with) costs a few requests more, not dozens', async () => {
    // 30 carts of 10 distinct products each: one page, 300 products, 3 chunks of 100.
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      data: data(30, (i) => Array.from({ length: 10 }, (_, k) => ({ productId: i * 10 + k + 1 })), Array.from({ length: 300 }, (_, i) => i + 1)),
    });
    h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.products, fault: { kind: 'status', status: 500, body: criticalStorageError } });
    const report = await h.run();
    expect(report.status).toBe('failed');
    const productRequests = h.proxies.retail.requests().filter((request) => RETAIL_ENDPOINTS.products.test(request.path)).length;
    // Per chunk: the retry policy's four attempts, then two levels of the split (six requests, two attempts each).
    expect(productRequests).toBeLessThanOrEqual(3 * (4 + 6 * 2));
  });

  test('four bad customers on a page of 1,000: only their carts fail, the runs complete', async () => {
    const bad = new Set(['C100', 'C350', 'C600', 'C850']);
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      env: { RetailServerClientOptions__PageSize: '1000' },
      data: buildSimulatorData({
        customers: Array.from({ length: 1000 }, (_, i) => customerRecord(`C${i}`)),
        products: [productRecord(1)],
        carts: Array.from({ length: 1000 }, (_, i) =>
          cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 20_000).toISOString(), lines: [{ productId: 1 }] }),
        ),
      }),
    });
    poisonCustomer(h, 500, bad);
    const first = await h.run();
    h.clock.advanceMinutes(30);
    const second = await h.run();
    const notSent = Array.from({ length: 1000 }, (_, i) => `cart-${i}`).filter((id) => !sentCarts(h).has(id));
    expect({ statuses: [first.status, second.status], failed: [first.carts.failed, second.carts.failed], notSent }).toEqual({
      statuses: ['completed', 'completed'],
      failed: [4, 4],
      notSent: ['cart-100', 'cart-350', 'cart-600', 'cart-850'],
    });
  });
});
