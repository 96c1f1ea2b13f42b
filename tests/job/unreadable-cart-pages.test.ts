import fc from 'fast-check';
import { cartPages } from '../../src/job/cart-pages';
import type { CartSearchQuery } from '../../src/retail/retail-client';
import { surveyLatestCarts } from '../../src/job/survey';
import { RemoteServiceError } from '../../src/shared/errors';
import { buildSimulatorData, cartRecord } from '../../src/simulators/retail-server';
import { at, changeable, from, http500, id, readAll, to, unreadableIds } from '../support/unreadable-paging';

/**
 * The keyset paging around carts Retail Server cannot load, without HTTP: the simulator's own
 * search, failing (HTTP 500) any page that would hold one of the unreadable carts. Whatever the
 * ties and page size, a range is read with every readable cart once and each unreadable cart
 * counted once, and the survey's ranges, read all at once, together do the same.
 */

/** A cart's customer changes it: it moves past the window, as any cart changed now does. */
function moveOut(data: ReturnType<typeof buildSimulatorData>, cartId: string): void {
  const cart = data.carts.find((record) => record.Id === cartId) as { ModifiedDateTime: string };
  cart.ModifiedDateTime = new Date(to.getTime() + 3_600_000).toISOString();
}

describe('cart pages past a cart Retail Server cannot load', () => {
  test('the first of a run of carts at one instant, with a page of them after it: read past once, not met again', async () => {
    // cart-01 is first at minute 10, and more than a page of carts share that minute after it.
    const { retail } = changeable([0, 10, 10, 10, 10, 10, 20], new Set([id(1)]));
    const ids = await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, 2);
    expect(ids).toEqual([id(0), '!', id(2), id(3), id(4), id(5), id(6)]);
  });

  test('the unreadable cart shows where it sits in its message', async () => {
    const { retail } = changeable([0, 10, 20], new Set([id(1)]));
    const pages = [];
    for await (const page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 5, includeAnonymous: false })) pages.push(...page);
    expect(pages.find((cart) => cart.unreadable)?.unreadable).toBe(
      'Retail Server fails every cart search that includes one cart modified between 2026-11-23T00:00:00.000Z and 2026-11-23T00:20:00.000Z, so it was not read: POST Carts/Search failed with HTTP 500.',
    );
  });

  test('a cart changed during the read at an earlier instant than the last read before the unreadable one shifts nothing', async () => {
    const { retail, data } = changeable([0, 10, 20, 30, 40, 50, 60], new Set([id(2)]));
    const read: string[] = [];
    let pages = 0;
    for await (const page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 4, includeAnonymous: false })) {
      read.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
      // After the first page ([00, 01] and the unreadable cart), cart-00 changes: it leaves the range.
      if (pages++ === 0) moveOut(data, id(0));
    }
    expect(read).toEqual([id(0), id(1), '!', id(3), id(4), id(5), id(6)]);
  });

  test('a cart changed during the read at the instant $skip counts from: the read fails rather than miss the cart after the unreadable one', async () => {
    const { retail, data } = changeable([0, 10, 20, 30, 40, 50, 60], new Set([id(2)]));
    const read = async () => {
      let pages = 0;
      for await (const _page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 4, includeAnonymous: false })) {
        // $skip now counts from cart-01's instant; cart-01 changes and leaves the range.
        if (pages++ === 0) moveOut(data, id(1));
      }
    };
    await expect(read()).rejects.toThrow(/changed while the run read past a cart Retail Server cannot load/);
  });

  test('a cart changed during the $skip steps past an unreadable cart, through a run at one instant: the read fails rather than step over a cart', async () => {
    // cart-01 unreadable; cart-02..06 share minute 20. Pages of 2: [00] + '!', then from minute 0
    // with $skip: [02, 03], [04, 05], ... After [02, 03], cart-00 changes and leaves the range:
    // every position moves up one, and the next step would land on [05, 06], stepping over cart-04.
    const { retail, data } = changeable([0, 10, 20, 20, 20, 20, 20, 30], new Set([id(1)]));
    const read: string[] = [];
    const pages = async () => {
      for await (const page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 2, includeAnonymous: false })) {
        read.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
        if (read.includes(id(3)) && !read.includes(id(4))) moveOut(data, id(0));
      }
    };
    await expect(pages()).rejects.toThrow(/changed while the run read past a cart Retail Server cannot load/);
    expect(read).toEqual([id(0), '!', id(2), id(3)]);
  });

  test('the $skip steps past an unreadable cart through a run at one instant, nothing changed: each step checks its place with one search of one cart', async () => {
    const { retail, searches } = changeable([0, 10, 20, 20, 20, 20, 20, 30], new Set([id(1)]));
    const before = searches.length;
    expect(await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, 2)).toEqual([id(0), '!', id(2), id(3), id(4), id(5), id(6), id(7)]);
    // The checks: one cart at the last position read, from where $skip counts (minute 0).
    const checks = searches.slice(before).filter((query) => query.top === 1 && query.narrowing && query.from.getTime() === from.getTime() && query.skip > 0);
    expect(checks.map((query) => query.skip)).toEqual(expect.arrayContaining([3, 5]));
  });

  test('a run of unreadable carts, with a readable cart before them changed between pages: the read fails rather than step over one of them', async () => {
    // cart-02..05 unreadable, pages of 3: [00, 01] + '!'; the next page can only check that it starts
    // with an unreadable cart. cart-01 (where $skip counts from) changes: every position moves up one,
    // so that page would start at cart-04 and cart-03 would never be counted.
    const { retail, data } = changeable([0, 10, 20, 30, 40, 50, 60], new Set([id(2), id(3), id(4), id(5)]));
    const read: string[] = [];
    const pages = async () => {
      for await (const page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 3, includeAnonymous: false, horizon: to })) {
        read.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
        if (read.length === 3) moveOut(data, id(1));
      }
    };
    await expect(pages()).rejects.toThrow(/changed while the run read past a cart Retail Server cannot load/);
    // Unchanged, the same read counts all four.
    const { retail: calm } = changeable([0, 10, 20, 30, 40, 50, 60], new Set([id(2), id(3), id(4), id(5)]));
    expect(await readAll(calm, { from, to, cartIdsDoneAtFrom: [] }, 3)).toEqual([id(0), id(1), '!', '!', '!', '!', id(6)]);
  });

  test('an unreadable cart where two ranges meet: when the search that tells whose it is fails otherwise (throttled), the read fails, it does not count the cart twice', async () => {
    const boundary = from.getTime() + 20 * 60_000;
    const { retail } = changeable([0, 10, 20, 30], new Set([id(2)]), (query) =>
      query.to.getTime() === boundary - 1 ? new RemoteServiceError('POST Carts/Search failed with HTTP 429.', { service: 'RetailServer', operation: 'POST Carts/Search', statusCode: 429, retryable: true }) : undefined,
    );
    await expect(readAll(retail, { from, to: new Date(boundary), before: boundary, cartIdsDoneAtFrom: [] }, 4)).rejects.toThrow('HTTP 429');
    // Without the fault, the first range leaves it to the second, which counts it.
    const { retail: calm } = changeable([0, 10, 20, 30], new Set([id(2)]));
    expect(await readAll(calm, { from, to: new Date(boundary), before: boundary, cartIdsDoneAtFrom: [] }, 4)).toEqual([id(0), id(1)]);
    expect(await readAll(calm, { from: new Date(boundary), to, cartIdsDoneAtFrom: [] }, 4)).toEqual(['!', id(3)]);
  });

  test('random ties, unreadable carts and page sizes: one range and the survey ranges each read every cart once', async () => {
    const property = fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }).chain((count) =>
        fc.record({
          gaps: fc.array(fc.constantFrom(0, 0, 0, 1, 7), { minLength: count, maxLength: count }),
          unreadable: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 5 }),
          run: fc.record({ start: fc.integer({ min: 0, max: count - 1 }), length: fc.integer({ min: 0, max: 3 }) }),
          pageSize: fc.integer({ min: 1, max: 6 }),
          slices: fc.integer({ min: 1, max: 4 }),
        }),
      ),
      async ({ gaps, unreadable, run, pageSize, slices }) => {
        let minute = 0;
        const minutes = gaps.map((gap) => (minute += gap));
        // Runs of them side by side too, each with a readable cart somewhere after it.
        const bad = unreadableIds(gaps.length, unreadable, run);
        const expected = minutes.map((_, i) => (bad.has(id(i)) ? '!' : id(i)));
        const sorted = (ids: string[]) => [...ids].sort();

        const { retail } = changeable(minutes, bad);
        expect(sorted(await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, pageSize))).toEqual(sorted(expected));

        const survey = await surveyLatestCarts(retail, { from, to, source: 'include-minutes', cartIdsDoneAtFrom: [] }, { pageSize, includeAnonymous: false, slices, keepCarts: 0 }, async () => undefined);
        const perRange = await Promise.all(survey.ranges.map((range) => readAll(retail, range, pageSize)));
        expect(sorted(perRange.flat())).toEqual(sorted(expected));
      },
    );
    await fc.assert(property, { seed: Number(process.env.UNREADABLE_PAGES_SEED ?? 7), numRuns: Number(process.env.UNREADABLE_PAGES_RUNS ?? 300) });
  });
});

describe('brief failures of the searches past an unreadable cart are no verdict on where it lies', () => {
  test('a whole page at one later instant past an unreadable cart, with a brief 500 from there: no cart skipped', async () => {
    // cart-01 unreadable. Pages of 2: [00] + '!' (after: cart-02), then from minute 0 $skip 2:
    // [02, 03], both at minute 20 (> from): one search from 20 for one cart tells whether cart-01 is first there.
    let failures = 1;
    const { retail } = changeable([0, 10, 20, 20, 20, 30], new Set([id(1)]), (query) =>
      query.from.getTime() === at(20).getTime() && query.top === 1 && query.skip === 0 && query.narrowing && failures-- > 0 ? http500() : undefined,
    );
    expect(await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, 2)).toEqual([id(0), '!', id(2), id(3), id(4), id(5)]);
  });

  test('a second unreadable cart past the first, with a brief 500 at the newer instant: both counted, no cart skipped', async () => {
    // cart-01 and cart-03 unreadable. [00] + '!' (after 02); from 0 $skip 2: [02, 03!] narrowed to
    // [02] + '!' (after 04): past an unreadable cart, newest (20) != from (0), so one search from 20 asks
    // whether cart-01 is first there: a brief 500 must not be taken for a yes.
    let failures = 1;
    const { retail } = changeable([0, 10, 20, 30, 40, 50], new Set([id(1), id(3)]), (query) =>
      query.from.getTime() === at(20).getTime() && query.top === 1 && query.skip === 0 && query.narrowing && failures-- > 0 ? http500() : undefined,
    );
    expect(await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, 2)).toEqual([id(0), '!', id(2), '!', id(4), id(5)]);
  });

  test('an unreadable cart where two ranges meet: a brief 500 of the search that tells whose it is does not count it twice', async () => {
    // cart-02 sits at the boundary (minute 20): it belongs to the second range.
    const boundary = at(20).getTime();
    let failures = 1;
    const { retail } = changeable([0, 10, 20, 30], new Set([id(2)]), (query) => (query.to.getTime() === boundary - 1 && failures-- > 0 ? http500() : undefined));
    const first = await readAll(retail, { from, to: new Date(boundary), before: boundary, cartIdsDoneAtFrom: [] }, 4);
    const second = await readAll(retail, { from: new Date(boundary), to, cartIdsDoneAtFrom: [] }, 4);
    expect([...first, ...second].filter((cart) => cart === '!')).toHaveLength(1);
  });
});

/** A record whose Id is null (hostile data): it cannot be worked, but it holds a position in the search's order. */
const keyless = (minute: number) => cartRecord({ id: 'keyless', customerId: 'CK', modifiedDateTime: at(minute).toISOString(), lines: [{ productId: 1 }], overrides: { Id: null } });

describe('a record without a usable id, with a time, right before an unreadable cart', () => {
  test.each([
    // newest == from: the page's keyed carts all sit at the range's start
    ['newest is the cursor\'s from', [0, 20, 30], 4],
    // newest > from
    ['newest is later than the cursor\'s from', [0, 3, 20, 30], 5],
  ] as const)('%s: the range is read (that record once, the unreadable cart once)', async (_label, minutes, pageSize) => {
    const poison = id(minutes.length - 2); // the cart at minute 20, right after the keyless one at minute 5
    const { retail: control } = changeable(minutes, new Set(), undefined, [keyless(5)]);
    const readable = await readAll(control, { from, to, cartIdsDoneAtFrom: [] }, pageSize);
    // Without the unreadable cart the same data reads fine (the keyless record as '?').
    expect(readable).toEqual([...minutes.slice(0, -2).map((_, i) => id(i)), '?', poison, id(minutes.length - 1)]);

    const { retail } = changeable(minutes, new Set([poison]), undefined, [keyless(5)]);
    await expect(readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, pageSize)).resolves.toEqual(readable.map((cart) => (cart === poison ? '!' : cart)));
  });

  test('the record found right after an unreadable cart has no id and comes back with its lines in another order: nothing changed, the read completes', async () => {
    // cart-01 unreadable, a record with Id true at minute 20 right after it, cart-02 at 30. Pages of 2.
    const odd = cartRecord({ id: 'k0', customerId: 'CK', modifiedDateTime: at(20).toISOString(), lines: [{ productId: 1 }, { productId: 2 }], overrides: { Id: true } });
    const { retail } = changeable([0, 10, 30], new Set([id(1)]), undefined, [odd]);
    let answers = 0;
    const reordering = {
      async searchCarts(query: CartSearchQuery) {
        const records = (await retail.searchCarts(query)) as { Id: unknown; CartLines: unknown[] }[];
        return records.map((r) => (r.Id === true && answers++ % 2 === 1 ? { ...r, CartLines: [...r.CartLines].reverse() } : r));
      },
    };
    expect(await readAll(reordering, { from, to, cartIdsDoneAtFrom: [] }, 2)).toEqual([id(0), '!', '?', id(2)]);
  });

  test('a readable cart read before an unreadable one changes once only a record without an id was read past it: the read fails rather than step over a cart', async () => {
    // cart-00..02 at minute 0 (cart-02 unreadable), a record with Id null and cart-03 at minute 1.
    // Pages of 1: [00], [01], '!', ['?']; then cart-00 changes and every position moves up one.
    const odd = cartRecord({ id: 'k0', customerId: 'CK', modifiedDateTime: at(1).toISOString(), lines: [{ productId: 1 }], overrides: { Id: null } });
    const { retail, data } = changeable([0, 0, 0, 1], new Set([id(2)]), undefined, [odd]);
    const read: string[] = [];
    const pages = async () => {
      for await (const page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 1, includeAnonymous: false, horizon: to })) {
        read.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
        if (read.length === 4) moveOut(data, id(0));
      }
    };
    await expect(pages()).rejects.toThrow(/changed while the run read past a cart Retail Server cannot load/);
  });

  test('a $skip step past an unreadable cart ending with a record without an id whose lines come back in another order: nothing changed, the read completes', async () => {
    // cart-01 unreadable; cart-02 and a record whose Id is not a string share minute 20. Retail
    // Server gives a cart's lines no order: the same record may come back with them reordered.
    const odd = cartRecord({ id: 'k0', customerId: 'CK', modifiedDateTime: at(20).toISOString(), lines: [{ productId: 1 }, { productId: 2 }], overrides: { Id: true } });
    const { retail } = changeable([0, 10, 20, 30], new Set([id(1)]), undefined, [odd]);
    let answers = 0;
    const reordering = {
      async searchCarts(query: CartSearchQuery) {
        const records = (await retail.searchCarts(query)) as { Id: unknown; CartLines: unknown[] }[];
        return records.map((r) => (r.Id === true && answers++ % 2 === 1 ? { ...r, CartLines: [...r.CartLines].reverse() } : r));
      },
    };
    expect((await readAll(reordering, { from, to, cartIdsDoneAtFrom: [] }, 2)).sort()).toEqual([id(0), '!', id(2), '?', id(3)].sort());
  });
});

/**
 * The paging property above, extended: carts done at the
 * window's start (`cartIdsDoneAtFrom`, as from a checkpoint), and the window cut into several
 * ranges that meet at arbitrary instants (`before`, as the survey's slices and cuts do), a cut
 * often on an unreadable cart's own instant. Every readable cart not done must be read once and
 * every unreadable cart counted once, over all ranges together.
 */
describe('paging property with carts done at the start and several ranges', () => {
  test('random ties, unreadable carts, done carts and range cuts', async () => {
    const property = fc.asyncProperty(
      fc.integer({ min: 1, max: 30 }).chain((count) =>
        fc.record({
          gaps: fc.array(fc.constantFrom(0, 0, 0, 1, 7), { minLength: count, maxLength: count }),
          unreadable: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 5 }),
          run: fc.record({ start: fc.integer({ min: 0, max: count - 1 }), length: fc.integer({ min: 0, max: 3 }) }),
          done: fc.integer({ min: 0, max: count }),
          cuts: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 4 }),
          pageSize: fc.integer({ min: 1, max: 6 }),
        }),
      ),
      async ({ gaps, unreadable, run, done, cuts, pageSize }) => {
        let minute = 0;
        const minutes = gaps.map((gap) => (minute += gap));
        // Runs of them side by side too, each with a readable cart somewhere after it.
        const bad = unreadableIds(gaps.length, unreadable, run);
        const first = minutes[0] as number;
        // Done at the window's start: the first `done` readable carts at its first instant.
        const doneIds = minutes
          .map((m, i) => ({ m, cart: id(i) }))
          .filter(({ m, cart }) => m === first && !bad.has(cart))
          .slice(0, done)
          .map(({ cart }) => cart);
        // Cuts on a cart's instant, or half a minute after it.
        const boundaries = [...new Set(cuts.map((i) => (minutes[i] as number) + (i % 3 === 2 ? 0.5 : 0)).filter((m) => m > first))].sort((a, b) => a - b);
        const starts = [first, ...boundaries];
        const ranges = starts.map((start, i) => {
          const end = starts[i + 1];
          return {
            from: at(start),
            to: end === undefined ? to : at(end),
            before: end === undefined ? undefined : at(end).getTime(),
            cartIdsDoneAtFrom: i === 0 ? doneIds : [],
          };
        });
        const expected = minutes.map((_, i) => (bad.has(id(i)) ? '!' : id(i))).filter((cart) => !doneIds.includes(cart));
        const sorted = (ids: string[]) => [...ids].sort();
        const { retail } = changeable(minutes, bad);
        const perRange = await Promise.all(ranges.map((range) => readAll(retail, range, pageSize)));
        expect(sorted(perRange.flat())).toEqual(sorted(expected));
        // One range over the whole window, with the done carts, too.
        expect(sorted(await readAll(retail, { from: at(first), to, cartIdsDoneAtFrom: doneIds }, pageSize))).toEqual(sorted(expected));
      },
    );
    await fc.assert(property, { seed: Number(process.env.UNREADABLE_PAGES_SEED ?? 11), numRuns: Number(process.env.UNREADABLE_PAGES_RUNS ?? 300) });
  });
});
