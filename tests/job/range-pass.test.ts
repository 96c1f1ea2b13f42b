import { cartPages, type RawCart, type TimeRange } from '../../src/job/cart-pages';
import { surveyLatestCarts, type Survey } from '../../src/job/survey';
import { buildSimulatorData, cartRecord, customerRecord, productRecord, type SimulatorData } from '../../src/simulators/retail-server';
import { directCartSearch } from '../support/direct-cart-search';
import { startHarness, type Harness } from '../support/harness';

/**
 * The processing pass searches the survey's ranges all at once instead of following one keyset
 * chain. These tests hold it to what the chain guarantees: every cart still in the window is read
 * exactly once, whatever happened to other carts since the survey, and in whatever order Retail
 * Server returns carts that share a timestamp.
 */

const from = new Date('2026-11-23T00:00:00Z');
const to = new Date('2026-11-23T04:00:00Z');
const window = { from, to, source: 'include-minutes' as const, cartIdsDoneAtFrom: [] };

/** A small deterministic generator (mulberry32), so every run sees the same store and the same shuffles. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}


/** `count` carts on few distinct timestamps, so page ends fall inside groups of carts that share one. */
function storeWithTies(count: number, distinctTimes: number, random: () => number): SimulatorData {
  const span = to.getTime() - from.getTime();
  const times = Array.from({ length: distinctTimes }, (_, i) => from.getTime() + Math.floor(((i + 0.5) * span) / distinctTimes));
  return buildSimulatorData({
    carts: Array.from({ length: count }, (_, i) =>
      cartRecord({
        id: `cart-${String(i).padStart(3, '0')}`,
        customerId: `C${i}`,
        modifiedDateTime: new Date(times[Math.floor(random() * distinctTimes)] as number).toISOString(),
        lines: [{ productId: 1 }],
      }),
    ),
  });
}

async function readRanges(retail: ReturnType<typeof directCartSearch>, ranges: Awaited<ReturnType<typeof surveyLatestCarts>>['ranges'], pageSize: number) {
  // All at once, as the pipelined pass does.
  const perRange = await Promise.all(
    ranges.map(async (range) => {
      const ids: string[] = [];
      for await (const page of cartPages(retail, { ...range, pageSize, includeAnonymous: false })) ids.push(...page.map((c) => c.key?.id ?? '?'));
      return ids;
    }),
  );
  return perRange;
}

const idsOf = (carts: readonly Pick<RawCart, 'key'>[] | undefined) => (carts ?? []).map(({ key }) => key?.id ?? '?');

/** As the pipelined pass reads: the ranges the survey kept from their copies, the others by search. */
async function readAsThePass(survey: Survey, data: SimulatorData, pageSize: number) {
  const retail = directCartSearch(data);
  const searched = await readRanges(retail, survey.ranges.filter((range) => range.carts === undefined), pageSize);
  return { ids: [...survey.ranges.flatMap((range) => idsOf(range.carts)), ...searched.flat()], searches: retail.searches.length };
}

const idsInWindow = (data: SimulatorData) =>
  data.carts
    .filter((cart) => {
      const t = Date.parse(String(cart.ModifiedDateTime));
      return t >= from.getTime() && t <= to.getTime();
    })
    .map((cart) => String(cart.Id))
    .sort();

describe('the processing pass over the survey ranges', () => {
  test('ranges meet exactly, cover the window, and each holds less than a page', async () => {
    const data = storeWithTies(120, 30, seeded(7));
    const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 3 }, () => undefined);
    const { ranges } = survey;
    expect(ranges.length).toBeGreaterThan(1);
    expect(ranges[0]?.from).toEqual(from);
    expect(ranges.at(-1)?.to).toEqual(to);
    expect(ranges.at(-1)?.before).toBeUndefined();
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.from.getTime()).toBe(ranges[i - 1]?.before);

    const retail = directCartSearch(data);
    const perRange = await readRanges(retail, ranges, 10);
    for (const ids of perRange) expect(ids.length).toBeLessThan(10);
    expect(perRange.flat().sort()).toEqual(idsInWindow(data));
    // One search per range: no range needed a second page.
    expect(retail.searches).toHaveLength(ranges.length);
    // Neighbouring small ranges were joined: no more ranges than twice the pages the window needs.
    expect(ranges.length).toBeLessThanOrEqual(2 * Math.ceil(120 / 10));
  });

  test("every range the survey kept holds exactly what searching that range returns", async () => {
    for (const seed of [1, 2, 3]) {
      const data = storeWithTies(120, 30, seeded(seed));
      const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 3, keepCarts: 1000 }, () => undefined);
      expect(survey.ranges.every((range) => range.carts !== undefined)).toBe(true);
      const searched = await readRanges(directCartSearch(data), survey.ranges, 10);
      survey.ranges.forEach((range, i) => expect(idsOf(range.carts).sort()).toEqual(searched[i]?.sort()));
      const pass = await readAsThePass(survey, data, 10);
      expect(pass.searches).toBe(0);
      expect(pass.ids.sort()).toEqual(idsInWindow(data));
    }
  });

  test('past keepCarts the survey keeps no more: those slices are searched, and every cart is read once', async () => {
    for (const seed of [4, 5, 6]) {
      const data = storeWithTies(120, 30, seeded(seed));
      const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 3, keepCarts: 45 }, () => undefined);
      const kept = survey.ranges.filter((range) => range.carts !== undefined);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(survey.ranges.length);
      expect(kept.reduce((sum, range) => sum + (range.carts?.length ?? 0), 0)).toBeLessThanOrEqual(45);
      const pass = await readAsThePass(survey, data, 10);
      expect(pass.searches).toBeGreaterThan(0);
      expect(new Set(pass.ids).size).toBe(pass.ids.length);
      expect(pass.ids.sort()).toEqual(idsInWindow(data));
    }
  });

  test('any allowance, page size and slicing: each kept range equals its search, and the pass reads every cart once', async () => {
    let cases = 0;
    for (const seed of [11, 12, 13]) {
      for (const pageSize of [7, 10, 16]) {
        for (const keepCarts of [0, 15, 45, 90, 1000]) {
          const data = storeWithTies(130, 35, seeded(seed));
          const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize, includeAnonymous: false, slices: 4, keepCarts }, () => undefined);
          const kept = survey.ranges.filter((range) => range.carts !== undefined);
          expect(kept.reduce((sum, range) => sum + (range.carts?.length ?? 0), 0)).toBeLessThanOrEqual(keepCarts);
          const searched = await readRanges(directCartSearch(data), kept, pageSize);
          kept.forEach((range, i) => expect(idsOf(range.carts).sort()).toEqual(searched[i]?.sort()));
          const pass = await readAsThePass(survey, data, pageSize);
          expect(pass.ids.sort()).toEqual(idsInWindow(data));
          cases++;
        }
      }
    }
    expect(cases).toBe(45);
  });

  test('a slice with a record whose id does not parse is searched again, not taken from a copy', async () => {
    const data = storeWithTies(60, 30, seeded(8));
    const broken = data.carts[Math.floor(data.carts.length / 2)] as Record<string, unknown>;
    broken.Id = '';
    const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 3, keepCarts: 1000 }, () => undefined);
    const at = Date.parse(String(broken.ModifiedDateTime));
    const its = survey.ranges.find((range) => at >= range.from.getTime() && at < (range.before ?? Number.POSITIVE_INFINITY));
    expect(its?.carts).toBeUndefined();
    const pass = await readAsThePass(survey, data, 10);
    // Searching reads it (placed by nothing but the server's filter, it may come with a neighbouring range too).
    expect(pass.ids).toContain('?');
    expect(pass.ids.filter((id) => id !== '?').sort()).toEqual(idsInWindow(data).filter((id) => id !== ''));
  });

  test('a first page of one instant: the first range spans two pages, and its copy holds both', async () => {
    const start = '2026-11-23T00:00:00.000Z';
    const data = buildSimulatorData({
      carts: [
        ...Array.from({ length: 7 }, (_, i) => cartRecord({ id: `start-${i}`, customerId: `S${i}`, modifiedDateTime: start, lines: [{ productId: 1 }] })),
        ...Array.from({ length: 3 }, (_, i) => cartRecord({ id: `next-${i}`, customerId: `N${i}`, modifiedDateTime: '2026-11-23T00:30:00Z', lines: [{ productId: 1 }] })),
        ...Array.from({ length: 6 }, (_, i) => cartRecord({ id: `late-${i}`, customerId: `L${i}`, modifiedDateTime: `2026-11-23T03:0${i}:00Z`, lines: [{ productId: 1 }] })),
      ],
    });
    for (const keepCarts of [0, 1000]) {
      const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 5, includeAnonymous: false, slices: 2, keepCarts }, () => undefined);
      const [searched] = await readRanges(directCartSearch(data), [survey.ranges[0] as TimeRange], 5);
      const first = survey.ranges[0]?.carts;
      if (keepCarts > 0) expect(idsOf(first).sort()).toEqual(searched?.sort());
      else expect(first).toBeUndefined();
      const pass = await readAsThePass(survey, data, 5);
      expect(pass.ids.sort()).toEqual(idsInWindow(data));
    }
  });

  test('carts modified after the survey leave their range; every other cart is still read exactly once, ties shuffled on every search', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seeded(seed);
      const data = storeWithTies(150, 50, random);
      // Paging through a group of ties larger than a page needs $skip, which needs a stable order;
      // here every group fits in a page, so the order of ties is free to change.
      const groups = new Map<unknown, number>();
      for (const cart of data.carts) groups.set(cart.ModifiedDateTime, (groups.get(cart.ModifiedDateTime) ?? 0) + 1);
      expect(Math.max(...groups.values())).toBeLessThan(12);
      const survey = await surveyLatestCarts(directCartSearch(data, random), window, { pageSize: 12, includeAnonymous: false, slices: 4 }, () => undefined);

      // Between the survey and the pass, a fifth of the carts are modified: they move past the window.
      const moved = new Date(to.getTime() + 60_000).toISOString();
      for (const cart of data.carts) if (random() < 0.2) cart.ModifiedDateTime = moved;

      const retail = directCartSearch(data, random);
      const perRange = await readRanges(retail, survey.ranges, 12);
      const read = perRange.flat();
      expect(new Set(read).size).toBe(read.length);
      expect(read.sort()).toEqual(idsInWindow(data));
      expect(retail.searches).toHaveLength(survey.ranges.length);
    }
  });

  test('more carts on one timestamp than a page holds: that range pages through them', async () => {
    const at = '2026-11-23T02:00:00.000Z';
    const data = buildSimulatorData({
      carts: [
        ...Array.from({ length: 4 }, (_, i) => cartRecord({ id: `early-${i}`, customerId: `E${i}`, modifiedDateTime: `2026-11-23T01:0${i}:00Z`, lines: [{ productId: 1 }] })),
        ...Array.from({ length: 13 }, (_, i) => cartRecord({ id: `tie-${String(i).padStart(2, '0')}`, customerId: `T${i}`, modifiedDateTime: at, lines: [{ productId: 1 }] })),
        ...Array.from({ length: 3 }, (_, i) => cartRecord({ id: `late-${i}`, customerId: `L${i}`, modifiedDateTime: `2026-11-23T03:0${i}:00Z`, lines: [{ productId: 1 }] })),
      ],
    });
    const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 5, includeAnonymous: false, slices: 1 }, () => undefined);
    const perRange = await readRanges(directCartSearch(data), survey.ranges, 5);
    const read = perRange.flat();
    expect(read.sort()).toEqual(idsInWindow(data));
    expect(new Set(read).size).toBe(20);
  });
});

/** As the pipelined pass works the survey: pages of the kept copies, and the pages each searched range yields. */
async function workAsThePass(survey: Survey, data: SimulatorData, pageSize: number) {
  if (survey.onlyPage) return { ids: idsOf(survey.onlyPage), pages: survey.onlyPage.length > 0 ? 1 : 0, searches: 0 };
  const retail = directCartSearch(data);
  const ids: string[] = [];
  let pages = 0;
  for (const range of survey.ranges) {
    if (range.carts) {
      ids.push(...idsOf(range.carts));
      pages += Math.ceil(range.carts.length / pageSize);
      continue;
    }
    for await (const page of cartPages(retail, { ...range, pageSize, includeAnonymous: false })) {
      ids.push(...page.map((c) => c.key?.id ?? '?'));
      pages++;
    }
  }
  return { ids, pages, searches: retail.searches.length };
}

describe('how many pages the pass works', () => {
  test('a window of exactly one page the survey kept is one range and one page, though the survey read it as its head and the rest', async () => {
    const data = buildSimulatorData({
      carts: Array.from({ length: 10 }, (_, i) => cartRecord({ id: `c${i}`, customerId: `C${i}`, modifiedDateTime: new Date(from.getTime() + (i + 1) * 60_000).toISOString(), lines: [{ productId: 1 }] })),
    });
    const survey = await surveyLatestCarts(directCartSearch(data), window, { pageSize: 10, includeAnonymous: false, slices: 4, keepCarts: 100 }, () => undefined);
    expect(survey.pages).toBeGreaterThan(1); // the head stops before its newest instant; the rest reads that cart again
    expect(survey.ranges).toHaveLength(1);
    expect(idsOf(survey.ranges[0]?.carts)).toEqual(data.carts.map((cart) => String(cart.Id)));
    const pass = await workAsThePass(survey, data, 10);
    expect(pass).toEqual({ ids: idsOf(survey.ranges[0]?.carts), pages: 1, searches: 0 });
  });
});

describe('a timer run over a window of a few pages the survey kept', () => {
  const NOW = '2026-11-23T12:00:00Z';
  /** `n` carts of `n` customers, spread evenly over [11:20, 11:50); a first run looking back 40 minutes reads [11:20, 11:50]. */
  const windowOf = (n: number) =>
    buildSimulatorData({
      customers: Array.from({ length: n }, (_, i) => customerRecord(`C${i}`)),
      products: Array.from({ length: 20 }, (_, i) => productRecord(i + 1)),
      carts: Array.from({ length: n }, (_, i) =>
        cartRecord({
          id: `cart-${i}`,
          customerId: `C${i}`,
          modifiedDateTime: new Date(Date.parse(NOW) - 40 * 60_000 + Math.floor((i * 30 * 60_000) / n)).toISOString(),
          lines: [{ productId: (i % 20) + 1 }],
        }),
      ),
    });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  // Each page costs a customer lookup, an Emarsys trigger, two bulk writes and a checkpoint save:
  // a window of exactly PageSize (100) carts was worked as pages of 99 and 1.
  test.each([
    [100, 1],
    [199, 2],
  ])('%i carts at PageSize 100 are worked in %i page(s), one customer lookup and one Emarsys trigger each', async (carts, pages) => {
    h = await startHarness({ now: NOW, data: windowOf(carts) });
    const report = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '40' });
    expect(report.carts.notified).toBe(carts);
    expect(report.pages).toBe(pages);
    expect(h.retail.requests.filter((r) => r.endpoint === 'customers')).toHaveLength(pages);
    expect(h.emarsys.requests.filter((r) => r.kind === 'trigger')).toHaveLength(pages);
  });
});
