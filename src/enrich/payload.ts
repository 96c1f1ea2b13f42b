import type { NotificationData, OrderDetail } from '../providers/email-provider';
import type { Cart, CartLine, ChannelConfiguration, Customer, Product } from '../retail/models';
import { formatDecimal } from './decimal';
import { viewPortImages, type ViewPort, type ViewPortImageCache } from './images';
import { returnToCartUrl } from './return-url';

export interface PayloadSettings {
  imageServerUrl: string;
  viewPorts: readonly ViewPort[];
  returnToCartUrl: string;
}

export type LineDropReason = 'product-not-found' | 'no-price' | 'invalid-quantity' | 'invalid-price';

export type PayloadResult =
  | { ok: true; data: NotificationData; droppedLines: LineDropReason[] }
  | { ok: false; reason: 'no-products-found' | 'invalid-email'; droppedLines: LineDropReason[] };

/** What templates get for quantities and prices: digits, maybe a fraction; no sign, no exponent. */
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

/** Text from Commerce goes into emails; keep it to a sane length whatever the source holds. */
const MAX_TEXT = 256;
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Text as it is sent: trimmed, clipped, and with U+FFFD for each lone surrogate, as the sample's
 * payload (written as UTF-8) carries it. JSON.stringify would send one on as a `\ud83d` escape,
 * which is no character: RFC 8259 leaves what a receiver does with it unpredictable, and strict
 * parsers refuse the whole body, the request's other reminders with it.
 */
function clip(value: string | undefined): string {
  if (!value) return '';
  const trimmed = value.trim().toWellFormed();
  if (trimmed.length <= MAX_TEXT) return trimmed;
  // Not inside a character as the reader sees it: a flag (two regional indicators), an emoji
  // sequence, a letter and its marks, a Hangul syllable typed as jamo; a cut there shows another
  // character. Where one grapheme alone would fill the limit, not inside a code point at least.
  const end = GRAPHEMES.segment(trimmed.slice(0, MAX_TEXT + 16)).containing(MAX_TEXT - 1)?.index ?? 0;
  const cut = trimmed.slice(0, end > 0 ? end : MAX_TEXT - 1);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/** The first of these that has text: a blank ProductName falls back to Name, and so on. */
function firstText(...values: (string | undefined)[]): string {
  for (const value of values) {
    const text = clip(value);
    if (text !== '') return text;
  }
  return '';
}

/** A deliberately loose check: one @, something on both sides, a dot in the domain, no spaces, no half characters. */
export function isPlausibleEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) && value.isWellFormed();
}

/** A line a reminder is about: not voided, not a gift card. */
export function isActiveLine(line: Pick<CartLine, 'IsVoided' | 'IsGiftCardLine'>): boolean {
  return !line.IsVoided && !line.IsGiftCardLine;
}

/** The lines a reminder is about. */
export function activeLines(cart: Pick<Cart, 'CartLines'>) {
  return cart.CartLines.filter(isActiveLine);
}

/**
 * Builds the template data for one cart, with the field names of Microsoft's sample. A line whose
 * product is unknown, or whose quantity or price makes no sense, is dropped and reported; a cart
 * left with no lines is not sent.
 */
export function buildNotificationData(input: {
  cart: Cart;
  email: string;
  customer: Customer | undefined;
  products: ReadonlyMap<number, Product>;
  channel: ChannelConfiguration;
  settings: PayloadSettings;
  /** A run's image URLs per product image (built from the same settings); without it, built per line. */
  images?: ViewPortImageCache | undefined;
}): PayloadResult {
  const { cart, customer, products, channel, settings, images } = input;
  const email = input.email.trim();
  const droppedLines: LineDropReason[] = [];
  if (!isPlausibleEmail(email)) return { ok: false, reason: 'invalid-email', droppedLines };

  const orderDetails: OrderDetail[] = [];
  for (const line of activeLines(cart)) {
    const product = products.get(line.ProductId);
    if (!product) {
      droppedLines.push('product-not-found');
      continue;
    }
    const quantity = line.Quantity > 0 ? formatDecimal(line.Quantity) : '0';
    // A quantity that rounds to 0 at Commerce's six decimals, or one too large to write without an
    // exponent (1e21 and up), is not a quantity a template can show.
    if (quantity === '0' || !PLAIN_DECIMAL.test(quantity)) {
      droppedLines.push('invalid-quantity');
      continue;
    }
    const price = line.Price ?? product.Price;
    if (price === undefined) {
      droppedLines.push('no-price');
      continue;
    }
    const unitPrice = price < 0 ? '' : formatDecimal(price);
    if (!PLAIN_DECIMAL.test(unitPrice)) {
      droppedLines.push('invalid-price');
      continue;
    }
    const productName = firstText(product.ProductName, product.Name, line.Description, product.ItemId, line.ItemId);
    const image = product.Image?.Items[0];
    orderDetails.push({
      // A string, as the sample sends it (`cartLine.ProductId.ToString()`).
      productId: String(product.RecordId),
      productName,
      productImage: {
        altText: clip(image?.AltText) || productName,
        viewPortImages: images ? images.get(image?.Url) : viewPortImages(settings.imageServerUrl, image?.Url, settings.viewPorts),
      },
      quantity,
      unitPrice,
    });
  }
  if (orderDetails.length === 0) return { ok: false, reason: 'no-products-found', droppedLines };

  return {
    ok: true,
    droppedLines,
    data: {
      firstName: clip(customer?.FirstName),
      lastName: clip(customer?.LastName),
      email,
      language: clip(customer?.Language) || channel.DefaultLanguageId,
      currency: channel.Currency,
      returnToCartUrl: returnToCartUrl(settings.returnToCartUrl, cart.Id, cart.CustomerId),
      cartId: cart.Id,
      orderDetails,
    },
  };
}
