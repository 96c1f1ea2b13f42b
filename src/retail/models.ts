import { z } from 'zod';

/**
 * What the connector reads from Retail Server, parsed record by record. Unknown fields are
 * dropped; a record that does not fit is skipped with a reason, never trusted.
 */

/*
 * Pages of 1,000 carts are parsed twice a run, so the schemas are written to allocate little:
 * fields are checked with plain zod types (no transform per field, no pipe around the object, which
 * would keep zod from its compiled fast path), and each valid record is then shaped into its domain
 * type in one step (null to undefined, numeric strings to numbers). Measured on a page of 1,000
 * carts: about half the time and half the garbage of a transform per field.
 */

/** A zod schema and the one step that shapes what it accepted; parsed like a zod schema. */
export interface RecordSchema<T> {
  safeParse(raw: unknown): { success: true; data: T } | { success: false; error: z.ZodError };
}

function shaped<S extends z.ZodType, T>(schema: S, shape: (valid: z.output<S>) => T): RecordSchema<T> {
  return {
    safeParse(raw) {
      const result = schema.safeParse(raw);
      return result.success ? { success: true, data: shape(result.data) } : { success: false, error: result.error };
    },
  };
}

const isoDateTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not an ISO-8601 date-time' });

const DECIMAL = /^-?\d+(\.\d+)?$/;
const DIGITS = /^\d+$/;

function isDecimal(value: unknown): value is number | string {
  return typeof value === 'number' ? Number.isFinite(value) : typeof value === 'string' && DECIMAL.test(value) && Number.isFinite(Number(value));
}

function isRecordId(value: unknown): value is number | string {
  const n = typeof value === 'number' ? value : typeof value === 'string' && DIGITS.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0;
}

/** Commerce sends decimals as JSON numbers; accept numeric strings too, reject NaN and infinities. */
const decimal = z.custom<number | string>(isDecimal, { message: 'is not a finite decimal' });

/** Record ids (RecordId, ProductId) are Int64 in Commerce; the ones in use fit a JS number. */
const recordId = z.custom<number | string>(isRecordId, { message: 'is not a positive whole number within 2^53' });

const text = z.string().nullish();

const toNumber = (value: number | string): number => (typeof value === 'number' ? value : Number(value));
const optionalNumber = (value: number | string | null | undefined): number | undefined => (value == null ? undefined : toNumber(value));
const optional = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

export const channelConfigurationSchema = shaped(
  z.object({
    RecordId: recordId,
    Currency: z.string().min(1),
    DefaultLanguageId: z.string().min(1),
    TimeZoneInfoId: text,
  }),
  (c) => ({ RecordId: toNumber(c.RecordId), Currency: c.Currency, DefaultLanguageId: c.DefaultLanguageId, TimeZoneInfoId: optional(c.TimeZoneInfoId) }),
);
export type ChannelConfiguration = ParsedBy<typeof channelConfigurationSchema>;

/** Just what keyset paging needs, so a cart with a bad body still moves the cursor. */
export const cartKeySchema = shaped(z.object({ Id: z.string().min(1), ModifiedDateTime: isoDateTime }), (key) => ({
  Id: key.Id,
  ModifiedDateTime: new Date(key.ModifiedDateTime),
}));
export type CartKey = ParsedBy<typeof cartKeySchema>;

export const cartLineSchema = shaped(
  z.object({
    LineId: text,
    ProductId: recordId,
    ItemId: text,
    Quantity: decimal,
    Price: decimal.nullish(),
    ExtendedPrice: decimal.nullish(),
    IsVoided: z.boolean().nullish(),
    IsGiftCardLine: z.boolean().nullish(),
    Description: text,
  }),
  (line) => ({
    LineId: optional(line.LineId),
    ProductId: toNumber(line.ProductId),
    ItemId: optional(line.ItemId),
    Quantity: toNumber(line.Quantity),
    Price: optionalNumber(line.Price),
    ExtendedPrice: optionalNumber(line.ExtendedPrice),
    IsVoided: line.IsVoided ?? false,
    IsGiftCardLine: line.IsGiftCardLine ?? false,
    Description: optional(line.Description),
  }),
);
export type CartLine = ParsedBy<typeof cartLineSchema>;

/** The cart without its lines; lines are parsed one by one so one bad line drops only itself. */
export const cartHeaderSchema = shaped(
  z.object({
    Id: z.string().min(1),
    ModifiedDateTime: isoDateTime,
    CustomerId: text,
    ReceiptEmail: text,
    CartTypeValue: z.number().int().nullish(),
    TotalAmount: decimal.nullish(),
    SubtotalAmount: decimal.nullish(),
    CartLines: z.array(z.unknown()).nullish(),
  }),
  (cart) => ({
    Id: cart.Id,
    ModifiedDateTime: new Date(cart.ModifiedDateTime),
    CustomerId: optional(cart.CustomerId),
    ReceiptEmail: optional(cart.ReceiptEmail),
    CartTypeValue: optional(cart.CartTypeValue),
    TotalAmount: optionalNumber(cart.TotalAmount),
    SubtotalAmount: optionalNumber(cart.SubtotalAmount),
    CartLines: cart.CartLines ?? [],
  }),
);

export interface Cart extends Omit<ParsedBy<typeof cartHeaderSchema>, 'CartLines'> {
  CartLines: CartLine[];
  /** Lines that did not parse and were dropped. */
  invalidLineCount: number;
}

export const customerSchema = shaped(
  z.object({
    AccountNumber: z.string().min(1),
    Email: text,
    FirstName: text,
    LastName: text,
    Language: text,
  }),
  (c) => ({
    AccountNumber: c.AccountNumber,
    Email: optional(c.Email),
    FirstName: optional(c.FirstName),
    LastName: optional(c.LastName),
    Language: optional(c.Language),
  }),
);
export type Customer = ParsedBy<typeof customerSchema>;

export const productSchema = shaped(
  z.object({
    RecordId: recordId,
    ProductName: text,
    Name: text,
    ItemId: text,
    Image: z.object({ Items: z.array(z.object({ Url: text, AltText: text }).nullable()).nullish() }).nullish(),
    Price: decimal.nullish(),
  }),
  (p) => ({
    RecordId: toNumber(p.RecordId),
    ProductName: optional(p.ProductName),
    Name: optional(p.Name),
    ItemId: optional(p.ItemId),
    Image: p.Image
      ? { Items: (p.Image.Items ?? []).flatMap((item) => (item ? [{ Url: optional(item.Url), AltText: optional(item.AltText) }] : [])) }
      : undefined,
    Price: optionalNumber(p.Price),
  }),
);
export type Product = ParsedBy<typeof productSchema>;

/** The type a record schema parses to. */
export type ParsedBy<S> = S extends RecordSchema<infer T> ? T : never;

/** Retail Server's collection envelope. Its items stay unknown until each is parsed. */
export const collectionSchema = z.object({ value: z.array(z.unknown()) });

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(record)'} ${issue.message}`)
    .join('; ');
}

export function parseRecord<T>(schema: RecordSchema<T>, raw: unknown): ParseResult<T> {
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
