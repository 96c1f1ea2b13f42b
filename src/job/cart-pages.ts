import { parseCart, type Cart, type ParseResult } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import { isCartFailure, searchPastUnreadableCart } from '../retail/unreadable-cart';
import { keyOf, lastPlaced, sameCartRecord, timeOf, type CartKey, type Placed } from './cart-keys';
import { pastUnreadableCart, shifted } from './past-unreadable-cart';
import { callTimeIsUp } from '../shared/call-budget';

export interface RawCart {
  raw: unknown;
  /** Id and ModifiedDateTime when they parse; a record without them cannot be placed in order. */
  key: CartKey | undefined;
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
  /**
   * The end of the window this run works: how far past `to` a search may look for any cart Retail
   * Server answers, to tell carts it cannot load, side by side at a range's end, from a search that
   * fails for every cart.
   */
  horizon?: Date | undefined;
}

/** A bound that no real window reaches, so a server that never ends a page cannot loop us forever. */
const MAX_PAGES = 1_000_000;

/**
 * Called before each search of a range's chain with the searches made so far. Reaching the bound
 * fails the read, never ends it quietly: the run would take the range as read and move the
 * checkpoint past carts it never saw.
 */
export function checkPageBound(searches: number): void {
  if (searches >= MAX_PAGES) throw new Error(`Retail Server's cart search gave ${MAX_PAGES} pages for one range of the window without reaching its end; the run stops there.`);
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
  for (let page = 0; cursor; page++) {
    checkPageBound(page);
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
  /**
   * Positions at exactly `from` already read (a cart Retail Server could not load counts): non-zero
   * only inside a run of more carts at `from` than a page holds, or past such a cart.
   */
  skip: number;
  /** The range's pages before this one ended at `from`: what they read there is not read again. */
  continued?: boolean | undefined;
  /**
   * Of a continued keyset page, the records without a usable id at exactly `from` that the page
   * before read: the first ones at `from` again (Retail Server orders the carts of an instant the
   * same way each time), so only those are dropped. Unset: every one at `from` was read before.
   */
  idlessAtFrom?: number | undefined;
  /**
   * Past a cart Retail Server could not load, whose instant is known only to lie between `from`
   * and the first instant after it: a keyset search from an instant no later than that could meet
   * it again, so `$skip` steps on from `from` (counting every position since, the cart's included)
   * until a page reaches a later instant than its first.
   */
  pastUnreadable?: boolean | undefined;
  /**
   * What the next page must start with: the record found right after a cart Retail Server could
   * not load, or (when the search after it failed too) another such cart. If it does not, a cart
   * before it changed meanwhile and `$skip` lands elsewhere.
   */
  expectFirst?: { record: unknown } | { unreadable: true } | undefined;
  /**
   * Inside a run of more carts at `from` than a page holds, or past an unreadable cart: the last
   * cart with a usable id read, and its position from `from`. Once the next `$skip` search is
   * answered it must still be there: if a cart before it changed meanwhile (it left the instant),
   * every later position moved up by one and `$skip` stepped over a cart nobody has read. (A record
   * without an id has nothing to be checked by: its text may differ from one answer to the next.)
   */
  placed?: Placed | undefined;
  /** How often this instant has been read again from its start because a cart was not in place. */
  rereads?: number | undefined;
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

const laterOf = (a: Date, b: Date | undefined) => (b !== undefined && b.getTime() > a.getTime() ? b : a);

/**
 * Whether a cart read before is still at its position. One search of one cart; a page in a run of
 * carts at one instant, or past a cart Retail Server cannot load, costs it, no other page does.
 * When that search fails the way such a cart makes it fail, the cart there is another one: not in
 * place.
 */
async function stillInPlace(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, from: Date, placed: Placed): Promise<boolean> {
  try {
    const [record] = await retail.searchCarts({ from, to: query.to, includeAnonymous: query.includeAnonymous, top: 1, skip: placed.position, priority: query.priority, narrowing: true });
    return keyOf(record)?.id === placed.id;
  } catch (error) {
    if (isCartFailure(error)) return false;
    throw error;
  }
}

/**
 * How often one instant is read again from its start. Were Retail Server to order the carts of an
 * instant differently from one search to the next (it orders by ModifiedDateTime only), every
 * check would fail; past this the steps go on without it, as they did before it.
 */
const MAX_REREADS = 3;

/**
 * One keyset page of the range from `cursor`: its carts not read before, and where the next page
 * starts. A `$skip` step checks its place after its search: carts only ever leave an instant (a
 * changed cart moves to now), so the last cart read still in place once the page has been read
 * means no position before the page moved before the search either.
 */
export async function readCartPage(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, cursor: PageCursor): Promise<PageRead> {
  const read = await readPageAt(retail, query, cursor);
  const rereads = cursor.rereads ?? 0;
  if (cursor.placed === undefined || rereads >= MAX_REREADS || (await stillInPlace(retail, query, cursor.from, cursor.placed))) return read;
  // Past an unreadable cart, the positions `$skip` counts span several instants, and what was
  // read there cannot all be dropped by id: the read fails, and the next run reads them again.
  if (cursor.pastUnreadable) throw shifted(query, cursor);
  // A cart read before changed and left the instant: the page is dropped and the instant read
  // again from its first position; what was read is dropped by id, and nothing is stepped over.
  return readCartPage(retail, query, { from: cursor.from, seenAtFrom: cursor.seenAtFrom, skip: 0, continued: cursor.continued, rereads: rereads + 1 });
}

async function readPageAt(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, cursor: PageCursor): Promise<PageRead> {
  const { from, seenAtFrom, skip, continued } = cursor;
  const { includeAnonymous, priority } = query;
  const found = await searchPastUnreadableCart(query.pageSize, {
    search: (offset, top, narrowing) => retail.searchCarts({ from, to: query.to, includeAnonymous, top, skip: skip + offset, priority, narrowing }),
    searchFurther: (offset) => retail.searchCarts({ from, to: laterOf(query.to, query.horizon), includeAnonymous, top: 1, skip: skip + offset, priority, narrowing: true }),
    probe: () => retail.searchCarts({ from: EMPTY_WINDOW, to: EMPTY_WINDOW, includeAnonymous, top: 1, skip: 0, priority, narrowing: true }),
    outOfTime: callTimeIsUp,
    sameRecord: sameCartRecord,
  });
  const records = found.records;
  const expected = cursor.expectFirst;
  if (expected) {
    // A record without an id proves nothing by its text (its lines may come back in another
    // order): only that a record starts the page; the place check (`placed`) covers what is before.
    const startsAsExpected =
      'record' in expected ? found.unreadable?.index !== 0 && (keyOf(expected.record) === undefined || sameCartRecord(records[0], expected.record)) : found.unreadable?.index === 0;
    if (!startsAsExpected) throw shifted(query, cursor);
  }
  const carts = records.map((raw) => ({ raw, key: keyOf(raw) }));
  const before = query.before ?? Number.POSITIVE_INFINITY;
  const to = query.to.getTime();
  const start = from.getTime();
  // A cart past `to` was not asked for (a later run's window holds it): it is neither worked nor
  // followed, so that a stray record cannot move the keyset cursor or the checkpoint past the window.
  const inWindow = (t: number) => t < before && t <= to;
  let idlessReadBefore = continued && skip === 0 ? (cursor.idlessAtFrom ?? Number.POSITIVE_INFINITY) : 0;
  const fresh = carts.filter(({ raw, key }) => {
    if (key) {
      const t = key.modifiedAt.getTime();
      return inWindow(t) && (t > start || (t === start && !seenAtFrom.has(key.id)));
    }
    // A record without a usable Id is placed by its time when it has one, so that the page before
    // and the next range, which read it too, do not count it again; at the instant a continued
    // page starts from, the first such records are those the page before read (unless $skip
    // stepped past what that one read), and the ones after them are new.
    const time = timeOf(raw);
    if (time === undefined) return true;
    if (!inWindow(time) || time < start) return false;
    if (time > start || idlessReadBefore === 0) return true;
    idlessReadBefore--;
    return false;
  });
  // A record without a usable id counts by its time too: were the next page to start before it, at
  // the newest cart with an id, it would be read (and counted) again, being newer than that start.
  const newest = records.reduce((max: number, raw) => {
    const t = timeOf(raw);
    return t !== undefined && t > max && t <= to ? t : max;
  }, start);
  if (found.unreadable) return pastUnreadableCart(retail, query, cursor, { records, fresh }, found.unreadable);
  // Oldest first: once a page reaches `before`, every cart of this range has been seen.
  if (records.length < query.pageSize || newest >= before) return { fresh, next: undefined };
  const idsAt = (t: number) => new Set(carts.filter(({ key }) => key?.modifiedAt.getTime() === t).map(({ key }) => (key as { id: string }).id));
  const firstAt = timeOf(records.find((raw) => timeOf(raw) !== undefined)) ?? newest;
  // Past an unreadable cart, a keyset search is safe only from an instant later than this page's first.
  if (newest > (cursor.pastUnreadable ? firstAt : start)) {
    const idlessAtNewest = carts.filter(({ raw, key }) => key === undefined && timeOf(raw) === newest).length;
    return { fresh, next: { from: new Date(newest), seenAtFrom: idsAt(newest), skip: 0, continued: true, idlessAtFrom: idlessAtNewest } };
  }
  // The whole page sits at `from` (or, past an unreadable cart, at its first instant): step over it
  // with $skip, still dropping known ids.
  // (A copy: the page may yet be dropped, when the check of its place fails.)
  const seen = new Set(seenAtFrom);
  for (const { key } of carts) if (key) seen.add(key.id);
  return { fresh, next: { from, seenAtFrom: seen, skip: skip + records.length, continued: true, pastUnreadable: cursor.pastUnreadable, placed: lastPlaced(carts, skip) ?? cursor.placed, rereads: cursor.rereads } };
}

