import fc from 'fast-check';
import { cartPages } from '../../src/job/cart-pages';
import { surveyLatestCarts } from '../../src/job/survey';
import type { CartSearchQuery, RetailServerClient } from '../../src/retail/retail-client';
import { RemoteServiceError } from '../../src/shared/errors';
import { buildSimulatorData, cartRecord } from '../../src/simulators/retail-server';
import { directCartSearch } from '../support/direct-cart-search';

/**
 * The keyset paging around carts Retail Server cannot load, without HTTP: the simulator's own
 * search, failing (HTTP 500) any page that would hold one of the unreadable carts. Whatever the
 * ties and page size, a range is read with every readable cart once and each unreadable cart
 * counted once, and the survey's ranges, read all at once, together do the same.
 */

const from = new Date('2026-11-23T00:00:00Z');
const to = new Date('2026-11-23T04:00:00Z');
const id = (i: number) => `cart-${String(i).padStart(2, '0')}`;

/**
 * The simulator's search over carts at these minutes, failing (HTTP 500) any page that would hold
 * one of `unreadable`; `extra` may fail a request first. The data is returned too, so that a test
 * can change a cart between pages.
 */
function changeable(minutes: readonly number[], unreadable: ReadonlySet<string>, extra?: (query: CartSearchQuery) => RemoteServiceError | undefined) {
  const data = buildSimulatorData({
    carts: minutes.map((minute, i) =>
      cartRecord({ id: id(i), customerId: `C${i}`, modifiedDateTime: new Date(from.getTime() + minute * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
  const direct = directCartSearch(data);
  const retail = {
    async searchCarts(query: CartSearchQuery): Promise<unknown[]> {
      const injected = extra?.(query);
      if (injected) throw injected;
      const records = (await direct.searchCarts(query)) as { Id: string }[];
      if (records.some((record) => unreadable.has(record.Id))) {
        throw new RemoteServiceError('POST Carts/Search failed with HTTP 500.', { service: 'RetailServer', operation: 'POST Carts/Search', statusCode: 500, retryable: true });
      }
      return records;
    },
  };
  return { retail, data };
}

/** A cart's customer changes it: it moves past the window, as any cart changed now does. */
function moveOut(data: ReturnType<typeof buildSimulatorData>, cartId: string): void {
  const cart = data.carts.find((record) => record.Id === cartId) as { ModifiedDateTime: string };
  cart.ModifiedDateTime = new Date(to.getTime() + 3_600_000).toISOString();
}

/** Ids read in order; an unreadable cart as '!'. */
async function readAll(retail: Pick<RetailServerClient, 'searchCarts'>, range: { from: Date; to: Date; before?: number | undefined; cartIdsDoneAtFrom: readonly string[] }, pageSize: number) {
  const ids: string[] = [];
  for await (const page of cartPages(retail, { ...range, pageSize, includeAnonymous: false })) ids.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
  return ids;
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
          pageSize: fc.integer({ min: 1, max: 6 }),
          slices: fc.integer({ min: 1, max: 4 }),
        }),
      ),
      async ({ gaps, unreadable, pageSize, slices }) => {
        let minute = 0;
        const minutes = gaps.map((gap) => (minute += gap));
        // Never two in a row (a pair with nothing read before it on its page fails the page, by design).
        const bad = new Set(unreadable.filter((i) => !unreadable.includes(i - 1)).map(id));
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
