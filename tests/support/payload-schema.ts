import { z } from 'zod';

/**
 * The notification payload as the README ("The email data") and SPEC section 7 document it,
 * written from the documentation rather than from the code, with the limits a template may rely
 * on: a plausible email, quantities and prices as decimal strings without trailing zeros
 * (quantities above zero, prices not negative), absolute http(s) image and cart URLs, at least
 * one line, and text clipped to a sane length. A payload that fails it is data the connector
 * should never have sent.
 */

/** The payload's text fields are clipped to this many characters (an ellipsis included). */
export const MAX_TEXT = 256;

const decimalString = z.string().regex(/^(0|[1-9]\d*)(\.\d*[1-9])?$/, 'a decimal string without sign, exponent or trailing zeros');

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}, 'an absolute http(s) URL');

const text = z.string().max(MAX_TEXT);

export const orderDetailSchema = z.object({
  // The product's RecordId as the sample sends it: a positive whole number, as a string.
  productId: z.string().regex(/^[1-9]\d{0,15}$/).refine((id) => Number.isSafeInteger(Number(id))),
  productName: text,
  productImage: z.object({
    altText: text,
    viewPortImages: z.array(z.object({ url: httpUrl, media: z.string().min(1), useForDefaultImageTag: z.boolean() })),
  }),
  quantity: decimalString.refine((value) => Number(value) > 0, 'greater than zero'),
  unitPrice: decimalString,
});

export const notificationDataSchema = z.object({
  firstName: text,
  lastName: text,
  email: z
    .string()
    .max(254)
    .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'a plausible email address'),
  language: text.min(1),
  currency: z.string().min(1),
  returnToCartUrl: httpUrl,
  cartId: z.string().min(1),
  orderDetails: z.array(orderDetailSchema).min(1),
});

export const notificationSchema = z.object({
  triggerId: z.string().regex(/^cart-[0-9a-f]{40}$/),
  email: z.string().min(1),
  data: notificationDataSchema,
});
