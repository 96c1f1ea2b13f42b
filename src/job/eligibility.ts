import { activeLines } from '../enrich/payload';
import type { Cart } from '../retail/models';
import type { SkipReason } from './report';

/**
 * The checks a cart passes before anything is fetched for it, each with the reason recorded when
 * it fails. Checks that need the customer, the products or the ledger come later in the page.
 */
export interface CartCheckContext {
  from: Date;
  to: Date;
  includeAnonymous: boolean;
}

type CartCheck = (cart: Cart, context: CartCheckContext) => SkipReason | undefined;

const SHOPPING_CART = 1;

const cartChecks: readonly CartCheck[] = [
  (cart, { from, to }) => {
    const t = cart.ModifiedDateTime.getTime();
    return t < from.getTime() || t > to.getTime() ? 'outside-window' : undefined;
  },
  (cart) => (cart.CartTypeValue !== undefined && cart.CartTypeValue !== SHOPPING_CART ? 'not-a-shopping-cart' : undefined),
  (cart) => (activeLines(cart).length === 0 ? 'no-active-lines' : undefined),
  (cart, { includeAnonymous }) => (!cart.CustomerId && !includeAnonymous ? 'anonymous-not-included' : undefined),
  (cart) => (!cart.CustomerId && !cart.ReceiptEmail?.trim() ? 'anonymous-without-email' : undefined),
];

export function checkCart(cart: Cart, context: CartCheckContext): SkipReason | undefined {
  for (const check of cartChecks) {
    const reason = check(cart, context);
    if (reason) return reason;
  }
  return undefined;
}

/** Whose cart it is: the customer account, or the receipt email of an anonymous cart. */
export function customerKey(cart: Cart): string {
  return cart.CustomerId ? `account:${cart.CustomerId}` : `email:${(cart.ReceiptEmail ?? '').trim().toLowerCase()}`;
}
