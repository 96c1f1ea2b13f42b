import { parseCart } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import { mapWithConcurrency } from '../shared/concurrency';
import { cartPages, type RawCart, type TimeRange } from './cart-pages';
import { checkCart, customerKey } from './eligibility';
import type { RunWindow } from './window';

export interface Survey {
  /** Per customer, the newest cart in the window that passes the cart-level checks. */
  latest: Map<string, { cartId: string; modifiedAt: number }>;
  /** The whole window, when it fits in one page: the processing pass works from it, with no second search. */
  onlyPage: RawCart[] | undefined;
  /**
   * The window cut where the survey's pages ended, oldest first: each range held less than a page
   * when surveyed (carts only leave a past range: a cart modified now moves past the window), so
   * the processing pass can search every range at once instead of following a keyset chain.
   */
  ranges: TimeRange[];
  pages: number;
}

export interface SurveyOptions {
  pageSize: number;
  includeAnonymous: boolean;
  /** Time slices of the window searched in parallel; the keyset chain of each is that much shorter. */
  slices: number;
}

type Slice = TimeRange;

/** A range and how many carts the survey found in it. */
interface CountedRange extends TimeRange {
  carts: number;
}

/**
 * Joins neighbouring ranges while together they hold less than a page (a slice's last page is
 * seldom full), so the pass works full pages: one search each, and no more pages than the window needs.
 */
function mergeRanges(ranges: readonly CountedRange[], pageSize: number): TimeRange[] {
  const merged: CountedRange[] = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    if (last && last.carts + range.carts < pageSize) {
      merged[merged.length - 1] = { ...last, to: range.to, before: range.before, carts: last.carts + range.carts };
    } else {
      merged.push(range);
    }
  }
  return merged.map(({ carts: _carts, ...range }) => range);
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
 * pages. It keeps one small entry per customer, never the carts. The window is cut into time
 * slices read in parallel, since each slice's keyset pages form a chain that cannot be.
 */
export async function surveyLatestCarts(
  retail: Pick<RetailServerClient, 'searchCarts'>,
  window: RunWindow,
  options: SurveyOptions,
  onPage: (pages: number) => void,
): Promise<Survey> {
  const latest = new Map<string, { cartId: string; modifiedAt: number }>();
  let pages = 0;
  const slices = slicesOf(window, options.slices);
  const settled = await mapWithConcurrency(slices, slices.length, (slice) => readSlice(slice).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  ));
  // Every slice has stopped before a failure is reported, so no search outlives the run.
  const failed = settled.find((result) => !result.ok);
  if (failed && !failed.ok) throw failed.error;
  const sliceReads = settled.flatMap((result) => (result.ok ? [result.value] : []));

  async function readSlice(slice: Slice): Promise<{ onlyPage: RawCart[] | undefined; fits: boolean; ranges: CountedRange[] }> {
    // A slice's page is kept only while the slice may still fit in one page; a window that does
    // not fit is never held in memory.
    let onlyPage: RawCart[] | undefined;
    let fits = true;
    // Where each page ended: every cart older than a page's newest was on that page or before it.
    // A page's end becomes a boundary once another page follows it (the last page runs to the end).
    const boundaries = [slice.from.getTime()];
    const counts: number[] = [];
    let pageEnd: number | undefined;
    let open = 0; // carts of the range still open
    let atPageEnd = 0; // of them, those at exactly pageEnd: they open the next range
    for await (const page of cartPages(retail, { ...slice, pageSize: options.pageSize, includeAnonymous: options.includeAnonymous })) {
      onPage(++pages);
      fits = fits && onlyPage === undefined && page.length < options.pageSize;
      onlyPage = fits ? page : undefined;
      if (pageEnd !== undefined && pageEnd > (boundaries.at(-1) as number)) {
        boundaries.push(pageEnd);
        counts.push(open - atPageEnd);
        open = atPageEnd;
      }
      pageEnd = undefined;
      for (const { key } of page) {
        const t = key?.modifiedAt.getTime();
        if (t === undefined) continue;
        if (pageEnd === undefined || t > pageEnd) [pageEnd, atPageEnd] = [t, 1];
        else if (t === pageEnd) atPageEnd++;
      }
      open += page.length;
      for (const { raw } of page) {
        const parsed = parseCart(raw);
        if (!parsed.ok) continue;
        const cart = parsed.value;
        if (checkCart(cart, { ...window, includeAnonymous: options.includeAnonymous })) continue;
        const key = customerKey(cart);
        const t = cart.ModifiedDateTime.getTime();
        const current = latest.get(key);
        if (!current || t > current.modifiedAt || (t === current.modifiedAt && cart.Id > current.cartId)) {
          latest.set(key, { cartId: cart.Id, modifiedAt: t });
        }
      }
    }
    counts.push(open);
    const ranges = boundaries.map((start, i): CountedRange => {
      const end = boundaries[i + 1];
      const cartIdsDoneAtFrom = i === 0 ? slice.cartIdsDoneAtFrom : [];
      const carts = counts[i] ?? 0;
      return end === undefined
        ? { from: new Date(start), to: slice.to, before: slice.before, cartIdsDoneAtFrom, carts }
        : { from: new Date(start), to: new Date(end), before: end, cartIdsDoneAtFrom, carts };
    });
    return { onlyPage, fits, ranges };
  }
  // A window that fits in one page is processed from the survey's copy: no second search.
  const fits = sliceReads.every((read) => read.fits);
  const all = fits ? sliceReads.flatMap((read) => read.onlyPage ?? []) : [];
  const onlyPage = fits && all.length < options.pageSize ? all : undefined;
  return { latest, onlyPage, ranges: mergeRanges(sliceReads.flatMap((read) => read.ranges), options.pageSize), pages };
}
