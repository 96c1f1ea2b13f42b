import { RemoteServiceError } from '../shared/errors';
import { cutShort, mayBeAboutARecord } from './lookup-isolation';

/**
 * A cart search page that Retail Server fails because of one cart on it: a cart whose lines or
 * extension data the commerce runtime cannot load. Every search whose page holds that cart fails
 * (HTTP 500, again on every retry), so without this the run fails at that page, and every later
 * run at the same page until the cart leaves the window: the checkpoint waits there and the carts
 * after it are reminded hours late.
 *
 * A search cannot say which cart it could not load, so the page is narrowed instead: the longest
 * prefix of it (`$top`) that Retail Server answers is found by halving, and the cart right after
 * that prefix is the one it cannot load. It is not reminded (the storefront cannot load it
 * either, so a reminder would lead nowhere); the caller counts it and goes on past it with
 * `$skip`. An outage must not be taken for such a cart, so a cart counts as unreadable only when
 * Retail Server answered a search of an empty window before the narrowing, the cart fails alone
 * again with every retry, and the search is answered for a cart next to it (before it on the
 * page, or right after it). A cart answered alone means the failures were brief: the page is read
 * again whole. Otherwise the page fails as before. The narrowing stops once the run has no time
 * left.
 */

export interface UnreadableCart {
  /** Its position on the page: the records before it are `records`. */
  index: number;
  /** What Retail Server said when asked for it alone. */
  reason: string;
  /**
   * The search right after it, for one record: empty when the range ends with it, undefined when
   * that search failed too (another cart it cannot load, right after this one).
   */
  after: unknown[] | undefined;
}

export interface CartSearchPage {
  records: unknown[];
  /** Set when Retail Server could not load the cart at `records.length`; the page ends there. */
  unreadable?: UnreadableCart | undefined;
}

export interface NarrowingOptions {
  /**
   * The page's search shifted by `offset` more records (`$skip`) with `top` records at most;
   * `narrowing` for the requests that look for the cart, which give up on a record's failure sooner.
   */
  search(offset: number, top: number, narrowing: boolean): Promise<unknown[]>;
  /** A search that no cart can fail (an empty window): tells an outage from a cart. */
  probe(): Promise<unknown>;
  /** True once the run has no time left for its Retail Server calls. */
  outOfTime?: (() => boolean) | undefined;
}

/** A page of `top` carts; when Retail Server fails it because of one cart, the page up to that cart. */
export async function searchPastUnreadableCart(top: number, options: NarrowingOptions): Promise<CartSearchPage> {
  let firstError: RemoteServiceError;
  try {
    return { records: await options.search(0, top, false) };
  } catch (error) {
    if (!mayBeAboutARecord(error)) throw error;
    firstError = error;
  }

  const checkTime = (): void => {
    if (options.outOfTime?.()) throw cutShort(firstError, 'Not narrowed to find the cart it fails for', 'the next run searches this page again.');
  };
  /** The search's answer, or undefined when it fails in a way a cart may cause. */
  const attempt = async (request: () => Promise<unknown[]>): Promise<unknown[] | undefined> => {
    checkTime();
    try {
      return await request();
    } catch (error) {
      if (mayBeAboutARecord(error)) return undefined;
      throw error;
    }
  };

  // A service that fails every search is not narrowed.
  if ((await attempt(async () => [await options.probe()])) === undefined) throw firstError;

  // The longest prefix answered: `answered` carts load, the first `failing` do not.
  let answered: unknown[] = [];
  let failing = top;
  while (failing - answered.length > 1) {
    const middle = Math.floor((answered.length + failing) / 2);
    const records = await attempt(() => options.search(0, middle, true));
    if (records === undefined) failing = middle;
    // A shorter answer than asked: the page has no cart at the position that failed it, so the
    // failure is not one cart's (or the range changed meanwhile); the page fails as before.
    else if (records.length < middle) throw firstError;
    else answered = records;
  }
  const index = answered.length;
  // The cart alone, with every retry: a failure that was brief must not cost a cart its reminder.
  checkTime();
  const alone = await options.search(index, 1, false).then(
    () => undefined,
    (error: unknown) => {
      if (mayBeAboutARecord(error)) return error;
      throw error;
    },
  );
  // Answered alone: the failures were brief after all (or the range changed), so the page is read again whole.
  if (alone === undefined) return { records: await options.search(0, top, false) };
  // Past it, the search must be answered, or carts before it must have been: a search that fails
  // for every cart (an extension that throws on any cart, a failure of the cart store) is no one
  // cart's fault, and would otherwise skip the window one cart at a time.
  const after = await attempt(() => options.search(index + 1, 1, true));
  if (after === undefined && answered.length === 0) throw firstError;
  return { records: answered, unreadable: { index, reason: alone.message, after } };
}
