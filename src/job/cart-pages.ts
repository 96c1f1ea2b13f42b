import { cartKeySchema, cartTimeSchema, parseCart, type Cart, type ParseResult } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import { retailCallTimeLeft } from '../retail/retail-transport';
import { searchPastUnreadableCart, type UnreadableCart } from '../retail/unreadable-cart';

export interface RawCart {
  raw: unknown;
  /** Id and ModifiedDateTime when they parse; a record without them cannot be placed in order. */
  key: { id: string; modifiedAt: Date } | undefined;
  /** Set for a cart Retail Server could not load (no record): where it sits and what Retail Server said. */
  unreadable?: string | undefined;
}

/** A cart record parsed: what the processing pass works (the record itself is not kept). */
export interface PageCart {
  key: RawCart['key'];
  /** The cart, or why its record does not parse (or, for an unreadable cart, why there is none). */
  cart: ParseResult<Cart>;
  /** A cart Retail Server failed every search for: skipped as `unreadable-record`, not `invalid-record`. */
  unreadable?: true | undefined;
}

/**
 * Parses a page's records, taking them out of `page` (left empty): the search generator and the
 * loop working a page hold it across every await of the page (V8 keeps a suspended function's
 * variables, used again or not), so this is what lets the JSON Retail Server sent be collected
 * as soon as it is parsed, young. A real Commerce cart carries far more than the fields read.
 */
export function takeParsed(page: RawCart[]): PageCart[] {
  return page
    .splice(0)
    .map(({ raw, key, unreadable }): PageCart => (unreadable === undefined ? { key, cart: parseCart(raw) } : { key, cart: { ok: false, reason: unreadable }, unreadable: true }));
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
  /** Non-zero only inside a run of more carts at `from` than a page holds, or past an unreadable cart. */
  skip: number;
  /** The range's pages before this one ended at `from`: what they read there is not read again. */
  continued?: boolean | undefined;
  /**
   * The page before ended at a cart Retail Server could not load, whose instant is not known: it
   * may share the next page's first instant, so keyset paging resumes only past that instant
   * (a search from it would meet the cart again); until then `$skip` steps on from `from`.
   */
  pastUnreadable?: boolean | undefined;
}

export interface PageRead {
  fresh: RawCart[];
  /** Where the next page starts; undefined when the range has been read to its end. */
  next: PageCursor | undefined;
}

export function firstCursor(range: TimeRange): PageCursor {
  return { from: range.from, seenAtFrom: new Set(range.cartIdsDoneAtFrom), skip: 0 };
}

/** A window no cart is in: searching it tells an outage from a cart Retail Server cannot load. */
const EMPTY_WINDOW = new Date(0);

/** One keyset page of the range from `cursor`: its carts not read before, and where the next page starts. */
export async function readCartPage(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, cursor: PageCursor): Promise<PageRead> {
  const { from, seenAtFrom, skip, continued } = cursor;
  const { includeAnonymous, priority } = query;
  const search = (offset: number, top: number, narrowing: boolean) =>
    retail.searchCarts({ from, to: query.to, includeAnonymous, top, skip: skip + offset, priority, narrowing });
  const found = await searchPastUnreadableCart(query.pageSize, {
    search,
    probe: () => retail.searchCarts({ from: EMPTY_WINDOW, to: EMPTY_WINDOW, includeAnonymous, top: 1, skip: 0, priority, narrowing: true }),
    outOfTime: () => (retailCallTimeLeft() ?? Number.POSITIVE_INFINITY) <= 0,
  });
  const records = found.records;
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
    const time = timeOf(raw);
    if (time === undefined) return true;
    return inWindow(time) && (time > start || (time === start && (!continued || skip > 0)));
  });
  const newest = carts.reduce((max, { key }) => (key && key.modifiedAt.getTime() > max && key.modifiedAt.getTime() <= to ? key.modifiedAt.getTime() : max), start);
  if (found.unreadable) return pastUnreadableCart(retail, query, cursor, fresh, newest, found.unreadable);
  // Oldest first: once a page reaches `before`, every cart of this range has been seen.
  if (records.length < query.pageSize || newest >= before) return { fresh, next: undefined };
  // Past an unreadable cart, a search from an instant no later than this page's first could meet it again.
  const keysetFrom = cursor.pastUnreadable ? Math.max(start, timeOf(records.find((raw) => timeOf(raw) !== undefined)) ?? newest) : start;
  if (newest > keysetFrom) {
    const idsAtNewest = carts.filter(({ key }) => key?.modifiedAt.getTime() === newest).map(({ key }) => (key as { id: string }).id);
    return { fresh, next: { from: new Date(newest), seenAtFrom: new Set(idsAtNewest), skip: 0, continued: true } };
  }
  // The whole page sits at one timestamp (or just past an unreadable cart): step over it with
  // $skip, still dropping known ids.
  for (const { key } of carts) if (key) seenAtFrom.add(key.id);
  return { fresh, next: { from, seenAtFrom, skip: skip + records.length, continued: true, pastUnreadable: cursor.pastUnreadable } };
}

function timeOf(raw: unknown): number | undefined {
  const time = cartTimeSchema.safeParse(raw);
  return time.success ? time.data.getTime() : undefined;
}

/**
 * A page that ended at a cart Retail Server could not load (`searchPastUnreadableCart`): the carts
 * before it, that cart (as `unreadable`, when it is this range's), and a cursor past it.
 */
async function pastUnreadableCart(
  retail: Pick<RetailServerClient, 'searchCarts'>,
  query: CartPageQuery,
  cursor: PageCursor,
  fresh: RawCart[],
  newest: number,
  unreadable: UnreadableCart,
): Promise<PageRead> {
  const before = query.before ?? Number.POSITIVE_INFINITY;
  const next = unreadable.after?.[0];
  const after = next === undefined ? undefined : timeOf(next);
  // It was modified no earlier than the last cart before it and no later than the one after it.
  // A range ends where the next begins (`before`): a cart at or past it is the next range's.
  if (newest >= before) return { fresh, next: undefined };
  if ((after === undefined || after >= before) && Number.isFinite(before)) {
    // Either side of `before`: a search that stops short of it fails only if the cart is before it.
    // (Any failure counts it here: at worst the next range counts it too.)
    const ours = await retail
      .searchCarts({ from: cursor.from, to: new Date(before - 1), includeAnonymous: query.includeAnonymous, top: 1, skip: cursor.skip + unreadable.index, priority: query.priority, narrowing: true })
      .then(
        () => false,
        () => true,
      );
    if (!ours) return { fresh, next: undefined };
  }
  const between =
    after !== undefined ? `between ${new Date(newest).toISOString()} and ${new Date(after).toISOString()}` : `at or after ${new Date(newest).toISOString()}`;
  const marker: RawCart = {
    raw: undefined,
    key: undefined,
    unreadable: `Retail Server fails every cart search that includes one cart modified ${between}, so it was not read: ${unreadable.reason}`,
  };
  // The range ends with it when the search after it found nothing.
  const ended = unreadable.after !== undefined && unreadable.after.length === 0;
  return {
    fresh: [...fresh, marker],
    next: ended ? undefined : { from: cursor.from, seenAtFrom: cursor.seenAtFrom, skip: cursor.skip + unreadable.index + 1, continued: true, pastUnreadable: true },
  };
}
