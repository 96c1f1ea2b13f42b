import { cartKeySchema } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';

export interface RawCart {
  raw: unknown;
  /** Id and ModifiedDateTime when they parse; a record without them cannot be placed in order. */
  key: { id: string; modifiedAt: Date } | undefined;
}

/** A stretch of the window: carts modified in [from, to], those at or after `before` excepted. */
export interface TimeRange {
  from: Date;
  /** Sent as the search's inclusive upper bound. */
  to: Date;
  /** Carts at or after this instant (ms) belong to the next range; undefined: the range keeps all up to `to`. */
  before?: number | undefined;
  /** Carts at exactly `from` that were finished before this pass began. */
  cartIdsDoneAtFrom: readonly string[];
}

export interface CartPageQuery extends TimeRange {
  pageSize: number;
  includeAnonymous: boolean;
}

/** A bound that no real window reaches, so a server that never ends a page cannot loop us forever. */
const MAX_PAGES = 1_000_000;

function keyOf(raw: unknown): RawCart['key'] {
  const parsed = cartKeySchema.safeParse(raw);
  return parsed.success ? { id: parsed.data.Id, modifiedAt: parsed.data.ModifiedDateTime } : undefined;
}

/**
 * Reads a range of the window oldest first with keyset paging: each request starts at the last page's
 * newest timestamp and drops the carts already seen at exactly that timestamp. Unlike $skip
 * paging, a cart modified during the run (which moves past `to`) shifts nothing, so no cart is
 * missed or read twice. Only when a whole page shares one timestamp does it fall back to $skip
 * within that timestamp. With `before`, carts from that instant on are left to the next range, and
 * reading stops at the first page that reaches it. Yields one page at a time; memory stays
 * bounded by the page size.
 */
export async function* cartPages(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery): AsyncGenerator<RawCart[]> {
  let from = query.from;
  let seenAtFrom = new Set(query.cartIdsDoneAtFrom);
  let skip = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const records = await retail.searchCarts({ from, to: query.to, includeAnonymous: query.includeAnonymous, top: query.pageSize, skip });
    const carts = records.map((raw) => ({ raw, key: keyOf(raw) }));
    const before = query.before ?? Number.POSITIVE_INFINITY;
    const fresh = carts.filter(({ key }) => {
      if (!key) return true;
      const t = key.modifiedAt.getTime();
      return t < before && (t > from.getTime() || (t === from.getTime() && !seenAtFrom.has(key.id)));
    });
    if (fresh.length > 0) yield fresh;
    const newest = carts.reduce((max, { key }) => (key && key.modifiedAt.getTime() > max ? key.modifiedAt.getTime() : max), from.getTime());
    // Oldest first: once a page reaches `before`, every cart of this range has been seen.
    if (records.length < query.pageSize || newest >= before) return;

    if (newest > from.getTime()) {
      from = new Date(newest);
      seenAtFrom = new Set(carts.filter(({ key }) => key?.modifiedAt.getTime() === newest).map(({ key }) => (key as { id: string }).id));
      skip = 0;
    } else {
      // The whole page sits at one timestamp: step over it with $skip, still dropping known ids.
      for (const { key } of carts) if (key) seenAtFrom.add(key.id);
      skip += records.length;
    }
  }
}
