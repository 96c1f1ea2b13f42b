import { cartKeySchema } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';

export interface RawCart {
  raw: unknown;
  /** Id and ModifiedDateTime when they parse; a record without them cannot be placed in order. */
  key: { id: string; modifiedAt: Date } | undefined;
}

export interface CartPageQuery {
  from: Date;
  to: Date;
  pageSize: number;
  includeAnonymous: boolean;
  /** Carts at exactly `from` that were finished before this pass began. */
  cartIdsDoneAtFrom: readonly string[];
}

/** A bound that no real window reaches, so a server that never ends a page cannot loop us forever. */
const MAX_PAGES = 1_000_000;

function keyOf(raw: unknown): RawCart['key'] {
  const parsed = cartKeySchema.safeParse(raw);
  return parsed.success ? { id: parsed.data.Id, modifiedAt: parsed.data.ModifiedDateTime } : undefined;
}

/**
 * Reads the window oldest first with keyset paging: each request starts at the last page's
 * newest timestamp and drops the carts already seen at exactly that timestamp. Unlike $skip
 * paging, a cart modified during the run (which moves past `to`) shifts nothing, so no cart is
 * missed or read twice. Only when a whole page shares one timestamp does it fall back to $skip
 * within that timestamp. Yields one page at a time; memory stays bounded by the page size.
 */
export async function* cartPages(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery): AsyncGenerator<RawCart[]> {
  let from = query.from;
  let seenAtFrom = new Set(query.cartIdsDoneAtFrom);
  let skip = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const records = await retail.searchCarts({ from, to: query.to, includeAnonymous: query.includeAnonymous, top: query.pageSize, skip });
    const carts = records.map((raw) => ({ raw, key: keyOf(raw) }));
    const fresh = carts.filter(
      ({ key }) => !key || key.modifiedAt.getTime() > from.getTime() || (key.modifiedAt.getTime() === from.getTime() && !seenAtFrom.has(key.id)),
    );
    if (fresh.length > 0) yield fresh;
    if (records.length < query.pageSize) return;

    const newest = carts.reduce((max, { key }) => (key && key.modifiedAt.getTime() > max ? key.modifiedAt.getTime() : max), from.getTime());
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
