import { cartKeySchema, cartTimeSchema, parseCart, type Cart, type ParseResult } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';

export interface RawCart {
  raw: unknown;
  /** Id and ModifiedDateTime when they parse; a record without them cannot be placed in order. */
  key: { id: string; modifiedAt: Date } | undefined;
}

/** A cart record parsed: what the processing pass works (the record itself is not kept). */
export interface PageCart {
  key: RawCart['key'];
  /** The cart, or why its record does not parse. */
  cart: ParseResult<Cart>;
}

/**
 * Parses a page's records, taking them out of `page` (left empty): the search generator and the
 * loop working a page hold it across every await of the page (V8 keeps a suspended function's
 * variables, used again or not), so this is what lets the JSON Retail Server sent be collected
 * as soon as it is parsed, young. A real Commerce cart carries far more than the fields read.
 */
export function takeParsed(page: RawCart[]): PageCart[] {
  return page.splice(0).map(({ raw, key }) => ({ key, cart: parseCart(raw) }));
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
  /** Of the searches, when Retail Server requests wait for MaxConcurrency: lower goes first. */
  priority?: number | undefined;
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
  let cursor: PageCursor | undefined = firstCursor(query);
  for (let page = 0; cursor && page < MAX_PAGES; page++) {
    // Only the page's fresh carts cross the yield: the answer as a whole is dropped, so a page
    // being worked holds no more of it than the worker keeps.
    const read: PageRead = await readCartPage(retail, query, cursor);
    cursor = read.next;
    if (read.fresh.length > 0) yield read.fresh;
  }
}

/** Where a keyset page starts. */
export interface PageCursor {
  from: Date;
  /** Carts at exactly `from` already read. */
  seenAtFrom: Set<string>;
  /** Non-zero only inside a run of more carts at `from` than a page holds. */
  skip: number;
  /** The range's pages before this one ended at `from`: what they read there is not read again. */
  continued?: boolean | undefined;
}

export interface PageRead {
  fresh: RawCart[];
  /** Where the next page starts; undefined when the range has been read to its end. */
  next: PageCursor | undefined;
}

export function firstCursor(range: TimeRange): PageCursor {
  return { from: range.from, seenAtFrom: new Set(range.cartIdsDoneAtFrom), skip: 0 };
}

/** One keyset page of the range from `cursor`: its carts not read before, and where the next page starts. */
export async function readCartPage(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, { from, seenAtFrom, skip, continued }: PageCursor): Promise<PageRead> {
  const records = await retail.searchCarts({ from, to: query.to, includeAnonymous: query.includeAnonymous, top: query.pageSize, skip, priority: query.priority });
  const carts = records.map((raw) => ({ raw, key: keyOf(raw) }));
  const before = query.before ?? Number.POSITIVE_INFINITY;
  const to = query.to.getTime();
  const start = from.getTime();
  // A cart past `to` was not asked for (a later run's window holds it): it is neither worked nor
  // followed, so that a stray record cannot move the keyset cursor or the checkpoint past the window.
  const inWindow = (t: number) => t < before && t <= to;
  const fresh = carts.filter(({ raw, key }) => {
    if (key) {
      const t = key.modifiedAt.getTime();
      return inWindow(t) && (t > start || (t === start && !seenAtFrom.has(key.id)));
    }
    // A record without a usable Id is placed by its time when it has one, so that the page before
    // and the next range, which read it too, do not count it again; at the instant a continued
    // page starts from, the page before read it (unless $skip stepped past what that one read).
    const time = cartTimeSchema.safeParse(raw);
    if (!time.success) return true;
    const t = time.data.getTime();
    return inWindow(t) && (t > start || (t === start && (!continued || skip > 0)));
  });
  const newest = carts.reduce((max, { key }) => (key && key.modifiedAt.getTime() > max && key.modifiedAt.getTime() <= to ? key.modifiedAt.getTime() : max), start);
  // Oldest first: once a page reaches `before`, every cart of this range has been seen.
  if (records.length < query.pageSize || newest >= before) return { fresh, next: undefined };
  if (newest > start) {
    const idsAtNewest = carts.filter(({ key }) => key?.modifiedAt.getTime() === newest).map(({ key }) => (key as { id: string }).id);
    return { fresh, next: { from: new Date(newest), seenAtFrom: new Set(idsAtNewest), skip: 0, continued: true } };
  }
  // The whole page sits at one timestamp: step over it with $skip, still dropping known ids.
  for (const { key } of carts) if (key) seenAtFrom.add(key.id);
  return { fresh, next: { from, seenAtFrom, skip: skip + records.length, continued: true } };
}
