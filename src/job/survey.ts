import { isActiveLine } from '../enrich/payload';
import { cartHeaderSchema, cartLineSchema, parseRecord, type Cart, type CartLine, type ParseResult } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import { mapWithConcurrency } from '../shared/concurrency';
import { checkPageBound, firstCursor, readCartPage, takeParsed, type PageCart, type PageCursor, type PageRead, type RawCart, type TimeRange } from './cart-pages';
import { checkCart } from './eligibility';
import { LatestCarts } from './latest-carts';
import { RangeCuts } from './range-cuts';
import type { RunWindow } from './window';

export interface Survey {
  /** Per customer, the newest cart in the window that passes the cart-level checks. */
  latest: LatestCarts;
  /** The whole window, when it fits in one page: the processing pass works from it, with no second search. */
  onlyPage: PageCart[] | undefined;
  /**
   * The window cut where the survey's pages ended, oldest first: each range held less than a page
   * when surveyed (carts only leave a past range: a cart modified now moves past the window), so
   * the processing pass can search every range at once instead of following a keyset chain.
   * A range with `carts` is one the survey kept a copy of (see `SurveyOptions.keepCarts`): the
   * pass works it from that copy instead of searching it again.
   */
  ranges: SurveyRange[];
  pages: number;
  /**
   * Set when the survey ran out of time (`SurveyOptions.outOfTime`) before it had read the whole
   * window: this run's window ends here, where the part read without a gap ends, and the rest is
   * the next run's. The ranges stop here too.
   */
  end?: Date | undefined;
}

export interface SurveyRange extends TimeRange {
  /** Every cart of the range as the survey read it, parsed; undefined: the pass searches the range. */
  carts?: PageCart[] | undefined;
}

export interface SurveyOptions {
  pageSize: number;
  includeAnonymous: boolean;
  /**
   * At most this many time slices of the window are searched in parallel; the keyset chain of each
   * is that much shorter. Twice the searches Retail Server takes at once (MaxConcurrency).
   */
  slices: number;
  /**
   * At most this many carts the survey keeps for the processing pass, so that the ranges they
   * fill are not searched again (the pipelined run: PageSize x PageConcurrency, what the pass holds
   * in flight anyway; 0 or absent keeps none). A slice is kept whole or not at all: one whose carts
   * would go over, or with a record whose id and time do not parse (it cannot be placed in a
   * range), is searched again by the pass.
   */
  keepCarts?: number | undefined;
  /**
   * Asked after each page. Once true, every slice stops at the next place it can be cut cleanly
   * (not inside a run of carts at one instant), and the window is cut where the part read without
   * a gap ends (`Survey.end`), so that a window too large to survey within a run is worked a
   * stretch per run instead of a page per run.
   */
  outOfTime?: (() => boolean) | undefined;
}

type Slice = TimeRange;

/**
 * A cart as the survey needs it: the header parsed exactly as `parseCart` parses it, and of the
 * lines only the first that parses and is active. Every check of `checkCart` reads the header and
 * whether an active line exists, so a cart passes them here exactly when its full parse does, and
 * the survey parses one line of most carts instead of all of them.
 */
export function parseCartForChecks(raw: unknown): ParseResult<Cart> {
  const header = parseRecord(cartHeaderSchema, raw);
  if (!header.ok) return header;
  let line: CartLine | undefined;
  for (const rawLine of header.value.CartLines) {
    const parsed = cartLineSchema.safeParse(rawLine);
    if (parsed.success && isActiveLine(parsed.data)) {
      line = parsed.data;
      break;
    }
  }
  return { ok: true, value: { ...header.value, CartLines: line ? [line] : [], invalidLineCount: 0 } };
}

/** A range, how many carts the survey found in it, and those carts when it kept them. */
interface CountedRange extends TimeRange {
  count: number;
  kept?: KeyedCart[] | undefined;
}

/** A kept cart: a slice with a record whose id and time do not parse is not kept. */
type KeyedCart = PageCart & { key: NonNullable<RawCart['key']> };

/**
 * Joins neighbouring ranges so that the pass works no more pages than the window needs.
 *
 * A range the pass searches holds less than a page when joined (a slice's last page is seldom
 * full): a search that returns a full page cannot tell the range's end from "there may be more",
 * and searches again. A range the survey kept is worked from its copy, a page at a time, with no
 * search: kept ranges are cut again at the instants of their carts and joined while the carts fill
 * the last page's room, so a stretch of the window held in copies takes the fewest pages its
 * instants allow (a full page is one page). Carts that share an instant stay in one range; an
 * instant with more than a page of carts is worked over several pages of its range, which also
 * takes the carts before it that fit its first page and those after it that fit its last, though
 * never a second such instant (a range stays about a page or one instant long). A joined range has
 * a copy only when both of its parts had one.
 */
function mergeRanges(ranges: readonly CountedRange[], pageSize: number): SurveyRange[] {
  const merged: CountedRange[] = [];
  for (const range of ranges.flatMap(byInstant)) {
    const last = merged.at(-1);
    if (last && joins(last, range, pageSize)) {
      // In place: a range is joined one instant at a time, and copying its carts each time would take quadratic time.
      last.to = range.to;
      last.before = range.before;
      last.count += range.count;
      if (last.kept && range.kept) for (const cart of range.kept) last.kept.push(cart);
      else last.kept = undefined;
    } else {
      merged.push({ ...range, kept: range.kept && [...range.kept] });
    }
  }
  return merged.map(({ count: _count, kept, ...range }) => (kept ? { ...range, carts: kept } : range));
}

/** Whether `next` is joined to the range before it (see `mergeRanges`). */
function joins(last: CountedRange, next: CountedRange, pageSize: number): boolean {
  if (!last.kept || !next.kept) return last.count + next.count < pageSize;
  // From copies: `next` is one instant (`byInstant`), and the range is worked in pages of `pageSize`.
  if (last.count === 0 || next.count === 0) return true;
  // An instant of more than a page starts on the range's last page while it has room (a range holding more than a page already has one such instant).
  if (next.count > pageSize) return last.count < pageSize;
  const onLastPage = last.count % pageSize;
  return onLastPage !== 0 && onLastPage + next.count <= pageSize;
}

/**
 * A kept range cut at the instants of its carts, one range per instant, meeting exactly: the first
 * from the range's start, the last to its end. A range searched again, or empty, stays whole.
 */
function byInstant(range: CountedRange): CountedRange[] {
  const { kept } = range;
  if (kept === undefined || kept.length === 0) return [range];
  // Each instant's carts in the order the survey read them.
  const groups = new Map<number, KeyedCart[]>();
  for (const cart of kept) {
    const t = cart.key.modifiedAt.getTime();
    const group = groups.get(t);
    if (group) group.push(cart);
    else groups.set(t, [cart]);
  }
  const instants = [...groups.keys()].sort((a, b) => a - b);
  return instants.map((t, i): CountedRange => {
    const carts = groups.get(t) as KeyedCart[];
    const end = instants[i + 1];
    const from = i === 0 ? range.from : new Date(t);
    const cartIdsDoneAtFrom = i === 0 ? range.cartIdsDoneAtFrom : [];
    return end === undefined
      ? { from, to: range.to, before: range.before, cartIdsDoneAtFrom, count: carts.length, kept: carts }
      : { from, to: new Date(end), before: end, cartIdsDoneAtFrom, count: carts.length, kept: carts };
  });
}

/**
 * Hands each kept cart to its range of the slice: the ranges meet exactly, range i holding
 * [from, before) and the last up to its `to`. Carts past the last range (the head's carts at the
 * instant where the rest of the window starts) belong to another slice and are left out.
 */
function withKeptCarts(ranges: readonly CountedRange[], carts: readonly KeyedCart[] | undefined): CountedRange[] {
  if (!carts) return [...ranges];
  const starts = ranges.map((range) => range.from.getTime());
  const buckets = ranges.map((): KeyedCart[] => []);
  for (const cart of carts) {
    const t = cart.key.modifiedAt.getTime();
    // The last range that starts at or before t.
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if ((starts[mid] as number) <= t) low = mid;
      else high = mid - 1;
    }
    const range = ranges[low];
    if (!range || t < (starts[low] as number) || t >= (range.before ?? Number.POSITIVE_INFINITY) || t > range.to.getTime()) continue;
    buckets[low]?.push(cart);
  }
  return ranges.map((range, i) => ({ ...range, kept: buckets[i] }));
}

/** The survey's allowance of carts to keep, shared by the slices it reads at once. */
class KeepBudget {
  private used = 0;
  constructor(private readonly limit: number) {}

  /** Takes `count` more carts if they fit. */
  take(count: number): boolean {
    if (this.used + count > this.limit) return false;
    this.used += count;
    return true;
  }

  giveBack(count: number): void {
    this.used -= count;
  }
}

/** A slice this much denser than the first page suggested still fits in the searches planned for it. */
const DENSITY_MARGIN = 0.1;

/**
 * A slice's chain counts this much more than its length in the rounds below: slices differ in
 * density, and a chain that is nearly as long as the whole survey leaves searches idle at its end.
 */
const CHAIN_WEIGHT = 1.5;

/**
 * How many slices to cut the rest of the window into, at most `maxSlices`. A slice costs a search
 * per full page plus one for its part page, and its searches form a chain: few slices make long
 * chains, many slices make many part pages (8 slices for 9 pages read 16). Takes the count that
 * reads the rest in the fewest rounds of `searchesAtOnce` searches, then with the fewest
 * searches, then the most slices.
 */
export function sliceCount(estimatedPages: number, maxSlices: number, searchesAtOnce: number): number {
  if (!Number.isFinite(estimatedPages)) return Math.max(1, maxSlices);
  let best = { count: 1, rounds: Number.POSITIVE_INFINITY, searches: Number.POSITIVE_INFINITY };
  for (let count = 1; count <= maxSlices; count++) {
    const chain = Math.floor((Math.max(0, estimatedPages) / count) * (1 + DENSITY_MARGIN)) + 1;
    const searches = count * chain;
    const rounds = Math.max(Math.ceil(searches / Math.max(1, searchesAtOnce)), Math.ceil(chain * CHAIN_WEIGHT));
    if (rounds < best.rounds || (rounds === best.rounds && searches <= best.searches)) best = { count, rounds, searches };
  }
  return best.count;
}

/** Splits [from, to] into `count` slices that meet exactly: slice i keeps [t_i, t_i+1), the last keeps [t_last, to]. */
function slicesOf(window: RunWindow, count: number): Slice[] {
  const from = window.from.getTime();
  const to = window.to.getTime();
  const n = Math.max(1, Math.min(count, Math.floor((to - from) / 1000) || 1));
  const width = (to - from) / n;
  return Array.from({ length: n }, (_, i) => {
    const start = i === 0 ? from : Math.floor(from + i * width);
    const end = i === n - 1 ? to : Math.floor(from + (i + 1) * width);
    return {
      from: new Date(start),
      to: new Date(end),
      before: i === n - 1 ? undefined : end,
      cartIdsDoneAtFrom: i === 0 ? window.cartIdsDoneAtFrom : [],
    };
  });
}

/**
 * The survey pass: the latest eligible cart of each customer in the window, so that a customer
 * with several carts gets one reminder, for the newest, even when the carts fall on different
 * pages. It keeps one small entry per customer, and carts only up to `keepCarts`.
 *
 * It reads the window's first page, which is all of it for most runs (a timer every few
 * minutes). When there is more, it estimates from that page how many pages are left and cuts the
 * rest of the window into as many time slices (at most `slices`), read in parallel, since each
 * slice's keyset pages form a chain that cannot be. Where its pages ended become the ranges the
 * processing pass searches all at once, or works from the survey's copy of them.
 */
export async function surveyLatestCarts(
  retail: Pick<RetailServerClient, 'searchCarts'>,
  window: RunWindow,
  options: SurveyOptions,
  /** After each page; the survey waits for it (the run renews its lease there). */
  onPage: (pages: number) => void | Promise<void>,
): Promise<Survey> {
  const latest = new LatestCarts(window.from);
  let pages = 0;
  const query = { pageSize: options.pageSize, includeAnonymous: options.includeAnonymous, horizon: window.to };
  const checks = { ...window, includeAnonymous: options.includeAnonymous };
  const budget = new KeepBudget(options.keepCarts ?? 0);

  /**
   * Reads a slice, oldest first, and notes where it may be cut into ranges (RangeCuts). With
   * `headOnly`, stops after the first page that leaves a clean place to go on from (not inside a
   * run of carts at one instant).
   */
  async function readSlice(slice: Slice, headOnly: boolean): Promise<SliceRead> {
    // Cuts every 2% of a page: joined, ranges make pages at least 98% full.
    const cuts = new RangeCuts(slice.from.getTime(), Math.max(1, Math.floor(options.pageSize / 50)));
    let onlyPage: PageCart[] | undefined;
    /** The slice's carts while it may still be kept whole. */
    let kept: KeyedCart[] | undefined = [];
    let firstCartAt: number | undefined;
    const offer = latest.reader(); // the slice's carts come oldest first
    // Carts at the window's start that an earlier run finished are not worked again, but one may
    // still be its customer's latest: a cart beside it, at that instant, that the earlier run could
    // not settle (its superseded record not written) must not become the latest. So the survey
    // reads them too, and only counts them for the customers.
    const done = new Set(slice.cartIdsDoneAtFrom);
    let cursor: PageCursor | undefined = firstCursor({ ...slice, cartIdsDoneAtFrom: [] });
    for (let searches = 0; cursor; searches++) {
      checkPageBound(searches);
      const page: PageRead = await readCartPage(retail, { ...slice, ...query }, cursor);
      cursor = page.next;
      await onPage(++pages);
      if (done.size > 0) {
        offerDone(page, slice.from.getTime(), done, (cart) => {
          if (!checkCart(cart, checks)) offer(cart);
        });
      }
      const times = page.fresh.map(({ key }) => key?.modifiedAt.getTime());
      firstCartAt ??= times.find((time) => time !== undefined);
      cuts.addPage(times);
      const only = searches === 0 && !cursor;
      const keep = kept !== undefined && page.fresh.every((cart) => cart.key !== undefined) && budget.take(page.fresh.length);
      if (kept && !keep) {
        budget.giveBack(kept.length);
        kept = undefined;
      }
      // Carts the pass will work from the survey's copy are parsed whole, once, and only their
      // parse is kept; the others only as far as the checks need. The records themselves are let
      // go before the next search (see `takeParsed`).
      const parsedPage = only || keep ? takeParsed(page.fresh) : undefined;
      if (parsedPage) {
        for (const { cart } of parsedPage) if (cart.ok && !checkCart(cart.value, checks)) offer(cart.value);
        if (keep) kept?.push(...(parsedPage as KeyedCart[]));
      } else {
        for (const { raw } of page.fresh.splice(0)) {
          const parsed = parseCartForChecks(raw);
          if (parsed.ok && !checkCart(parsed.value, checks)) offer(parsed.value);
        }
      }
      // The first page is kept while it may be all there is; a slice's later pages are never held.
      onlyPage = only ? parsedPage : undefined;
      if ((headOnly || options.outOfTime?.()) && cursor && cursor.skip === 0 && cursor.from.getTime() > slice.from.getTime()) {
        // Stop at the newest instant of this page: its carts, all of them, start the rest.
        const stoppedAt = cursor.from.getTime();
        cuts.cutAt(stoppedAt);
        // The head's carts at `stoppedAt` and after start the rest of the window: left out of its copy.
        return { ranges: withKeptCarts(rangesOf(slice, cuts.at, cuts.counts), kept), onlyPage: undefined, stoppedAt, firstCartAt };
      }
    }
    return { ranges: withKeptCarts(rangesOf(slice, cuts.at, [...cuts.counts, cuts.openCarts]), kept), onlyPage, stoppedAt: undefined, firstCartAt };
  }

  const head = await readSlice(window, true);
  if (head.stoppedAt === undefined) {
    const onlyPage = head.onlyPage && head.onlyPage.length < options.pageSize ? head.onlyPage : undefined;
    return { latest, onlyPage, ranges: mergeRanges(head.ranges, options.pageSize), pages };
  }
  // The rest of the window, cut by the density of the first page. Its carts at the first page's
  // newest instant are read again (some were on the first page): counting a cart twice is harmless.
  const restOfWindow: RunWindow = { ...window, from: new Date(head.stoppedAt), cartIdsDoneAtFrom: [] };
  // The density is the first page's own, from its first cart: a window often starts with a quiet
  // stretch (the night, or the time before the carts of a backfill), which is no guide to the rest.
  const headCarts = head.ranges.reduce((sum, range) => sum + range.count, 0);
  const headStart = head.firstCartAt !== undefined && head.firstCartAt < head.stoppedAt ? head.firstCartAt : window.from.getTime();
  const estimatedPages = (headCarts * (window.to.getTime() - head.stoppedAt)) / Math.max(1, head.stoppedAt - headStart) / options.pageSize;
  const slices = slicesOf(restOfWindow, sliceCount(estimatedPages, options.slices, Math.ceil(options.slices / 2)));
  const settled = await mapWithConcurrency(slices, slices.length, (slice) =>
    readSlice(slice, false).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  );
  // Every slice has stopped before a failure is reported, so no search outlives the run.
  const failed = settled.find((result) => !result.ok);
  if (failed && !failed.ok) throw failed.error;
  // The slices in time order, up to the first one that stopped early: the window read without a gap.
  const readWithoutGap: CountedRange[] = [];
  let end: number | undefined;
  for (const result of settled) {
    if (!result.ok) continue;
    readWithoutGap.push(...result.value.ranges);
    if (result.value.stoppedAt !== undefined) {
      end = result.value.stoppedAt;
      break;
    }
  }
  // The head ends just before `head.stoppedAt` (its copy holds no cart from there on) and the rest
  // starts there (the first slice's copy holds every cart from there on): like two slices, they
  // meet exactly, and a range joined across the head's end holds each of its carts once.
  const ranges = mergeRanges([...head.ranges, ...readWithoutGap], options.pageSize);
  // Carts at `end` itself belong to the part not read; the window's `to` is inclusive.
  return { latest, onlyPage: undefined, ranges, pages, end: end === undefined ? undefined : new Date(end - 1) };
}

/** Takes the carts at `from` that an earlier run finished out of the page, and offers each that parses. */
function offerDone(page: PageRead, from: number, done: ReadonlySet<string>, offer: (cart: Cart) => void): void {
  const isDone = ({ key }: RawCart) => key !== undefined && key.modifiedAt.getTime() === from && done.has(key.id);
  for (const { raw } of page.fresh.filter(isDone)) {
    const parsed = parseCartForChecks(raw);
    if (parsed.ok) offer(parsed.value);
  }
  const notDone = page.fresh.filter((cart) => !isDone(cart));
  page.fresh.splice(0, page.fresh.length, ...notDone);
}

interface SliceRead {
  ranges: CountedRange[];
  /** The slice's only page, when it had one. */
  onlyPage: PageCart[] | undefined;
  /** Where a head-only read stopped (ms): the rest of the window starts there. */
  stoppedAt: number | undefined;
  /** When the slice's first cart was modified (ms), if it had one. */
  firstCartAt: number | undefined;
}

/** The ranges between a slice's boundaries; the last runs to the slice's end unless a boundary closes it. */
function rangesOf(slice: Slice, boundaries: readonly number[], counts: readonly number[]): CountedRange[] {
  return counts.map((count, i): CountedRange => {
    const start = boundaries[i] as number;
    const end = boundaries[i + 1];
    const cartIdsDoneAtFrom = i === 0 ? slice.cartIdsDoneAtFrom : [];
    return end === undefined
      ? { from: new Date(start), to: slice.to, before: slice.before, cartIdsDoneAtFrom, count }
      : { from: new Date(start), to: new Date(end), before: end, cartIdsDoneAtFrom, count };
  });
}
