import type { Notification } from '../../src/providers/email-provider';
import type { RawRecord, SimulatorData } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';

/**
 * Traces a sent notification back to the raw records it came from, with conditions written
 * independently of the connector's parser: a cart with that id, at the modification the trigger
 * id names, inside the window, a shopping cart; the email exactly its customer's (or, anonymous,
 * its receipt email); and every line of the payload a live line of that cart, for a product the
 * store has, in that quantity. Necessary, not sufficient: it proves nothing was made up or mixed
 * between carts, whatever the records looked like.
 */

const isObject = (value: unknown): value is RawRecord => typeof value === 'object' && value !== null && !Array.isArray(value);

function cartTime(cart: RawRecord): number {
  return typeof cart.ModifiedDateTime === 'string' ? Date.parse(cart.ModifiedDateTime) : Number.NaN;
}

function emailMatches(cart: RawRecord, data: SimulatorData, email: string): boolean {
  const customerId = typeof cart.CustomerId === 'string' ? cart.CustomerId.trim() : '';
  if (customerId === '') return typeof cart.ReceiptEmail === 'string' && cart.ReceiptEmail.trim() === email;
  return data.customers.some(
    (customer) =>
      typeof customer.AccountNumber === 'string' &&
      customer.AccountNumber.trim().toLowerCase() === customerId.toLowerCase() &&
      typeof customer.Email === 'string' &&
      customer.Email.trim() === email,
  );
}

function linesMatch(cart: RawRecord, data: SimulatorData, notification: Notification): boolean {
  const lines = Array.isArray(cart.CartLines) ? cart.CartLines.filter(isObject) : [];
  return notification.data.orderDetails.every(
    (detail) =>
      data.products.some((product) => String(product.RecordId) === detail.productId) &&
      lines.some(
        (line) =>
          line.IsVoided !== true &&
          line.IsGiftCardLine !== true &&
          String(line.ProductId) === detail.productId &&
          Math.abs(Number(line.Quantity) - Number(detail.quantity)) < 1e-6,
      ),
  );
}

export function traceProblems(notification: Notification, data: SimulatorData, window: { from: number; to: number }): string[] {
  const candidates = data.carts.filter((cart) => cart.Id === notification.data.cartId);
  if (candidates.length === 0) return [`no cart ${notification.data.cartId.slice(0, 40)} in the store`];
  const traced = candidates.some((cart) => {
    const time = cartTime(cart);
    return (
      time >= window.from &&
      time <= window.to &&
      notificationId(String(cart.Id), new Date(time)) === notification.triggerId &&
      (cart.CartTypeValue === undefined || cart.CartTypeValue === null || cart.CartTypeValue === 1) &&
      emailMatches(cart, data, notification.email) &&
      linesMatch(cart, data, notification)
    );
  });
  return traced ? [] : [`notification ${notification.triggerId} for cart ${notification.data.cartId.slice(0, 40)} matches no record`];
}
