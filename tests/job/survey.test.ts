import fc from 'fast-check';
import { checkCart } from '../../src/job/eligibility';
import { parseCartForChecks, sliceCount, surveyLatestCarts } from '../../src/job/survey';
import { parseCart, type Cart, type ParseResult } from '../../src/retail/models';
import { hostileStore, WINDOW } from '../support/hostile-records';
import { buildSimulatorData, cartRecord } from '../../src/simulators/retail-server';
import { directCartSearch } from '../support/direct-cart-search';


const from = new Date('2026-11-23T00:00:00Z');
const to = new Date('2026-11-23T04:00:00Z');
const window = { from, to, source: 'include-minutes' as const, cartIdsDoneAtFrom: [] };

describe('the survey', () => {
  test('slices meet exactly: a cart on a slice boundary is read once; the newest cart per customer wins', async () => {
    // Four slices of one hour; carts on every boundary and at both ends of the window.
    const times = ['00:00:00', '01:00:00', '01:59:59.999', '02:00:00', '03:00:00', '04:00:00'];
    const data = buildSimulatorData({
      carts: times.map((time, i) => cartRecord({ id: `c${i}`, customerId: i < 3 ? 'A' : `B${i}`, modifiedDateTime: `2026-11-23T${time}Z`, lines: [{ productId: 1 }] })),
    });
    const retail = directCartSearch(data);
    const survey = await surveyLatestCarts(retail, window, { pageSize: 2, includeAnonymous: false, slices: 4 }, () => undefined);
    const latestOf = (i: number) =>
      survey.latest.isLatest({ Id: `c${i}`, CustomerId: i < 3 ? 'A' : `B${i}`, ReceiptEmail: undefined, ModifiedDateTime: new Date(`2026-11-23T${times[i]}Z`), ModifiedTicks: 0 });
    expect([0, 1, 2, 3, 4, 5].map(latestOf)).toEqual([false, false, true, true, true, true]);
    expect(survey.latest.size).toBe(4);
    expect(new Set(retail.searches.map((s) => s.from.toISOString())).size).toBeGreaterThanOrEqual(4);
  });

  test('a window that fits in one page is kept for the processing pass, in time order', async () => {
    const data = buildSimulatorData({
      carts: [3, 1, 2].map((hour) => cartRecord({ id: `h${hour}`, customerId: `C${hour}`, modifiedDateTime: `2026-11-23T0${hour}:30:00Z`, lines: [{ productId: 1 }] })),
    });
    const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 4 }, () => undefined);
    expect(survey.onlyPage?.map((c) => c.key?.id)).toEqual(['h1', 'h2', 'h3']);
  });

  test('out of time, every slice stops at its next clean cut, and the window ends where the part read without a gap does', async () => {
    // 240 carts a minute apart over the four hours, pages of 10: the head, then slices of several pages each.
    const data = buildSimulatorData({
      carts: Array.from({ length: 240 }, (_, i) =>
        cartRecord({ id: `m${String(i).padStart(3, '0')}`, customerId: `C${i}`, modifiedDateTime: new Date(from.getTime() + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
      ),
    });
    let pages = 0;
    const options = { pageSize: 10, includeAnonymous: false, slices: 4, outOfTime: () => pages >= 3 };
    const cut = await surveyLatestCarts(directCartSearch(data), window, options, (read) => {
      pages = read;
    });
    const whole = await surveyLatestCarts(directCartSearch(data), window, { ...options, outOfTime: () => false }, () => undefined);

    expect(whole.end).toBeUndefined();
    const end = cut.end as Date;
    expect(end.getTime()).toBeGreaterThan(from.getTime());
    expect(end.getTime()).toBeLessThan(to.getTime());
    expect(cut.pages).toBeLessThan(whole.pages);
    // The ranges run from the window's start, meeting exactly, to just past `end`, and no further.
    const ranges = cut.ranges;
    expect(ranges[0]?.from).toEqual(from);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.from.getTime()).toBe(ranges[i - 1]?.before);
    expect(ranges.at(-1)?.before).toBe(end.getTime() + 1);
  });

  test('a window larger than a page is not kept', async () => {
    const data = buildSimulatorData({
      carts: Array.from({ length: 12 }, (_, i) => cartRecord({ id: `x${i}`, customerId: `C${i}`, modifiedDateTime: `2026-11-23T00:${String(10 + i).padStart(2, '0')}:00Z`, lines: [{ productId: 1 }] })),
    });
    const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 4 }, () => undefined);
    expect(survey.onlyPage).toBeUndefined();
    expect(survey.latest.size).toBe(12);
  });
});

describe('how many slices the rest of the window is cut into', () => {
  // Searches a slice of `pages` (expected) pages takes: its full pages and its part page.
  const searchesFor = (estimatedPages: number, count: number) => count * (Math.floor(estimatedPages / count) + 1);

  test('a small rest: as many slices as one round of searches reads, not one part page per slice too many', () => {
    expect(sliceCount(3, 8, 4)).toBe(4); // four slices of 0.75 pages: 4 searches, one round
    expect(sliceCount(9, 8, 4)).toBe(5); // five slices of 1.8 pages: 10 searches (eight slices would read 16)
    expect(searchesFor(9, 5)).toBeLessThan(searchesFor(9, 8));
    expect(sliceCount(0.2, 8, 4)).toBe(1);
  });

  test('a large rest: every slice, so that each chain is as short as it can be', () => {
    expect(sliceCount(99, 8, 4)).toBe(8);
    expect(sliceCount(1_000, 8, 4)).toBe(8);
    expect(sliceCount(Number.POSITIVE_INFINITY, 8, 4)).toBe(8);
  });

  test('never fewer rounds with another count, never outside 1..maxSlices', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 500, noNaN: true }), fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 16 }), (pages, maxSlices, atOnce) => {
        const rounds = (count: number) => {
          const chain = Math.floor((pages / count) * 1.1) + 1;
          return Math.max(Math.ceil((count * chain) / atOnce), Math.ceil(chain * 1.5));
        };
        const chosen = sliceCount(pages, maxSlices, atOnce);
        expect(chosen).toBeGreaterThanOrEqual(1);
        expect(chosen).toBeLessThanOrEqual(maxSlices);
        for (let count = 1; count <= maxSlices; count++) expect(rounds(chosen)).toBeLessThanOrEqual(rounds(count));
      }),
      // Seeded like the repository's other properties; SLICE_COUNT_SEED and SLICE_COUNT_RUNS try others.
      { seed: Number(process.env.SLICE_COUNT_SEED ?? 20261123), numRuns: Number(process.env.SLICE_COUNT_RUNS ?? 100) },
    );
  });
});

describe('the survey reads only what the checks need', () => {
  test('on hostile carts, parseCartForChecks passes or fails every check exactly as the full parse does', () => {
    const checkContext = { from: new Date(WINDOW.from), to: new Date(WINDOW.to), includeAnonymous: true };
    const verdict = (parsed: ParseResult<Cart>) => (parsed.ok ? (checkCart(parsed.value, checkContext) ?? 'eligible') : 'invalid-record');
    let carts = 0;
    const seen = new Set<string>();
    fc.assert(
      fc.property(hostileStore, ({ data }) => {
        for (const raw of data.carts) {
          carts++;
          const expected = verdict(parseCart(raw));
          seen.add(expected);
          expect(verdict(parseCartForChecks(raw))).toBe(expected);
          const forChecks = parseCartForChecks(raw);
          const full = parseCart(raw);
          if (forChecks.ok && full.ok) expect(customerOf(forChecks.value)).toBe(customerOf(full.value));
        }
      }),
      { numRuns: 150, seed: 20261123 },
    );
    expect(carts).toBeGreaterThan(1000);
    // The data reached every kind of verdict the parse decides.
    expect([...seen]).toEqual(expect.arrayContaining(['eligible', 'invalid-record', 'no-active-lines', 'outside-window']));
  });
});

function customerOf(cart: Cart): string {
  return `${cart.Id}|${cart.CustomerId ?? ''}|${cart.ReceiptEmail ?? ''}|${cart.ModifiedDateTime.getTime()}`;
}
