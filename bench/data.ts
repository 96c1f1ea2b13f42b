import { seededRandom, type Random } from '../src/local/random';
import { buildSimulatorData, cartRecord, customerRecord, productRecord, type CartLineSpec, type RawRecord, type SimulatorData } from '../src/simulators/retail-server';
import type { StoreShape } from './types';

/**
 * The benchmark's store: `carts` shopping carts spread over the window of a run shortly after
 * `now`, for about as many customers, a few products each, with the mix a busy store has, so that
 * every path of a page is taken at scale:
 * - about 5% of carts belong to a customer who has a newer one (superseded, recorded as skipped);
 * - about 2% have only voided lines (no-active-lines), 1% belong to an account that does not
 *   exist (customer-not-found), 1% hold only products that are not in the catalogue
 *   (no-products-found), 1% of customers have no email (customer-without-email);
 * - about 2% of the other lines name a product that does not exist (dropped, the cart stays);
 * - every 97th cart shares its timestamp with the one before (keyset paging across ties).
 * Everything comes from a seeded generator: the same options give the same store.
 */

export const DEFAULT_SHAPE: StoreShape = { linesPerCart: { min: 1, max: 5 }, catalogue: 500 };

/** The default window is [now - 500 min, now - 10 min]; carts keep clear of both edges. */
const OLDEST_MINUTES = 480;
const NEWEST_MINUTES = 20;
const MINUTE = 60_000;

const FIRST_PRODUCT_ID = 68_719_476_737;
const MISSING_PRODUCT_ID = 99_000_000_001;

export interface GeneratedStore {
  data: SimulatorData;
  /** Carts a run shortly after `now` finds in its window (all of them). */
  cartsInWindow: number;
}

export function generateStore(options: { carts: number; seed: number; now: Date; shape?: StoreShape }): GeneratedStore {
  const { carts, seed, now } = options;
  const shape = options.shape ?? DEFAULT_SHAPE;
  if (!Number.isInteger(carts) || carts < 1) throw new RangeError(`carts must be a positive integer, got ${carts}`);
  const random = seededRandom(seed);
  const products = Array.from({ length: shape.catalogue }, (_, k) =>
    productRecord(FIRST_PRODUCT_ID + k, { ProductName: `Product ${k + 1}`, Price: 5 + (k % 60), BasePrice: 5 + (k % 60) }),
  );
  const customerCount = Math.max(1, carts - Math.floor(carts * 0.05));
  const customers = Array.from({ length: customerCount }, (_, i) =>
    customerRecord(accountNumber(i), random.chance(0.01) ? { Email: '' } : { FirstName: `First${i}`, LastName: `Last${i}` }),
  );
  const owners = shuffled(
    [...Array.from({ length: customerCount }, (_, i) => i), ...Array.from({ length: carts - customerCount }, () => random.int(0, customerCount - 1))],
    random,
  );

  const start = now.getTime() - OLDEST_MINUTES * MINUTE;
  const step = ((OLDEST_MINUTES - NEWEST_MINUTES) * MINUTE) / carts;
  const records: RawRecord[] = [];
  let time = start;
  for (let i = 0; i < carts; i++) {
    if (i % 97 !== 96) time = Math.floor(start + i * step);
    const kind = random.next();
    const id = `bench-cart-${String(i).padStart(7, '0')}`;
    const cart = cartRecord({
      id,
      customerId: kind < 0.01 ? `MISSING-${i}` : accountNumber(owners[i] as number),
      modifiedDateTime: new Date(time).toISOString(),
      lines: cartLines(random, shape, kind),
    });
    if (shape.unreadKb) addUnreadFields(cart, shape.unreadKb * 1024);
    records.push(cart);
  }
  return { data: buildSimulatorData({ customers, products, carts: records }), cartsInWindow: carts };
}

/** About the JSON length of one field `unreadFields` makes. */
const UNREAD_FIELD_BYTES = 48;

/** `bytes` of fields the connector does not read, 40% on the cart and the rest spread over its lines. */
function addUnreadFields(cart: RawRecord, bytes: number): void {
  const lines = cart.CartLines as RawRecord[];
  const onCart = lines.length > 0 ? Math.round(bytes * 0.4) : bytes;
  Object.assign(cart, unreadFields('CartField', onCart, String(cart.Id)));
  for (const [n, line] of lines.entries()) Object.assign(line, unreadFields('LineField', (bytes - onCart) / lines.length, `${String(cart.Id)}-${n}`));
}

function unreadFields(prefix: string, bytes: number, tag: string): RawRecord {
  const fields: RawRecord = {};
  for (let f = 0; f * UNREAD_FIELD_BYTES < bytes; f++) fields[`${prefix}${f}`] = `${tag}/${f}`.padEnd(28, '.');
  return fields;
}

function accountNumber(index: number): string {
  return `BC${String(index).padStart(7, '0')}`;
}

function cartLines(random: Random, shape: StoreShape, kind: number): CartLineSpec[] {
  const count = random.int(shape.linesPerCart.min, shape.linesPerCart.max);
  return Array.from({ length: count }, () => {
    const known = FIRST_PRODUCT_ID + random.int(0, shape.catalogue - 1);
    const productId = kind >= 0.01 && kind < 0.02 ? MISSING_PRODUCT_ID : random.chance(0.02) ? MISSING_PRODUCT_ID + 1 : known;
    return { productId, quantity: random.int(1, 3), price: 5 + (productId % 60), isVoided: kind >= 0.02 && kind < 0.04 };
  });
}

function shuffled<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
