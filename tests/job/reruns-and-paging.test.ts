import { checkPageBound } from '../../src/job/cart-pages';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

const NOW = '2026-11-23T12:00:00Z';

describe('runs over time', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('an immediate second run notifies nobody; a cart modified after its reminder is notified once more', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1'), customerRecord('C2')],
        products: [productRecord(1)],
        carts: [
          cartRecord({ id: 'a', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'b', customerId: 'C2', modifiedDateTime: '2026-11-23T09:30:00Z', lines: [{ productId: 1 }] }),
        ],
      }),
    });
    expect((await h.run()).carts.notified).toBe(2);

    const second = await h.run();
    expect(second.window.source).toBe('checkpoint');
    expect(second.window.from).toBe('2026-11-23T11:50:00.000Z');
    expect(second.carts).toMatchObject({ seen: 0, notified: 0 });

    // Thirty minutes later: cart a was changed again at 12:10 and has been quiet since.
    const cartA = h.retail.data.carts.find((c) => c.Id === 'a') as Record<string, unknown>;
    cartA.ModifiedDateTime = '2026-11-23T12:10:00Z';
    h.clock.set('2026-11-23T12:30:00Z');
    const third = await h.run();
    expect(third.carts).toMatchObject({ seen: 1, notified: 1 });
    expect(h.emarsys.deliveries.map((d) => d.data.cartId)).toEqual(['a', 'b', 'a']);
    expect(new Set(h.emarsys.deliveries.map((d) => d.triggerId)).size).toBe(3);

    // A rerun over the whole day finds every cart already handled.
    const rerun = await h.run({ from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-23T12:20:00Z') });
    expect(rerun.window.source).toBe('request');
    expect(rerun.carts).toMatchObject({ seen: 2, notified: 0, skippedByReason: { 'already-notified': 2 } });
    expect(h.emarsys.deliveries).toHaveLength(3);
  });

  test('carts exactly on both edges of the window are included, once', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1'), customerRecord('C2'), customerRecord('C3'), customerRecord('C4')],
        products: [productRecord(1)],
        carts: [
          cartRecord({ id: 'before', customerId: 'C1', modifiedDateTime: '2026-11-23T03:39:59.999Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'on-from', customerId: 'C2', modifiedDateTime: '2026-11-23T03:40:00.000Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'on-to', customerId: 'C3', modifiedDateTime: '2026-11-23T11:50:00.000Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'after', customerId: 'C4', modifiedDateTime: '2026-11-23T11:50:00.001Z', lines: [{ productId: 1 }] }),
        ],
      }),
    });
    const report = await h.run();
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['on-from', 'on-to']);
    expect(report.checkpoint).toEqual({ lastModifiedAt: '2026-11-23T11:50:00.000Z', cartIdsAtLastModified: 1 });

    // The next run starts at 11:50:00.000 inclusive and must not remind on-to again.
    h.clock.set('2026-11-23T12:30:00Z');
    const next = await h.run();
    expect(next.carts.notified).toBe(1);
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['after', 'on-from', 'on-to']);
  });

  test('2,500 carts in pages of 100 (26: ties at page boundaries): each customer reminded once, for their latest cart, in constant calls per page', async () => {
    const carts = [];
    const customers = [];
    // 2,000 customers with one cart each, and 250 customers with two carts far apart in time.
    for (let i = 0; i < 2250; i++) customers.push(customerRecord(`C${i}`));
    const start = new Date('2026-11-23T04:00:00Z').getTime();
    for (let i = 0; i < 2500; i++) {
      const customer = i < 2250 ? `C${i}` : `C${i - 2250}`;
      // Several carts share each second, so page boundaries fall inside a timestamp.
      const modified = new Date(start + Math.floor(i / 3) * 1000).toISOString();
      carts.push(cartRecord({ id: `cart-${String(i).padStart(4, '0')}`, customerId: customer, modifiedDateTime: modified, lines: [{ productId: 1 + (i % 7) }] }));
    }
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({ customers, products: Array.from({ length: 7 }, (_, i) => productRecord(i + 1)), carts }),
    });
    const report = await h.run();
    expect(report.status).toBe('completed');
    // Keyset paging re-reads the carts that share the boundary second and drops them, so 2,500
    // carts take 26 requests of 100 rather than 25.
    expect(report.pages).toBe(26);
    expect(report.carts).toMatchObject({ seen: 2500, eligible: 2250, notified: 2250, skippedByReason: { superseded: 250 } });
    const delivered = h.emarsys.deliveries.map((d) => d.data.cartId);
    expect(new Set(delivered).size).toBe(2250);
    // The first 250 customers are reminded about their later cart (ids 2250..2499), not the first.
    expect(delivered).toContain('cart-2250');
    expect(delivered).not.toContain('cart-0000');
    // Per page: one cart search (plus the survey's), at most one customer and one product call and
    // one trigger, and a handful of store requests (claim, outcome, checkpoint, lease).
    expect(report.calls.channel).toBe(1);
    expect(report.calls.cartSearch).toBeGreaterThanOrEqual(2 * 26);
    // The survey reads the first page, then up to 2 x MaxConcurrency parallel time slices of the rest, which
    // costs at most one extra search each.
    expect(report.calls.cartSearch).toBeLessThanOrEqual(2 * 26 + 17);
    for (const endpoint of ['customers', 'products', 'provider'] as const) expect(report.calls[endpoint]).toBeLessThanOrEqual(26);
    expect(report.calls.store).toBeLessThanOrEqual(26 * 5 + 10);

    // Nothing was lost or repeated: a rerun over the same window sends nothing.
    h.clock.set('2026-11-23T12:01:00Z');
    const rerun = await h.run({ from: new Date('2026-11-23T03:00:00Z'), to: new Date('2026-11-23T11:50:00Z') });
    expect(rerun.carts).toMatchObject({ seen: 2500, notified: 0 });
  });
});

describe('strategies', () => {
  /** The harness of the run in progress, closed after the test should the test fail before closing it. */
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  function store() {
    const customers = Array.from({ length: 500 }, (_, i) => customerRecord(`C${i}`));
    const carts = Array.from({ length: 600 }, (_, i) =>
      cartRecord({
        id: `cart-${String(i).padStart(3, '0')}`,
        customerId: `C${i % 500}`,
        modifiedDateTime: new Date(Date.parse('2026-11-23T05:00:00Z') + Math.floor(i / 2) * 1000).toISOString(),
        lines: [{ productId: 1 + (i % 5), quantity: 1 + (i % 3) }],
      }),
    );
    return buildSimulatorData({ customers, products: Array.from({ length: 5 }, (_, i) => productRecord(i + 1)), carts });
  }

  test('the pipelined and the sequential strategy notify the same carts with the same data', async () => {
    const delivered: Record<string, unknown>[] = [];
    for (const strategy of ['pipelined', 'sequential'] as const) {
      h = await startHarness({ now: NOW, data: store() });
      const report = await h.run({}, { RetailServerClientOptions__PageSize: '50' }, { strategy });
      expect(report.carts).toMatchObject({ seen: 600, notified: 500, skippedByReason: { superseded: 100 } });
      delivered.push(Object.fromEntries(h.emarsys.deliveries.map((d) => [d.triggerId, d.data])));
      await h.close();
      h = undefined;
    }
    expect(Object.keys(delivered[0] as object)).toHaveLength(500);
    expect(delivered[0]).toEqual(delivered[1]);
  });

  test('a window within PageSize x PageConcurrency is searched once, by the survey; a larger one is searched again, with the same result', async () => {
    const runs: { searches: number; pages: number; delivered: Record<string, unknown> }[] = [];
    // 600 carts in pages of 50: 12 pages, within 50 x 20 and beyond 50 x 4.
    for (const pageConcurrency of [20, 4]) {
      h = await startHarness({ now: NOW, data: store() });
      const report = await h.run({}, { RetailServerClientOptions__PageSize: '50' }, { pageConcurrency });
      expect(report.carts).toMatchObject({ seen: 600, notified: 500, skippedByReason: { superseded: 100 } });
      runs.push({ searches: report.calls.cartSearch ?? 0, pages: report.pages, delivered: Object.fromEntries(h.emarsys.deliveries.map((d) => [d.triggerId, d.data])) });
      await h.close();
      h = undefined;
    }
    const [kept, searched] = runs as [(typeof runs)[0], (typeof runs)[0]];
    // The survey's searches only: its first page, then at most a part page per slice beyond the 12 pages.
    expect(kept.searches).toBeLessThanOrEqual(12 + 8);
    expect(searched.searches).toBeGreaterThanOrEqual(kept.searches + searched.pages - 4);
    expect(kept.delivered).toEqual(searched.delivered);
  });
});

describe('a range whose search never ends', () => {
  test('fails at the page bound instead of ending as if read, so the checkpoint cannot pass unread carts', () => {
    expect(() => checkPageBound(999_999)).not.toThrow();
    expect(() => checkPageBound(1_000_000)).toThrow(/cart search gave 1000000 pages for one range of the window without reaching its end/);
  });
});
