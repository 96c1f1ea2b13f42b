import { z } from 'zod';

/**
 * What the connector reads from Retail Server, parsed record by record. Unknown fields are
 * dropped; a record that does not fit is skipped with a reason, never trusted.
 */

const isoDateTime = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not an ISO-8601 date-time' })
  .transform((value) => new Date(value));

/** Commerce sends decimals as JSON numbers; accept numeric strings too, reject NaN and infinities. */
const decimal = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number)]).pipe(z.number().finite());

const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? undefined);

/** Record ids (RecordId, ProductId) are Int64 in Commerce; the ones in use fit a JS number. */
const recordId = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER));

export const channelConfigurationSchema = z.object({
  RecordId: recordId,
  Currency: z.string().min(1),
  DefaultLanguageId: z.string().min(1),
  TimeZoneInfoId: optionalText,
});
export type ChannelConfiguration = z.infer<typeof channelConfigurationSchema>;

/** Just what keyset paging needs, so a cart with a bad body still moves the cursor. */
export const cartKeySchema = z.object({
  Id: z.string().min(1),
  ModifiedDateTime: isoDateTime,
});
export type CartKey = z.infer<typeof cartKeySchema>;

export const cartLineSchema = z.object({
  LineId: optionalText,
  ProductId: recordId,
  ItemId: optionalText,
  Quantity: decimal,
  Price: decimal.nullish().transform((v) => v ?? undefined),
  ExtendedPrice: decimal.nullish().transform((v) => v ?? undefined),
  IsVoided: z.boolean().nullish().transform((v) => v ?? false),
  IsGiftCardLine: z.boolean().nullish().transform((v) => v ?? false),
  Description: optionalText,
});
export type CartLine = z.infer<typeof cartLineSchema>;

/** The cart without its lines; lines are parsed one by one so one bad line drops only itself. */
export const cartHeaderSchema = cartKeySchema.extend({
  CustomerId: optionalText,
  ReceiptEmail: optionalText,
  CartTypeValue: z.number().int().nullish().transform((v) => v ?? undefined),
  TotalAmount: decimal.nullish().transform((v) => v ?? undefined),
  SubtotalAmount: decimal.nullish().transform((v) => v ?? undefined),
  CartLines: z.array(z.unknown()).nullish().transform((v) => v ?? []),
});

export interface Cart extends Omit<z.infer<typeof cartHeaderSchema>, 'CartLines'> {
  CartLines: CartLine[];
  /** Lines that did not parse and were dropped. */
  invalidLineCount: number;
}

export const customerSchema = z.object({
  AccountNumber: z.string().min(1),
  Email: optionalText,
  FirstName: optionalText,
  LastName: optionalText,
  Language: optionalText,
});
export type Customer = z.infer<typeof customerSchema>;

export const productSchema = z.object({
  RecordId: recordId,
  ProductName: optionalText,
  Name: optionalText,
  ItemId: optionalText,
  Image: z
    .object({
      Items: z
        .array(z.object({ Url: optionalText, AltText: optionalText }).nullable())
        .nullish()
        .transform((items) => (items ?? []).filter((item) => item !== null)),
    })
    .nullish()
    .transform((v) => v ?? undefined),
  Price: decimal.nullish().transform((v) => v ?? undefined),
});
export type Product = z.infer<typeof productSchema>;

/** Retail Server's collection envelope. Its items stay unknown until each is parsed. */
export const collectionSchema = z.object({ value: z.array(z.unknown()) });

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(record)'} ${issue.message}`)
    .join('; ');
}

export function parseRecord<T>(schema: z.ZodType<T>, raw: unknown): ParseResult<T> {
  const result = schema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, reason: describe(result.error) };
}

/** Parses a cart, dropping (and counting) lines that do not parse. */
export function parseCart(raw: unknown): ParseResult<Cart> {
  const header = parseRecord(cartHeaderSchema, raw);
  if (!header.ok) return header;
  const lines: CartLine[] = [];
  let invalidLineCount = 0;
  for (const rawLine of header.value.CartLines) {
    const line = cartLineSchema.safeParse(rawLine);
    if (line.success) lines.push(line.data);
    else invalidLineCount++;
  }
  return { ok: true, value: { ...header.value, CartLines: lines, invalidLineCount } };
}
