import type { NotificationData, OrderDetail } from '../email-provider';
import { addDecimals, multiplyDecimals, parseDecimal, roundDecimal, ZERO, type Decimal } from './decimal';

/**
 * The numbers an email and the index show about a cart, computed once from the payload:
 * each line's quantity × unit price, the item count and the cart total. A line whose quantity
 * or price is not a decimal is shown without a line total and left out of the sums.
 *
 * Each line total is rounded to the currency's decimals, as the shop charges it and as the email
 * shows it, and the total is their sum: 0.5 kg at 1.99 € is 1,00 €, and two such lines 2,00 €,
 * not the 1,99 € the unrounded 0.995 € each would add up to.
 */

export interface SummaryLine {
  detail: OrderDetail;
  quantity?: Decimal | undefined;
  unitPrice?: Decimal | undefined;
  lineTotal?: Decimal | undefined;
}

export interface CartSummary {
  lines: SummaryLine[];
  /** Sum of the quantities (a cart with 2 shirts and 1 cap holds 3 items). */
  itemCount: Decimal;
  /** Sum of quantity × unit price over the lines. */
  total: Decimal;
}

export function summarizeCart(data: Pick<NotificationData, 'orderDetails'>, moneyDigits: number): CartSummary {
  let itemCount = ZERO;
  let total = ZERO;
  const lines = data.orderDetails.map((detail): SummaryLine => {
    const quantity = parseDecimal(detail.quantity);
    const unitPrice = parseDecimal(detail.unitPrice);
    if (quantity) itemCount = addDecimals(itemCount, quantity);
    if (!quantity || !unitPrice) return { detail, quantity, unitPrice };
    const lineTotal = roundDecimal(multiplyDecimals(quantity, unitPrice), moneyDigits);
    total = addDecimals(total, lineTotal);
    return { detail, quantity, unitPrice, lineTotal };
  });
  return { lines, itemCount, total };
}
