import type { CartSearchQuery } from '../../src/retail/retail-client';
import type { SimulatorData } from '../../src/simulators/retail-server';
import { searchCarts } from '../../src/simulators/retail-server/queries';

/**
 * The simulator's own cart search over `data`, called directly: the job's paging without HTTP.
 * With `shuffleTies`, carts that share a ModifiedDateTime come back in a different order on every
 * request, as `$orderby=ModifiedDateTime` alone allows a real server to do.
 */
export function directCartSearch(data: SimulatorData, shuffleTies?: () => number) {
  const searches: CartSearchQuery[] = [];
  return {
    searches,
    async searchCarts(query: CartSearchQuery): Promise<unknown[]> {
      searches.push(query);
      const outcome = searchCarts(
        data,
        {
          cartSearchCriteria: {
            CartTypeValue: 1,
            LastModifiedDateTimeFrom: query.from.toISOString(),
            LastModifiedDateTimeTo: query.to.toISOString(),
            IncludeAnonymous: query.includeAnonymous,
          },
        },
        { top: shuffleTies ? undefined : query.top, skip: shuffleTies ? 0 : query.skip, orderBy: 'ModifiedDateTime' },
      );
      if (!outcome.ok) throw new Error(outcome.message);
      const body = 'json' in outcome ? (JSON.parse(outcome.json) as unknown) : outcome.body;
      let records = (body as { value: { ModifiedDateTime: string }[] }).value;
      if (shuffleTies) {
        const keyed = records.map((record) => ({ record, at: Date.parse(record.ModifiedDateTime), r: shuffleTies() }));
        records = keyed.sort((a, b) => a.at - b.at || a.r - b.r).map(({ record }) => record).slice(query.skip, query.skip + query.top);
      }
      return records;
    },
  };
}
