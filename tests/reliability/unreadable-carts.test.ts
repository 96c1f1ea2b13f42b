import fc from 'fast-check';
import type { RunReport } from '../../src/job/report';
import type { JobSettings } from '../../src/job/run-abandoned-cart-job';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { failSearchesHolding } from '../support/unreadable-carts';
import { unreadableIds } from '../support/unreadable-paging';

/**
 * A cart Retail Server cannot load: every cart search whose page holds it fails with HTTP 500.
 * Before, the run failed at that page, and so did every later run until the cart left the window;
 * the checkpoint waited there and every cart after it was reminded hours late. Now the page is
 * narrowed to the cart, which is skipped (`unreadable-record`), and the run goes on past it.
 */

const START = Date.parse('2026-11-23T05:00:00Z');

/** Carts at these minutes after 05:00 (equal minutes share an instant), one customer each unless `customerOf` says. */
function store(minutes: readonly number[], customerOf: (i: number) => string = (i) => `C${i}`) {
  const customers = [...new Set(minutes.map((_, i) => customerOf(i)))];
  return buildSimulatorData({
    customers: customers.map((id) => customerRecord(id)),
    products: [productRecord(1)],
    carts: minutes.map((minute, i) =>
      cartRecord({ id: id(i), customerId: customerOf(i), modifiedDateTime: new Date(START + minute * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}

/** Zero-padded, so that ids sort as the carts' order: Retail Server orders carts sharing an instant by nothing finer, the simulator by id. */
const id = (i: number) => `cart-${String(i).padStart(2, '0')}`;

const tenMinutesApart = (count: number) => Array.from({ length: count }, (_, i) => i * 10);

function sentTimes(h: FaultHarness): Map<string, number> {
  const sent = new Map<string, number>();
  for (const delivery of h.emarsys.deliveries) sent.set(String(delivery.data.cartId), (sent.get(String(delivery.data.cartId)) ?? 0) + 1);
  return sent;
}

function summary(report: RunReport) {
  return { status: report.status, seen: report.carts.seen, notified: report.carts.notified, unreadable: report.carts.skippedByReason['unreadable-record'] ?? 0 };
}

const STRATEGIES: { label: string; job: Partial<JobSettings> }[] = [
  { label: 'pipelined', job: {} },
  { label: 'sequential', job: { strategy: 'sequential' } },
];

describe('a cart Retail Server cannot load', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test.each(STRATEGIES)('$label: it is skipped and counted, every other cart is reminded, and the next run does not meet it again', async ({ job }) => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    const rule = failSearchesHolding(h, new Set(['cart-05']));
    const first = await h.run({}, {}, job);
    h.clock.advanceMinutes(30);
    const second = await h.run({}, {}, job);
    const sent = sentTimes(h);
    expect({ first: summary(first), second: summary(second), sent: [...sent.keys()].sort(), once: [...sent.values()].every((n) => n === 1) }).toEqual({
      first: { status: 'completed', seen: 10, notified: 9, unreadable: 1 },
      second: { status: 'completed', seen: 0, notified: 0, unreadable: 0 },
      sent: ['cart-00', 'cart-01', 'cart-02', 'cart-03', 'cart-04', 'cart-06', 'cart-07', 'cart-08', 'cart-09'],
      once: true,
    });
    expect(rule.fired).toBeGreaterThan(0);
    // The checkpoint is past it: the second run's window starts at the first run's last cart.
    expect(Date.parse(second.window.from)).toBeGreaterThan(START + 50 * 60_000);
  });

  test('the log says what it could not read and where', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    failSearchesHolding(h, new Set(['cart-05']));
    await h.run();
    const warning = h.logs.find((entry) => entry.message === 'Skipped carts that Retail Server cannot load');
    expect(warning?.fields.reason).toMatch(
      /^Retail Server fails every cart search that includes one cart modified between 2026-11-23T05:40:00.000Z and 2026-11-23T06:00:00.000Z, so it was not read: .*HTTP 500.*An error occurred while loading the cart\./,
    );
  });

  test.each([
    ['its instant shared with the carts around it, pages of 2', [0, 10, 20, 20, 20, 20, 20, 30, 40], 2],
    ['its instant shared with the carts around it, pages of 4', [0, 10, 20, 20, 20, 20, 20, 30, 40], 4],
    ['first of its instant, a page of carts after it at that instant', [0, 10, 10, 10, 10, 10, 20], 2],
    ['first in the window', [0, 10, 20, 30], 2],
    ['last in the window', [0, 10, 20, 30], 2],
    ['the only cart', [0], 4],
  ] as const)('%s: no other cart is missed or read twice', async (label, minutes, pageSize) => {
    const poison = label.startsWith('first in') || label === 'the only cart' ? 0 : label.startsWith('first of') ? 1 : label.startsWith('last') ? minutes.length - 1 : 4;
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(minutes), env: { RetailServerClientOptions__PageSize: String(pageSize) } });
    failSearchesHolding(h, new Set([id(poison)]));
    const report = await h.run();
    const sent = sentTimes(h);
    const others = minutes.map((_, i) => id(i)).filter((cart) => cart !== id(poison));
    expect({ ...summary(report), sent: [...sent.keys()].sort(), once: [...sent.values()].every((n) => n === 1) }).toEqual({
      status: 'completed',
      seen: minutes.length,
      notified: minutes.length - 1,
      unreadable: 1,
      sent: others.sort(),
      once: true,
    });
  });

  test('two in a row: found when carts before the first were read on its page', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    // Pages of four from 05:00: cart-05 is second on the page that starts at cart-04.
    failSearchesHolding(h, new Set(['cart-05', 'cart-06']));
    const report = await h.run({}, {}, { strategy: 'sequential' });
    expect({ ...summary(report), sent: sentTimes(h).size }).toEqual({ status: 'completed', seen: 10, notified: 8, unreadable: 2, sent: 8 });
  });

  test.each(STRATEGIES)('$label: three in a row with no cart read before them on the page: found once a cart after them is answered', async ({ job }) => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    // The window's first three carts: its first page starts with them, and each page after one of
    // them starts with the next.
    failSearchesHolding(h, new Set(['cart-00', 'cart-01', 'cart-02']));
    const report = await h.run({}, {}, job);
    expect({ ...summary(report), sent: [...sentTimes(h).keys()].sort() }).toEqual({
      status: 'completed',
      seen: 10,
      notified: 7,
      unreadable: 3,
      sent: ['cart-03', 'cart-04', 'cart-05', 'cart-06', 'cart-07', 'cart-08', 'cart-09'],
    });
  });

  test('every cart of the window unreadable, as a search that fails for every cart looks: the run fails, and skips no cart', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(4)), env: { RetailServerClientOptions__PageSize: '4' } });
    failSearchesHolding(h, new Set(['cart-00', 'cart-01', 'cart-02', 'cart-03']));
    const report = await h.run({}, {}, { strategy: 'sequential' });
    expect(summary(report)).toMatchObject({ status: 'failed', unreadable: 0 });
    expect(report.error).toMatch(/Carts\/Search failed with HTTP 500/);
    expect(sentTimes(h).size).toBe(0);
  });

  test('an outage of the cart search (every search fails) still fails the run, and skips no cart', async () => {
    h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    // Every search with a window fails; one that names a cart id (none here) would not.
    h.proxies.retail.inject({ path: /\/Carts\/Search/, fault: { kind: 'status', status: 500 } });
    const failed = await h.run();
    expect(summary(failed)).toMatchObject({ status: 'failed', unreadable: 0 });
    h.clearFaults();
    h.clock.advanceMinutes(30);
    expect(summary(await h.run())).toEqual({ status: 'completed', seen: 10, notified: 10, unreadable: 0 });
  });

  test('a customer whose newest cart cannot be loaded is reminded of the older one the survey saw', async () => {
    h = await startFaultHarness({
      now: '2026-11-23T12:00:00Z',
      data: store(tenMinutesApart(6), (i) => (i === 1 || i === 4 ? 'C1' : `C${i}`)),
      env: { RetailServerClientOptions__PageSize: '2' },
    });
    failSearchesHolding(h, new Set(['cart-04']));
    const report = await h.run();
    expect({ ...summary(report), sent: [...sentTimes(h).keys()].sort() }).toEqual({
      status: 'completed',
      seen: 6,
      notified: 5,
      unreadable: 1,
      sent: ['cart-00', 'cart-01', 'cart-02', 'cart-03', 'cart-05'],
    });
  });
});

/**
 * Random stores: carts at random instants (many sharing one), some of them unreadable, random
 * page sizes and both strategies. Every run completes; every cart is seen once; each unreadable
 * cart is counted once and never reminded; every other customer's latest cart is reminded once.
 */
const SEED = Number(process.env.UNREADABLE_CART_SEED ?? 20261207);
const RUNS = Number(process.env.UNREADABLE_CART_RUNS ?? 10);

const storeArbitrary = fc
  .integer({ min: 1, max: 30 })
  .chain((count) =>
    fc.record({
      gaps: fc.array(fc.constantFrom(0, 0, 0, 1, 5), { minLength: count, maxLength: count }),
      customerOf: fc.array(fc.integer({ min: 0, max: 24 }), { minLength: count, maxLength: count }),
      unreadable: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 4 }),
      run: fc.record({ start: fc.integer({ min: 0, max: count - 1 }), length: fc.integer({ min: 0, max: 3 }) }),
      pageSize: fc.integer({ min: 2, max: 8 }),
      sequential: fc.boolean(),
    }),
  );

describe('random stores with unreadable carts', () => {
  test('every run completes; unreadable carts are counted once and never reminded; every other latest cart is reminded once', async () => {
    const details = await fc.check(
      fc.asyncProperty(storeArbitrary, async ({ gaps, customerOf, unreadable, run, pageSize, sequential }) => {
        let minute = 0;
        const minutes = gaps.map((gap) => (minute += gap));
        const customer = (i: number) => `C${customerOf[i] ?? 0}`;
        const h = await startFaultHarness({ now: '2026-11-23T12:00:00Z', data: store(minutes, customer), env: { RetailServerClientOptions__PageSize: String(pageSize) } });
        try {
          // Runs of them side by side too, each with a readable cart somewhere after it.
          const bad = unreadableIds(gaps.length, unreadable, run);
          failSearchesHolding(h, bad);
          const job: Partial<JobSettings> = sequential ? { strategy: 'sequential' } : { surveySlices: 3 };
          const report = await h.run({}, {}, job);
          const problems: string[] = [];
          const got = summary(report);
          if (got.status !== 'completed') problems.push(`run ${got.status}: ${report.error ?? ''}`);
          if (got.seen !== minutes.length) problems.push(`seen ${got.seen} of ${minutes.length}`);
          if (got.unreadable !== bad.size) problems.push(`${got.unreadable} unreadable counted, ${bad.size} there`);
          // The latest readable cart of each customer: the later instant, then the greater id.
          const latest = new Map<string, number>();
          minutes.forEach((at, i) => {
            if (bad.has(id(i))) return;
            const other = latest.get(customer(i));
            const otherAt = other === undefined ? undefined : (minutes[other] as number);
            if (other === undefined || at > (otherAt as number) || (at === otherAt && id(i) > id(other))) latest.set(customer(i), i);
          });
          const expected = [...latest.values()].map(id).sort();
          const sent = sentTimes(h);
          if (JSON.stringify([...sent.keys()].sort()) !== JSON.stringify(expected)) problems.push(`sent ${[...sent.keys()].sort().join(',')}, expected ${expected.join(',')}`);
          if (![...sent.values()].every((n) => n === 1)) problems.push('a cart was reminded twice');
          if (problems.length > 0) throw new Error(problems.join('\n'));
        } finally {
          await h.close();
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    if (details.failed) {
      throw new Error(`failed after ${details.numRuns} run(s); replay with UNREADABLE_CART_SEED=${details.seed}, path "${details.counterexamplePath ?? ''}":\n${String(details.errorInstance)}\n${JSON.stringify(details.counterexample)}`);
    }
  }, 120_000);
});
