import { cutShort } from '../retail/lookup-isolation';
import type { RetailServerClient } from '../retail/retail-client';
import { isCartFailure, type UnreadableCart } from '../retail/unreadable-cart';
import { RemoteServiceError } from '../shared/errors';
import { keyOf, sameRecord, timeOf } from './cart-keys';
import type { CartPageQuery, PageCursor, PageRead, RawCart } from './cart-pages';

/**
 * Where a range goes on past a cart Retail Server could not load (`searchPastUnreadableCart`): the
 * cart's instant is known only to lie between the last cart before it and the first after it, so
 * the cursor past it counts positions with `$skip` from the newest instant before it, and the few
 * searches that tell where exactly it lies are decided from Retail Server's answers.
 */

/**
 * Whether the cart Retail Server could not load, which the cursor is past, was modified at `instant`
 * (a later one than the cursor's `from`): it then comes first at that instant, before `expected`
 * (the first cart read at it, since what follows the unreadable cart was read from there on). Told
 * from answers, never from a failure alone, which may be brief: the search from that instant
 * answers with `expected` first (it is not there), or, failing, answers with `expected` one cart
 * later (it is); a failure tried with every retry settles it only when nothing else does.
 */
export async function unreadableFirstAt(retail: Pick<RetailServerClient, 'searchCarts'>, query: CartPageQuery, cursor: PageCursor, instant: number, expected: unknown): Promise<boolean> {
  const firstAt = (skip: number, narrowing: boolean) =>
    retail.searchCarts({ from: new Date(instant), to: query.to, includeAnonymous: query.includeAnonymous, top: 1, skip, priority: query.priority, narrowing }).then(
      (records) => sameRecord(records[0], expected),
      (error: unknown) => {
        if (isCartFailure(error)) return undefined;
        throw timeUpOr(error, query, cursor);
      },
    );
  const first = await firstAt(0, true);
  if (first !== undefined) {
    if (first) return false;
    throw undecided(query, cursor, instant);
  }
  if (await firstAt(1, true)) return true;
  const again = await firstAt(0, false);
  if (again === true) return false;
  throw undecided(query, cursor, instant);
}


/** Retail Server's answers did not say where a cart it cannot load lies: the page is read again by the next run. */
function undecided(query: CartPageQuery, cursor: PageCursor, instant: number): RemoteServiceError {
  return new RemoteServiceError(
    `Retail Server's cart searches from ${new Date(instant).toISOString()} did not show whether the cart it cannot load (after ${cursor.from.toISOString()}) ` +
      `was modified then, so the run cannot tell where the next page starts (carts to ${query.to.toISOString()}). The next run reads these carts again.`,
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
  // On from the newest instant before it, `$skip` counting the positions from that instant up to
  // and including it, so that only a change to a cart at that very instant could shift where the
  // next page starts. Records whose time does not parse, after the last one at that instant, hold
  // positions between it and the unreadable cart.
  const sameInstant = newest === cursor.from.getTime();
  let positionsBefore: number;
  if (sameInstant) {
    positionsBefore = cursor.skip + records.length;
  } else {
    let tail = 0;
    while (tail < records.length && [newest, undefined].includes(timeOf(records[records.length - 1 - tail]))) tail++;
    const firstAtNewest = records.find((raw) => timeOf(raw) === newest);
    // Past an earlier unreadable cart, that one may have been modified at this newer instant too.
    const earlierAtNewest = cursor.pastUnreadable && (await unreadableFirstAt(retail, query, cursor, newest, firstAtNewest)) ? 1 : 0;
    positionsBefore = tail + earlierAtNewest;
  }
  const seenAtNewest = new Set(
    records.flatMap((raw) => {
      const key = keyOf(raw);
      return key && key.modifiedAt.getTime() === newest ? [key.id] : [];
    }),
  );
  if (sameInstant) for (const id of cursor.seenAtFrom) seenAtNewest.add(id);
  return {
    fresh: [...fresh, marker],
    next: {
      from: new Date(newest),
      seenAtFrom: seenAtNewest,
      skip: positionsBefore + 1,
      continued: true,
      pastUnreadable: true,
      // The search after it answered (with `next`), or failed: then another unreadable cart follows.
      expectFirst: next !== undefined ? { record: next } : { unreadable: true },
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
