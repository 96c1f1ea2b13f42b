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
 * again with every retry, then the search is answered for a cart near it (right after it, else
 * right before it, else one of the few after those), and then the cart fails alone once more. A
 * cart answered alone means the failures were brief: the page is read again whole. Otherwise the
 * page fails as before. The narrowing stops once the run has no time left, and a request its
 * retries ran out of time for is no verdict on a cart: the page then ends as at the time limit.
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
  /**
   * The cart at `offset`, searched up to a later end than the page's (the run's window end, say),
   * where a search for any cart Retail Server answers may look. Default: `search(offset, 1, true)`.
   */
  searchFurther?: ((offset: number) => Promise<unknown[]>) | undefined;
  /** A search that no cart can fail (an empty window): tells an outage from a cart. */
  probe(): Promise<unknown>;
  /** True once the run has no time left for its Retail Server calls. */
  outOfTime?: (() => boolean) | undefined;
  /** Whether two answers hold the same record (by its id, say); default: the same JSON. */
  sameRecord?: ((a: unknown, b: unknown) => boolean) | undefined;
}

/**
 * A failure one cart may cause: a record's status, and not a call the run's time limit cut short
 * (the transport ends such a call with its last error, marked `outOfTime`: that is no verdict).
 */
export function isCartFailure(error: unknown): error is RemoteServiceError {
  return mayBeAboutARecord(error) && !error.outOfTime;
}

/**
 * How many carts past the one after an unreadable cart are asked for, one at a time, when neither
 * neighbour of it was answered. So up to this many plus one unreadable carts side by side are read
 * past (one per page); a longer run of them fails the page, as a search that fails for every cart does.
 */
export const LOOK_FURTHER = 8;

/**
 * Whether Retail Server answers a search for a cart among the `LOOK_FURTHER` from `offset` on
 * (asked one by one, stopping at the first answer): an answer with a cart in it; an empty one ends
 * the range, and tells nothing (a search that holds no cart is answered in an outage of carts too).
 */
async function aCartFurtherOn(offset: number, ask: (offset: number) => Promise<unknown[] | RemoteServiceError>): Promise<boolean> {
  for (let position = offset; position < offset + LOOK_FURTHER; position++) {
    const found = await ask(position);
    if (!(found instanceof RemoteServiceError)) return found.length > 0;
  }
  return false;
}

/** A page of `top` carts; when Retail Server fails it because of one cart, the page up to that cart. */
export async function searchPastUnreadableCart(top: number, options: NarrowingOptions): Promise<CartSearchPage> {
  let firstError: RemoteServiceError;
  try {
    return { records: await options.search(0, top, false) };
  } catch (error) {
    if (!isCartFailure(error)) throw error;
    firstError = error;
  }

  const timeUp = () => cutShort(firstError, 'Not narrowed to find the cart it fails for', 'the next run searches this page again.');
  /** The request's answer, or the failure when it is one a cart may cause. */
  async function settled(request: () => Promise<unknown[]>): Promise<unknown[] | RemoteServiceError> {
    if (options.outOfTime?.()) throw timeUp();
    try {
      return await request();
    } catch (error) {
      if (isCartFailure(error)) return error;
      throw mayBeAboutARecord(error) ? timeUp() : error;
    }
  }
  const ask = (offset: number, count: number, narrowing: boolean) => settled(() => options.search(offset, count, narrowing));
  const searchFurther = options.searchFurther ?? ((offset: number) => options.search(offset, 1, true));
  const askFurther = (offset: number) => settled(() => searchFurther(offset));
  const answers = (outcome: unknown[] | RemoteServiceError): outcome is unknown[] => !(outcome instanceof RemoteServiceError);

  // A service that fails every search is not narrowed.
  if (options.outOfTime?.()) throw timeUp();
  const probed = await options.probe().then(
    () => true,
    (error: unknown) => {
      if (isCartFailure(error)) return false;
      throw mayBeAboutARecord(error) ? timeUp() : error;
    },
  );
  if (!probed) throw firstError;

  // The longest prefix answered: `answered` carts load, the first `failing` do not.
  let answered: unknown[] = [];
  let failing = top;
  while (failing - answered.length > 1) {
    const middle = Math.floor((answered.length + failing) / 2);
    const records = await ask(0, middle, true);
    if (!answers(records)) failing = middle;
    // A shorter answer than asked: the page has no cart at the position that failed it, so the
    // failure is not one cart's (or the range changed meanwhile); the page fails as before.
    else if (records.length < middle) throw firstError;
    else answered = records;
  }
  const index = answered.length;
  // The cart alone, with every retry: a failure that was brief must not cost a cart its reminder.
  const alone = await ask(index, 1, false);
  // Answered alone: the failures were brief after all (or the range changed), so the page is read again whole.
  if (answers(alone)) return { records: await options.search(0, top, false) };
  // Then a cart near it must be answered (the one after it, else the one before it, else one of
  // the few after those): a search that fails for every cart (an extension that throws on any
  // cart, an outage of the cart store, perhaps one that began during the halving) is no one cart's
  // fault, and would otherwise skip the window one cart at a time.
  const next = await ask(index + 1, 1, true);
  const after = answers(next) ? next : undefined;
  if (!after && (index === 0 || !answers(await ask(index - 1, 1, true))) && !(await aCartFurtherOn(index + 2, askFurther))) throw firstError;
  // And, with Retail Server answering that, the cart fails once more: a failure between two answers.
  const again = await ask(index, 1, true);
  if (answers(again)) return { records: await options.search(0, top, false) };
  // The answers came at different moments: a cart before it that changed meanwhile (it leaves the
  // window) would have moved every position after it. The carts before it, asked for once more,
  // must be the ones the halving found, or the page fails as before (the next run reads it again).
  if (index > 0) {
    const before = await ask(0, index, true);
    const same = options.sameRecord ?? ((a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b));
    if (!answers(before) || before.length !== answered.length || !before.every((record, i) => same(record, answered[i]))) throw firstError;
  }
  return { records: answered, unreadable: { index, reason: alone.message, after } };
}

