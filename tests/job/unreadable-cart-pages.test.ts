import fc from 'fast-check';
import { cartPages } from '../../src/job/cart-pages';
import { surveyLatestCarts } from '../../src/job/survey';
import type { CartSearchQuery } from '../../src/retail/retail-client';
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

function searchWithUnreadable(minutes: readonly number[], unreadable: ReadonlySet<string>) {
  const data = buildSimulatorData({
    carts: minutes.map((minute, i) =>
      cartRecord({ id: id(i), customerId: `C${i}`, modifiedDateTime: new Date(from.getTime() + minute * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
  const direct = directCartSearch(data);
  let requests = 0;
  return {
    get requests() {
      return requests;
    },
    async searchCarts(query: CartSearchQuery): Promise<unknown[]> {
      requests++;
      const records = (await direct.searchCarts(query)) as { Id: string }[];
      if (records.some((record) => unreadable.has(record.Id))) {
        throw new RemoteServiceError('POST Carts/Search failed with HTTP 500.', { service: 'RetailServer', operation: 'POST Carts/Search', statusCode: 500, retryable: true });
      }
      return records;
    },
  };
}

/** Ids read in order; an unreadable cart as '!'. */
async function readAll(retail: ReturnType<typeof searchWithUnreadable>, range: { from: Date; to: Date; before?: number | undefined; cartIdsDoneAtFrom: readonly string[] }, pageSize: number) {
  const ids: string[] = [];
  for await (const page of cartPages(retail, { ...range, pageSize, includeAnonymous: false })) ids.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
  return ids;
}

describe('cart pages past a cart Retail Server cannot load', () => {
  test('the first of a run of carts at one instant, with a page of them after it: read past once, not met again', async () => {
    // cart-01 is first at minute 10, and more than a page of carts share that minute after it.
    const retail = searchWithUnreadable([0, 10, 10, 10, 10, 10, 20], new Set([id(1)]));
    const ids = await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, 2);
    expect(ids).toEqual([id(0), '!', id(2), id(3), id(4), id(5), id(6)]);
  });

  test('the unreadable cart shows where it sits in its message', async () => {
    const retail = searchWithUnreadable([0, 10, 20], new Set([id(1)]));
    const pages = [];
    for await (const page of cartPages(retail, { from, to, cartIdsDoneAtFrom: [], pageSize: 5, includeAnonymous: false })) pages.push(...page);
    expect(pages.find((cart) => cart.unreadable)?.unreadable).toBe(
      'Retail Server fails every cart search that includes one cart modified between 2026-11-23T00:00:00.000Z and 2026-11-23T00:20:00.000Z, so it was not read: POST Carts/Search failed with HTTP 500.',
    );
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

        const retail = searchWithUnreadable(minutes, bad);
        expect(sorted(await readAll(retail, { from, to, cartIdsDoneAtFrom: [] }, pageSize))).toEqual(sorted(expected));

        const survey = await surveyLatestCarts(retail, { from, to, source: 'include-minutes', cartIdsDoneAtFrom: [] }, { pageSize, includeAnonymous: false, slices, keepCarts: 0 }, async () => undefined);
        const perRange = await Promise.all(survey.ranges.map((range) => readAll(retail, range, pageSize)));
        expect(sorted(perRange.flat())).toEqual(sorted(expected));
      },
    );
    await fc.assert(property, { seed: Number(process.env.UNREADABLE_PAGES_SEED ?? 7), numRuns: Number(process.env.UNREADABLE_PAGES_RUNS ?? 300) });
  });
});
