import { cutShort } from '../retail/lookup-isolation';
import type { RetailServerClient } from '../retail/retail-client';
import { isCartFailure, type UnreadableCart } from '../retail/unreadable-cart';
import { RemoteServiceError } from '../shared/errors';
import { keyOf, lastPlaced, timeOf } from './cart-keys';
import type { CartPageQuery, PageCursor, PageRead, RawCart } from './cart-pages';

// Where a range goes on past a cart Retail Server could not load (`searchPastUnreadableCart`): the
// cart's instant is known only to lie between the last cart before it and the first after it, so
// the cursor past it counts positions with `$skip` (from the newest instant before it, or from where
// a `$skip` run began), checks that the next page starts where it must, and resumes keyset paging
// only past the first instant after it. Whether a cart where two ranges meet is this range's is
// decided from Retail Server's answers, never from a failure alone.

/** Retail Server's answers did not say which range a cart it cannot load belongs to: the page is read again by the next run. */
function undecided(query: CartPageQuery, cursor: PageCursor, instant: number): RemoteServiceError {
  return new RemoteServiceError(
    `Retail Server's cart searches did not show whether the cart it cannot load (after ${cursor.from.toISOString()}) was modified before ${new Date(instant).toISOString()}, ` +
      `where the next range of carts starts, so the run cannot tell which range counts it (carts to ${query.to.toISOString()}). The next run reads these carts again.`,
    { service: 'RetailServer', operation: 'POST Carts/Search', code: 'UnreadableCartNotPlaced', retryable: true },
  );
}

/** The error a cart search ran out of time with, as the narrowing reports it; any other error as it is. */
function timeUpOr(error: unknown, query: CartPageQuery, cursor: PageCursor): unknown {
  if (!(error instanceof RemoteServiceError) || !error.outOfTime) return error;
  return cutShort(error, `Not read past a cart Retail Server cannot load (carts from ${cursor.from.toISOString()} to ${query.to.toISOString()})`, 'the next run searches these carts again.');
}

/** Carts before the place `$skip` counts from changed while the range was read past an unreadable cart. */
export function shifted(query: CartPageQuery, cursor: PageCursor): RemoteServiceError {
  return new RemoteServiceError(
    `Carts modified at ${cursor.from.toISOString()} changed while the run read past a cart Retail Server cannot load, so the cart search ` +
      `(from ${cursor.from.toISOString()} to ${query.to.toISOString()}, $skip=${cursor.skip}) no longer starts where it must. ` +
      'The next run reads these carts again.',
    { service: 'RetailServer', operation: 'POST Carts/Search', code: 'CartsShifted', retryable: true },
  );
}

/**
 * A page that ended at a cart Retail Server could not load (`searchPastUnreadableCart`): the carts
 * before it, that cart (as `unreadable`, when it is this range's), and a cursor past it.
 */
export async function pastUnreadableCart(
  retail: Pick<RetailServerClient, 'searchCarts'>,
  query: CartPageQuery,
  cursor: PageCursor,
  page: { records: unknown[]; fresh: RawCart[] },
  unreadable: UnreadableCart,
): Promise<PageRead> {
  const { records, fresh } = page;
  const to = query.to.getTime();
  const before = query.before ?? Number.POSITIVE_INFINITY;
  // The newest instant before it (records without a usable id count: they hold positions too).
  const newest = records.reduce<number>((max, raw) => {
    const t = timeOf(raw);
    return t !== undefined && t > max && t <= to ? t : max;
  }, cursor.from.getTime());
  const next = unreadable.after?.[0];
  const after = next === undefined ? undefined : timeOf(next);
  // It was modified no earlier than the last cart before it and no later than the one after it.
  // A range ends where the next begins (`before`): a cart at or past it is the next range's.
  if (newest >= before) return { fresh, next: undefined };
  if ((after === undefined || after >= before) && Number.isFinite(before) && !(await beforeTheNextRange(retail, query, cursor, unreadable.index))) {
    return { fresh, next: undefined };
  }
  const between = after !== undefined ? `between ${new Date(newest).toISOString()} and ${new Date(after).toISOString()}` : `at or after ${new Date(newest).toISOString()}`;
  const marker: RawCart = {
    raw: undefined,
    key: undefined,
    unreadable: `Retail Server fails every cart search that includes one cart modified ${between}, so it was not read: ${unreadable.reason}`,
  };
  // The range ends with it when the search after it found nothing.
  if (unreadable.after !== undefined && unreadable.after.length === 0) return { fresh: [...fresh, marker], next: undefined };
  // On past it with `$skip`. Inside a `$skip` run already, every position since `from` is counted
  // (the cart's included). Otherwise the page began at `from` with every cart since, so `$skip`
  // counts from the newest instant before the cart, and only a change to a cart at that very instant
  // could shift where the next page starts.
  let from = newest;
  let positionsBefore: number;
  if (cursor.skip > 0) {
    from = cursor.from.getTime();
    positionsBefore = cursor.skip + records.length;
  } else if (newest === cursor.from.getTime()) {
    positionsBefore = records.length;
  } else {
    // From the first record at that instant on: a record whose time does not parse before it lies
    // at an earlier instant (the search orders by time), one after it at or after that instant.
    positionsBefore = records.length - records.findIndex((raw) => timeOf(raw) === newest);
  }
  const sameInstant = from === cursor.from.getTime();
  const seenAtFrom = new Set(
    records.flatMap((raw) => {
      const key = keyOf(raw);
      return key && key.modifiedAt.getTime() === from ? [key.id] : [];
    }),
  );
  if (sameInstant) for (const id of cursor.seenAtFrom) seenAtFrom.add(id);
  // The next page's check of its first record covers this step only: a page after it of records
  // without an id (nothing to check them by), or another unreadable cart (the check can only tell
  // that it starts with one such cart, not which), would leave a cart before them that changed
  // meanwhile unseen. So the last cart read before the unreadable one must still be in place too.
  const placed = lastPlaced(records.map((raw) => ({ key: keyOf(raw) })), positionsBefore - records.length) ?? (sameInstant ? cursor.placed : undefined);
  return {
    fresh: [...fresh, marker],
    next: {
      from: new Date(from),
      seenAtFrom,
      skip: positionsBefore + 1,
      continued: true,
      pastUnreadable: true,
      // The search after it answered (with `next`), or failed: then another unreadable cart follows.
      expectFirst: next !== undefined ? { record: next } : { unreadable: true },
      placed,
    },
  };
}

/**
 * Whether the unreadable cart at `index` of the page lies before the next range's start (so this
 * range counts it). A search of this range stopping short of that start, at the cart's position,
 * answers with nothing if the cart lies past it, and fails if it is there. Told from an answer, or
 * from a failure tried with every retry; anything else (the range changed) fails the page.
 */
async function beforeTheNextRange(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, cursor: PageCursor, index: number): Promise<boolean> {
  const before = query.before as number;
  const atIt = (narrowing: boolean) =>
    retail
      .searchCarts({ from: cursor.from, to: new Date(before - 1), includeAnonymous: query.includeAnonymous, top: 1, skip: cursor.skip + index, priority: query.priority, narrowing })
      .then(
        (records) => {
          if (records.length === 0) return false;
          throw undecided(query, cursor, before);
        },
        (error: unknown) => {
          if (isCartFailure(error)) return undefined;
          throw timeUpOr(error, query, cursor);
        },
      );
  return (await atIt(true)) ?? (await atIt(false)) ?? true;
}
