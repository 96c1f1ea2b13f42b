import fc from 'fast-check';
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

/**
 * The fewest pages a pass can work `sizes` (carts per instant, oldest first) in, pages of at most
 * `pageSize` carts in time order: a page ends between two instants, or inside an instant that holds
 * more than a page; and no page holds carts of two such instants (a range stays about a page or one
 * instant long). Worked out over every place a page may end, not the way the survey joins ranges.
 */
function fewestPages(sizes: readonly number[], pageSize: number): number {
  const bounds = [0];
  const big: number[] = []; // For each cart position, the instant it belongs to when that instant holds more than a page.
  sizes.forEach((size, instant) => {
    const start = bounds.at(-1) as number;
    for (let i = 1; i < size; i++) if (size > pageSize) bounds.push(start + i);
    for (let i = 0; i < size; i++) big.push(size > pageSize ? instant : -1);
    bounds.push(start + size);
  });
  const total = bounds.at(-1) as number;
  const fewest = new Map<number, number>([[0, 0]]);
  for (const end of bounds.slice(1)) {
    let best = Number.POSITIVE_INFINITY;
    for (const [start, pages] of fewest) {
      if (end - start > pageSize) continue;
      const bigInstants = new Set(big.slice(start, end).filter((instant) => instant >= 0));
      if (bigInstants.size <= 1) best = Math.min(best, pages + 1);
    }
    fewest.set(end, best);
  }
  return fewest.get(total) as number;
}

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

  test('random windows around multiples of the page size, with ties, kept or not, cut short or not: every cart once, and the fewest pages wherever the survey kept the carts', async () => {
    const shapes = { kept: 0, notKept: 0, partlyKept: 0, bigTies: 0, cut: 0, done: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          pageSize: fc.integer({ min: 2, max: 12 }),
          pagesOfCarts: fc.integer({ min: 0, max: 6 }),
          offset: fc.integer({ min: -2, max: 2 }),
          // Carts per instant, used in turn: 1 is a window of distinct instants; more than the page size, ties that need `$skip`.
          tieSizes: fc.array(fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 26 })), { minLength: 1, maxLength: 5 }),
          keep: fc.constantFrom('all', 'none', 'some'),
          keepShare: fc.double({ min: 0, max: 1, noNaN: true }),
          slices: fc.integer({ min: 1, max: 4 }),
          outOfTimeAfter: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
          startsAtFrom: fc.boolean(),
          done: fc.integer({ min: 0, max: 3 }),
          seed: fc.integer(),
        }),
        async (c) => {
          const count = Math.max(0, c.pagesOfCarts * c.pageSize + c.offset);
          const random = seeded(c.seed);
          // Instants spread over the window, sorted, the first at the window's start when asked.
          const sizes: number[] = [];
          for (let used = 0, i = 0; used < count; i++) {
            const size = Math.min(count - used, c.tieSizes[i % c.tieSizes.length] as number);
            sizes.push(size);
            used += size;
          }
          const span = to.getTime() - from.getTime();
          const times = new Set<number>();
          if (c.startsAtFrom && sizes.length > 0) times.add(from.getTime());
          while (times.size < sizes.length) times.add(from.getTime() + 1 + Math.floor(random() * span));
          const instants = [...times].sort((a, b) => a - b);
          const carts = sizes.flatMap((size, i) =>
            Array.from({ length: size }, (_, j) =>
              cartRecord({ id: `c${i}-${j}`, customerId: `C${i}-${j}`, modifiedDateTime: new Date(instants[i] as number).toISOString(), lines: [{ productId: 1 }] }),
            ),
          );
          const data = buildSimulatorData({ carts });
          // Carts at the window's start an earlier run finished: read by the survey, worked by no one.
          const doneAtFrom = c.startsAtFrom ? carts.filter((cart) => cart.ModifiedDateTime === from.toISOString()).slice(0, c.done).map((cart) => String(cart.Id)) : [];
          const keepCarts = c.keep === 'all' ? 10_000 : c.keep === 'none' ? 0 : c.pageSize + Math.floor(c.keepShare * count);
          let surveyPages = 0;
          const survey = await surveyLatestCarts(
            directCartSearch(data),
            { ...window, cartIdsDoneAtFrom: doneAtFrom },
            { pageSize: c.pageSize, includeAnonymous: false, slices: c.slices, keepCarts, outOfTime: () => c.outOfTimeAfter !== undefined && surveyPages >= c.outOfTimeAfter },
            (read) => {
              surveyPages = read;
            },
          );
          const end = survey.end?.getTime() ?? to.getTime();
          const inWindow = (cart: (typeof carts)[number]) => Date.parse(String(cart.ModifiedDateTime)) <= end && !doneAtFrom.includes(String(cart.Id));
          const expected = carts.filter(inWindow).map((cart) => String(cart.Id));

          const pass = await workAsThePass(survey, data, c.pageSize);
          // Every cart of the window once (those an earlier run finished, never).
          expect([...pass.ids].sort()).toEqual([...expected].sort());

          if (!survey.onlyPage) {
            const { ranges } = survey;
            // The ranges meet exactly, from the window's start to its end (or to where the survey stopped).
            expect(ranges[0]?.from).toEqual(from);
            for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.from.getTime()).toBe(ranges[i - 1]?.before);
            if (survey.end) expect(ranges.at(-1)?.before).toBe(end + 1);
            else expect([ranges.at(-1)?.to, ranges.at(-1)?.before]).toEqual([to, undefined]);
            // A kept range holds exactly what searching it returns.
            for (const range of ranges.filter((r) => r.carts !== undefined)) {
              const searched: string[] = [];
              for await (const page of cartPages(directCartSearch(data), { ...range, pageSize: c.pageSize, includeAnonymous: false })) searched.push(...page.map((cart) => cart.key?.id ?? '?'));
              expect(idsOf(range.carts).sort()).toEqual(searched.sort());
            }
            // No two neighbouring ranges would be worked in fewer pages joined: together they hold a
            // page or more, and more than a page when both are worked from copies (a full page is one).
            const held = ranges.map((range) => expected.filter((id) => {
              const t = Date.parse(String(carts.find((cart) => cart.Id === id)?.ModifiedDateTime));
              return t >= range.from.getTime() && t < (range.before ?? Number.POSITIVE_INFINITY);
            }).length);
            for (let i = 1; i < ranges.length; i++) {
              const both = ranges[i - 1]?.carts !== undefined && ranges[i]?.carts !== undefined;
              expect((held[i - 1] as number) + (held[i] as number)).toBeGreaterThanOrEqual(both ? c.pageSize + 1 : c.pageSize);
            }
          }
          const keptAll = survey.onlyPage !== undefined || survey.ranges.every((range) => range.carts !== undefined);
          if (keptAll) {
            // What the window's instants allow: for distinct instants, ceil(carts / page size).
            const perInstant = new Map<string, number>();
            for (const cart of carts.filter(inWindow)) perInstant.set(String(cart.ModifiedDateTime), (perInstant.get(String(cart.ModifiedDateTime)) ?? 0) + 1);
            const fewest = fewestPages([...perInstant.values()], c.pageSize);
            expect(pass.pages).toBe(fewest);
            if ([...perInstant.values()].every((n) => n === 1)) expect(pass.pages).toBe(Math.ceil(expected.length / c.pageSize));
            expect(pass.searches).toBe(0);
          }
          shapes[keptAll ? 'kept' : survey.ranges.some((range) => range.carts !== undefined) ? 'partlyKept' : 'notKept']++;
          if (sizes.some((size) => size > c.pageSize)) shapes.bigTies++;
          if (survey.end) shapes.cut++;
          if (doneAtFrom.length > 0) shapes.done++;
        },
      ),
      // Seeded like the repository's other properties; RANGE_PAGES_SEED and RANGE_PAGES_RUNS try others.
      { seed: Number(process.env.RANGE_PAGES_SEED ?? 20261207), numRuns: Number(process.env.RANGE_PAGES_RUNS ?? 400) },
    );
    // The runs reached every kind of window.
    for (const [shape, runs] of Object.entries(shapes)) expect([shape, runs > 10]).toEqual([shape, true]);
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
    [200, 2],
    [300, 3],
    [800, 8],
  ])('%i carts at PageSize 100 are worked in %i page(s), one customer lookup and one Emarsys trigger each', async (carts, pages) => {
    h = await startHarness({ now: NOW, data: windowOf(carts) });
    const report = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '40' });
    expect(report.carts.notified).toBe(carts);
    expect(report.pages).toBe(pages);
    expect(h.retail.requests.filter((r) => r.endpoint === 'customers')).toHaveLength(pages);
    expect(h.emarsys.requests.filter((r) => r.kind === 'trigger')).toHaveLength(pages);
  });
});
