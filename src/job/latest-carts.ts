import type { Cart } from '../retail/models';
import { accountNumberOf } from './eligibility';

type CartIdentity = Pick<Cart, 'Id' | 'CustomerId' | 'ReceiptEmail' | 'ModifiedDateTime' | 'ModifiedTicks'>;

/**
 * How carts of one customer at one millisecond are ordered: by the ticks below it, as Retail
 * Server orders them, then by id. Ticks have a fixed width, so the keys compare as text.
 */
function tieKey(cart: Pick<Cart, 'Id' | 'ModifiedTicks'>): string {
  return `${String(cart.ModifiedTicks).padStart(4, '0')}${cart.Id}`;
}

/** Customers of one kind: by account number, or (anonymous carts) by receipt email. */
interface Book {
  /** Per customer, when their newest cart was modified, in ms after the window's start. */
  newest: Map<string, number>;
  /** Per customer whose newest carts share that millisecond, the `tieKey` of the one that counts. */
  tieWinners: Map<string, string>;
}

/**
 * Each customer's latest cart in the window, as the survey found it: the one cart per customer
 * that may be reminded of. It is what a run holds per customer rather than per page, so it is kept
 * small: per customer a short key and a small integer (the newest cart's ModifiedDateTime as ms
 * after the window's start, which V8 keeps unboxed for windows under 24 days): about 60 bytes a
 * customer, measured with 100,000 (a map of cart id and timestamp per customer took 205). More is
 * kept only for a customer whose newest carts share a millisecond: then the later ticks below it
 * count (Retail Server keeps 100 ns), and at the same ticks the greater id, since Retail Server
 * orders carts by nothing finer.
 *
 * Customers are told apart by account number (ignoring case and padding, as the customer lookup
 * matches them), and anonymous carts by their receipt email.
 */
export class LatestCarts {
  private readonly books: readonly [Book, Book] = [
    { newest: new Map(), tieWinners: new Map() },
    { newest: new Map(), tieWinners: new Map() },
  ];

  constructor(private readonly windowStart: Date) {}

  /**
   * Takes in carts that come oldest first (one time slice of the survey; slices may be read at
   * once). A cart tying its customer's newest millisecond is told apart by `tieKey`: the carts of
   * that customer at the current millisecond are remembered until time moves on, so the greatest
   * key wins. Carts that arrive out of order still leave exactly one latest cart per customer.
   */
  reader(): (cart: CartIdentity) => void {
    let instant = Number.NEGATIVE_INFINITY;
    const keysAtInstant: [Map<string, string>, Map<string, string>] = [new Map<string, string>(), new Map<string, string>()];
    return (cart) => {
      const [kind, key] = this.slotOf(cart);
      const book = this.books[kind];
      const at = cart.ModifiedDateTime.getTime() - this.windowStart.getTime();
      if (at > instant) {
        instant = at;
        keysAtInstant[0].clear();
        keysAtInstant[1].clear();
      }
      const newest = book.newest.get(key);
      if (newest === undefined || at > newest) {
        book.newest.set(key, at);
        book.tieWinners.delete(key);
      } else if (at === newest) {
        const other = book.tieWinners.get(key) ?? (at === instant ? keysAtInstant[kind].get(key) : undefined);
        const mine = tieKey(cart);
        book.tieWinners.set(key, other !== undefined && other > mine ? other : mine);
      }
      if (at === instant) {
        const seen = keysAtInstant[kind].get(key);
        const mine = tieKey(cart);
        if (seen === undefined || mine > seen) keysAtInstant[kind].set(key, mine);
      }
    };
  }

  /** Whether `cart` is its customer's latest. A customer the survey did not see has no other cart to prefer. */
  isLatest(cart: CartIdentity): boolean {
    const [kind, key] = this.slotOf(cart);
    const book = this.books[kind];
    const newest = book.newest.get(key);
    if (newest === undefined) return true;
    if (cart.ModifiedDateTime.getTime() - this.windowStart.getTime() !== newest) return false;
    const winner = book.tieWinners.get(key);
    return winner === undefined || winner === tieKey(cart);
  }

  /** Customers counted. */
  get size(): number {
    return this.books[0].newest.size + this.books[1].newest.size;
  }

  private slotOf(cart: Pick<Cart, 'CustomerId' | 'ReceiptEmail'>): [0 | 1, string] {
    const account = accountNumberOf(cart);
    return account ? [0, account.toLowerCase()] : [1, (cart.ReceiptEmail ?? '').trim().toLowerCase()];
  }
}
