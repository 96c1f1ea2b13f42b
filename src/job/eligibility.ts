import { isActiveLine } from '../enrich/payload';
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
  (cart) => (cart.CartLines.some(isActiveLine) ? undefined : 'no-active-lines'),
  (cart, { includeAnonymous }) => (!accountNumberOf(cart) && !includeAnonymous ? 'anonymous-not-included' : undefined),
  (cart) => (!accountNumberOf(cart) && !cart.ReceiptEmail?.trim() ? 'anonymous-without-email' : undefined),
];

export function checkCart(cart: Cart, context: CartCheckContext): SkipReason | undefined {
  for (const check of cartChecks) {
    const reason = check(cart, context);
    if (reason) return reason;
  }
  return undefined;
}

/** The cart's customer account number, trimmed; undefined for an anonymous cart. */
export function accountNumberOf(cart: Pick<Cart, 'CustomerId'>): string | undefined {
  const account = cart.CustomerId?.trim();
  return account ? account : undefined;
}
