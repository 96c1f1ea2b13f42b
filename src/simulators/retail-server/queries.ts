import { z } from 'zod';
import type { RawRecord, SimulatorData } from './types';

/**
 * What each simulated Retail Server operation answers, as pure functions over the data, so the
 * HTTP layer only routes, authenticates and serialises. Request bodies are validated the way
 * Retail Server's OData layer does: a body that does not fit is a 400, never a guess.
 */

/** An answer: a body to serialize, or (from the index) its JSON text already written. */
export type QueryOutcome = { ok: true; body: unknown } | { ok: true; json: string } | { ok: false; status: number; code: string; message: string };

const badRequest = (message: string): QueryOutcome => ({ ok: false, status: 400, code: 'BadRequest', message });

/** OData query options the simulator honours. */
export interface ODataOptions {
  top: number | undefined;
  skip: number;
  orderBy: string | undefined;
}

export function parseODataOptions(query: URLSearchParams): ODataOptions | string {
  const top = nonNegativeInteger(query.get('$top'));
  const skip = nonNegativeInteger(query.get('$skip'));
  if (top === null) return `The query parameter '$top' must be a non-negative integer.`;
  if (skip === null) return `The query parameter '$skip' must be a non-negative integer.`;
  return { top, skip: skip ?? 0, orderBy: query.get('$orderby') ?? undefined };
}

/** undefined when absent, null when present but not a non-negative integer. */
function nonNegativeInteger(value: string | null): number | undefined | null {
  if (value === null) return undefined;
  return /^\d+$/.test(value) ? Number(value) : null;
}

function page<T>(items: readonly T[], options: ODataOptions): T[] {
  const end = options.top === undefined ? undefined : options.skip + options.top;
  return items.slice(options.skip, end);
}

export function collection(items: readonly unknown[], context: string): { '@odata.context': string; value: unknown[] } {
  return { '@odata.context': context, value: [...items] };
}

/** The text `JSON.stringify(collection(items, context))` gives, from each item's JSON text. */
export function collectionJson(itemsJson: readonly string[], context: string): string {
  return `{"@odata.context":${JSON.stringify(context)},"value":[${itemsJson.join(',')}]}`;
}

const isoText = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not an ISO-8601 date-time' });

export const cartSearchBody = z.object({
  cartSearchCriteria: z.object({
    CartId: z.string().nullish(),
    CartTypeValue: z.number().int().nullish(),
    LastModifiedDateTimeFrom: isoText.nullish(),
    LastModifiedDateTimeTo: isoText.nullish(),
    IncludeAnonymous: z.boolean().nullish(),
  }),
});

export const productSearchBody = z.object({
  productSearchCriteria: z.object({
    Ids: z.array(z.union([z.number(), z.string().regex(/^\d+$/)])),
    Context: z.object({ ChannelId: z.union([z.number(), z.string().regex(/^\d+$/)]) }),
  }),
});

export const customersBody = z.object({
  accountNumbers: z.array(z.string()),
  searchLocationValue: z.number().int().nullish(),
});

export function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
}

/** The time a cart was modified, or NaN when its field is missing or not a date. */
export function modifiedTime(cart: RawRecord): number {
  return typeof cart.ModifiedDateTime === 'string' ? Date.parse(cart.ModifiedDateTime) : Number.NaN;
}

function sortableTime(cart: RawRecord): number {
  const time = modifiedTime(cart);
  return Number.isNaN(time) ? Number.MAX_VALUE : time;
}

export function isAnonymous(cart: RawRecord): boolean {
  return typeof cart.CustomerId !== 'string' || cart.CustomerId.trim() === '';
}

/** An id as text for ordering: a missing one first; one that is not a string or number (a broken record) by its JSON. */
function idText(id: unknown): string {
  if (id === null || id === undefined) return '';
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : (JSON.stringify(id) ?? '');
}

/** The ticks below the millisecond (Retail Server keeps 100 ns; `Date.parse` keeps ms). */
function ticksOf(cart: RawRecord): number {
  const digits = typeof cart.ModifiedDateTime === 'string' ? (/:\d\d\.\d{3}(\d{1,4})/.exec(cart.ModifiedDateTime)?.[1] ?? '') : '';
  return Number(digits.padEnd(4, '0'));
}

/** Orders by ModifiedDateTime (to its 100 ns, as Retail Server does) then Id; carts without a readable time sort last. */
export function compareCarts(a: RawRecord, b: RawRecord): number {
  const byTime = sortableTime(a) - sortableTime(b) || ticksOf(a) - ticksOf(b);
  if (byTime !== 0) return byTime;
  const idA = idText(a.Id);
  const idB = idText(b.Id);
  return idA < idB ? -1 : idA > idB ? 1 : 0;
}

/**
 * `Carts/Search`: filters on the cart id (when given), cart type, the modification window (both bounds inclusive) and
 * anonymity, orders by ModifiedDateTime then Id, then pages. Carts whose ModifiedDateTime is
 * missing or unreadable never match a window, as a database comparison with NULL would not.
 */
export function searchCarts(data: SimulatorData, body: unknown, options: ODataOptions): QueryOutcome {
  const parsed = cartSearchBody.safeParse(body);
  if (!parsed.success) return badRequest(`Invalid cart search: ${describe(parsed.error)}`);
  const criteria = parsed.data.cartSearchCriteria;
  const descending = /^ModifiedDateTime\s+desc$/i.test(options.orderBy?.trim() ?? '');
  if (options.orderBy !== undefined && !descending && !/^ModifiedDateTime(\s+asc)?$/i.test(options.orderBy.trim())) {
    return badRequest(`The simulator orders carts only by ModifiedDateTime (asc or desc), not '${options.orderBy}'.`);
  }
  const from = criteria.LastModifiedDateTimeFrom ? Date.parse(criteria.LastModifiedDateTimeFrom) : undefined;
  const to = criteria.LastModifiedDateTimeTo ? Date.parse(criteria.LastModifiedDateTimeTo) : undefined;
  const matches = data.carts.filter((cart) => {
    if (criteria.CartId != null && cart.Id !== criteria.CartId) return false;
    if (criteria.CartTypeValue != null && cart.CartTypeValue !== criteria.CartTypeValue) return false;
    if (!criteria.IncludeAnonymous && isAnonymous(cart)) return false;
    if (from === undefined && to === undefined) return true;
    const time = modifiedTime(cart);
    if (Number.isNaN(time)) return false;
    return (from === undefined || time >= from) && (to === undefined || time <= to);
  });
  const ordered = matches
    .map((cart, index) => ({ cart, index }))
    .sort((a, b) => (descending ? -compareCarts(a.cart, b.cart) : compareCarts(a.cart, b.cart)) || a.index - b.index)
    .map(({ cart }) => cart);
  return { ok: true, body: collection(page(ordered, options), '$metadata#Carts') };
}

/**
 * `Products/Search` by ids in a channel. The products form the assortment of the simulated
 * channel only: a search in another ChannelId finds nothing, as it would on a real server.
 */
export function searchProducts(data: SimulatorData, body: unknown, options: ODataOptions): QueryOutcome {
  const parsed = productSearchBody.safeParse(body);
  if (!parsed.success) return badRequest(`Invalid product search: ${describe(parsed.error)}`);
  const criteria = parsed.data.productSearchCriteria;
  if (String(criteria.Context.ChannelId) !== String(data.channel.RecordId)) {
    return { ok: true, body: collection([], '$metadata#Products') };
  }
  const wanted = new Set(criteria.Ids.map((id) => String(id)));
  const found = data.products.filter((product) => wanted.has(String(product.RecordId)));
  return { ok: true, body: collection(page(found, options), '$metadata#Products') };
}

/**
 * `Customers/GetByAccountNumbers`: the customers whose AccountNumber is in the list, matched
 * ignoring letter case as the Commerce database's collation does.
 */
export function getCustomers(data: SimulatorData, body: unknown, options: ODataOptions): QueryOutcome {
  const parsed = customersBody.safeParse(body);
  if (!parsed.success) return badRequest(`Invalid customer lookup: ${describe(parsed.error)}`);
  const wanted = new Set(parsed.data.accountNumbers.map((accountNumber) => accountNumber.toLowerCase()));
  const found = data.customers.filter((customer) => typeof customer.AccountNumber === 'string' && wanted.has(customer.AccountNumber.toLowerCase()));
  return { ok: true, body: collection(page(found, options), '$metadata#Customers') };
}

/** `OrgUnits/GetOrgUnitConfiguration`: the channel's configuration. */
export function getChannelConfiguration(data: SimulatorData): QueryOutcome {
  return { ok: true, body: { '@odata.context': '$metadata#ChannelConfiguration', ...data.channel } };
}
