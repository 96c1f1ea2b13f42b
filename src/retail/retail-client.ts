import { ConfigurationError, RemoteServiceError } from '../shared/errors';
import { chunk, mapWithConcurrency } from '../shared/concurrency';
import { silentLogger, type Logger } from '../shared/logger';
import { defaultRetryPolicy, type RetryPolicy } from '../shared/retry';
import {
  channelConfigurationSchema,
  collectionSchema,
  customerSchema,
  parseRecord,
  productSchema,
  type ChannelConfiguration,
  type Customer,
  type Product,
  type RecordSchema,
} from './models';
import { lookupIsolatingFailures, type FailedId, type IsolatedLookup } from './lookup-isolation';
import { createRetailTransport, type RetailCallStats, type RetailEndpoint, type RetailTransport } from './retail-transport';
import type { RetailTokenProvider } from './token-provider';
import { callTimeIsUp } from '../shared/call-budget';

/**
 * The Retail Server calls the connector makes (README, "What a run does"), with their exact bodies.
 * Customers and products are looked up for a whole page at once: ids deduplicated, split into
 * chunks, chunks run with bounded concurrency, so a page costs a constant number of round trips.
 * Every record that comes back is parsed; a bad one is reported, never trusted and never fatal.
 */

export interface CartSearchQuery {
  from: Date;
  to: Date;
  includeAnonymous: boolean;
  top: number;
  skip: number;
  /** Lower goes first when MaxConcurrency requests are in flight (default 0). */
  priority?: number | undefined;
  /** A request of the narrowing that finds a cart Retail Server cannot load: a record's failure (HTTP 500) is tried twice, not the retry policy's attempts. */
  narrowing?: boolean | undefined;
}

/** A record that did not parse, and why. */
export interface InvalidRecord {
  /** Which record and what is wrong with it: `customer AccountNumber C5: Email ...`. */
  reason: string;
  /** The record as `reason` names it: its id field and id, else its position (`#3`). */
  record: string;
  /** What is wrong with it without naming it, which records can be counted by. */
  problem: string;
}

/** How a chunked lookup runs: `concurrency` chunks at once (default MaxConcurrency; 1 is the sample's one call after another). */
export interface LookupOptions {
  concurrency?: number | undefined;
  /** Lower goes first when MaxConcurrency requests are in flight (default 0). */
  priority?: number | undefined;
}

export interface RetailServerClient {
  /** `POST OrgUnits/GetOrgUnitConfiguration`: the channel behind the operating unit number. */
  getChannelConfiguration(): Promise<ChannelConfiguration>;
  /** `POST Carts/Search`: shopping carts modified in [from, to], oldest first. Raw records; the job parses each. */
  searchCarts(query: CartSearchQuery): Promise<unknown[]>;
  /** `POST Carts/Search` by `CartId`: one cart as Retail Server has it now (raw), or undefined. */
  findCart(cartId: string): Promise<unknown>;
  /**
   * `POST Customers/GetByAccountNumbers`, in chunks. Account numbers not found are simply absent;
   * those Retail Server fails every request for (while it answers the others) are in `failed`.
   */
  getCustomers(accountNumbers: readonly string[], options?: LookupOptions): Promise<{ customers: Customer[]; invalid: InvalidRecord[]; failed: FailedId<string>[] }>;
  /** `POST Products/Search` by ids in the channel, in chunks. Ids not found are simply absent; `failed` as for customers. */
  getProducts(productIds: readonly number[], channelId: number, options?: LookupOptions): Promise<{ products: Product[]; invalid: InvalidRecord[]; failed: FailedId<number>[] }>;
  /** HTTP requests and retries so far (within a run, the run's own), per endpoint (`channel`, `cartSearch`, `customers`, `products`, `token`). */
  stats(): RetailCallStats;
}

export interface RetailServerClientOptions {
  /** The Commerce API base, e.g. `https://<csu-host>/Commerce`; a bare host gets `/Commerce`. */
  baseUrl: string;
  operatingUnitNumber: string | number;
  /** Defaults to `7.3`. */
  apiVersion?: string;
  tokenProvider: RetailTokenProvider;
  retry?: RetryPolicy;
  /** The wait between retries; tests pass an instant one. */
  sleep?: (ms: number) => Promise<void>;
  /** The jitter source for backoff; tests may pin it. */
  random?: () => number;
  /** Per HTTP request. Defaults to 30 s. */
  timeoutMs?: number;
  /** Requests in flight at once across every call of this client (chunks, pages, searches). Defaults to 4. */
  maxConcurrency?: number;
  /**
   * Account numbers per customer call. Defaults to 1000, the largest page, so a page's customers
   * are one call.
   */
  customerChunkSize?: number;
  /** Product ids per product call. Defaults to 100: product records are large (names, images, prices). */
  productChunkSize?: number;
  logger?: Logger;
}

export const DEFAULT_API_VERSION = '7.3';

/** Attempts at a record's failure (HTTP 500) per request of a lookup's split or a search's narrowing: the whole request had every retry already. */
const SPLIT_RECORD_ERROR_ATTEMPTS = 2;
/** Bad ids a failed lookup chunk is split to find, at most; past them the rest of the failing ids fail together. */
const ISOLATES_UP_TO = 16;

/**
 * The Commerce API base from what the user configured: a bare host gets `/Commerce` (the Retail
 * Server path of every Commerce Scale Unit), a trailing slash goes. Other paths are kept, for
 * Retail Servers behind a gateway.
 */
export function normalizeRetailServerUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    throw new ConfigurationError([
      `RetailServerClientOptions.RetailServerUrl must be the Retail Server URL of the Commerce Scale Unit, such as ` +
        `https://<csu-host>/Commerce (no query string or credentials), got '${withoutSecrets(value)}'.`,
    ]);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? '/Commerce' : path}`;
}

/**
 * The URL as a message may show it: a user name and password, a query string (an API gateway's
 * subscription key) or a fragment are secrets as likely as not, and the message reaches logs.
 */
function withoutSecrets(value: string): string {
  return value
    .trim()
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#@\s]*@/i, '$1<credentials removed>@')
    .replace(/[?#].*$/s, '?<query removed>');
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1) throw new RangeError(`${name} must be a positive integer, got ${result}`);
  return result;
}

/** What Retail Server takes in the `OUN` header: an operating unit number such as 128. */
export const OPERATING_UNIT_NUMBER = /^[A-Za-z0-9_-]+$/;

export function createRetailServerClient(options: RetailServerClientOptions): RetailServerClient {
  const operatingUnitNumber = String(options.operatingUnitNumber).trim();
  if (!OPERATING_UNIT_NUMBER.test(operatingUnitNumber)) {
    throw new ConfigurationError([
      `RetailServerClientOptions.OperatingUnitNumber must be the channel's operating unit number (e.g. 128), got '${operatingUnitNumber}'.`,
    ]);
  }
  const customerChunkSize = positiveInteger(options.customerChunkSize, 1000, 'customerChunkSize');
  const productChunkSize = positiveInteger(options.productChunkSize, 100, 'productChunkSize');
  const maxConcurrency = positiveInteger(options.maxConcurrency, 4, 'maxConcurrency');
  const transport: RetailTransport = createRetailTransport({
    baseUrl: normalizeRetailServerUrl(options.baseUrl),
    operatingUnitNumber,
    apiVersion: options.apiVersion?.trim() || DEFAULT_API_VERSION,
    tokenProvider: options.tokenProvider,
    retry: options.retry ?? defaultRetryPolicy,
    sleep: options.sleep,
    random: options.random,
    timeoutMs: positiveInteger(options.timeoutMs, 30_000, 'timeoutMs'),
    logger: options.logger ?? silentLogger,
    maxConcurrentRequests: maxConcurrency,
  });

  /** The `value` array of a collection answer; an answer without one is the server's fault. */
  function collectionItems(answer: unknown, operation: string): unknown[] {
    const envelope = collectionSchema.safeParse(answer);
    if (envelope.success) return envelope.data;
    throw new RemoteServiceError(
      `${operation} answered with something other than a collection ({ "value": [...] }). Check RetailServerUrl and ApiVersion.`,
      { service: 'RetailServer', operation, code: 'InvalidResponse', retryable: false },
    );
  }

  /**
   * The last id each lookup endpoint answered for: the probe that tells a bad record from an
   * outage. Without one (a new process), or when it fails, the probe is an id no record has, which
   * Retail Server answers with an empty collection when the endpoint works.
   */
  const knownGood = new Map<RetailEndpoint, string | number>();

  /**
   * A lookup by ids: chunks with bounded concurrency, each chunk asked for until answered, and a
   * chunk Retail Server fails because of some of its ids split to find them (lookup-isolation).
   */
  async function lookupByIds<Id extends string | number>(spec: {
    endpoint: 'customers' | 'products';
    path: string;
    ids: readonly Id[];
    chunkSize: number;
    body: (ids: Id[]) => unknown;
    keyOfRecord: (record: unknown) => string | undefined;
    keyOfId: (id: Id) => string;
    /** An id no record has, to probe with when there is no known-good id or it fails. */
    absentId: Id;
    lookup: LookupOptions | undefined;
  }): Promise<IsolatedLookup<Id>> {
    const operation = `POST ${spec.path}`;
    const call = async (ids: Id[], splitting: boolean): Promise<unknown[]> => {
      const records = await untilAnswered(
        ids,
        async (asked) => {
          const answer = await transport.post(spec.endpoint, spec.path, [['$top', asked.length], ['$skip', 0]], spec.body(asked), {
            priority: spec.lookup?.priority,
            recordErrorAttempts: splitting ? SPLIT_RECORD_ERROR_ATTEMPTS : undefined,
            // A record's failure is split out (lookup-isolation).
            isolatesRecordFailures: true,
          });
          return { records: collectionItems(answer, operation), more: hasNextLink(answer) };
        },
        spec.keyOfRecord,
        spec.keyOfId,
      );
      if (ids[0] !== undefined) knownGood.set(spec.endpoint, ids[0]);
      return records;
    };
    const concurrency = Math.max(1, Math.min(spec.lookup?.concurrency ?? maxConcurrency, maxConcurrency));
    const results = await mapWithConcurrency(chunk(spec.ids, spec.chunkSize), concurrency, (batch) =>
      lookupIsolatingFailures(batch, {
        call,
        knownGood: () => knownGood.get(spec.endpoint) as Id | undefined,
        fallbackProbe: spec.absentId,
        outOfTime: callTimeIsUp,
        concurrency: spec.lookup?.concurrency,
        isolatesUpTo: ISOLATES_UP_TO,
      }),
    );
    return { records: results.flatMap((result) => result.records), failed: results.flatMap((result) => result.failed) };
  }

  return {
    async getChannelConfiguration() {
      const operation = 'POST OrgUnits/GetOrgUnitConfiguration';
      const answer = await transport.post('channel', 'OrgUnits/GetOrgUnitConfiguration', [], {});
      const parsed = parseRecord(channelConfigurationSchema, answer);
      if (parsed.ok) return parsed.value;
      throw new RemoteServiceError(
        `${operation} returned a channel configuration the connector cannot use (${parsed.reason}). ` +
          `Check OperatingUnitNumber '${operatingUnitNumber}'.`,
        { service: 'RetailServer', operation, code: 'InvalidResponse', retryable: false },
      );
    },

    async searchCarts(query) {
      validateCartQuery(query);
      const answer = await transport.post(
        'cartSearch',
        'Carts/Search',
        [
          ['$top', query.top],
          ['$skip', query.skip],
          ['$orderby', 'ModifiedDateTime'],
        ],
        {
          cartSearchCriteria: {
            CartTypeValue: 1,
            LastModifiedDateTimeFrom: query.from.toISOString(),
            LastModifiedDateTimeTo: query.to.toISOString(),
            IncludeAnonymous: query.includeAnonymous,
          },
        },
        // A record's failure is narrowed down to the cart (searchPastUnreadableCart).
        { priority: query.priority, recordErrorAttempts: query.narrowing ? SPLIT_RECORD_ERROR_ATTEMPTS : undefined, isolatesRecordFailures: true },
      );
      const records = collectionItems(answer, 'POST Carts/Search');
      // A page shorter than $top ends a range of the window. One that says it holds more is a
      // server (or a gateway) paging below $top: read as the end, the carts after it would be missed.
      if (records.length < query.top && hasNextLink(answer)) {
        throw new RemoteServiceError(
          `POST Carts/Search answered ${records.length} carts for $top=${query.top} with an @odata.nextLink: Retail Server (or a ` +
            `gateway before it) pages its answers below $top. Set RetailServerClientOptions.PageSize to at most ${Math.max(1, records.length)}.`,
          { service: 'RetailServer', operation: 'POST Carts/Search', code: 'PagedBelowTop', retryable: false },
        );
      }
      return records;
    },

    async findCart(cartId) {
      const answer = await transport.post('cartSearch', 'Carts/Search', [['$top', 1], ['$skip', 0]], {
        cartSearchCriteria: { CartId: cartId, CartTypeValue: 1, IncludeAnonymous: true },
      });
      return collectionItems(answer, 'POST Carts/Search')[0];
    },

    async getCustomers(accountNumbers, lookup) {
      const ids = [...new Set(accountNumbers.map((id) => id.trim()).filter((id) => id !== ''))];
      const found = await lookupByIds({
        endpoint: 'customers',
        path: 'Customers/GetByAccountNumbers',
        ids,
        chunkSize: customerChunkSize,
        body: (asked) => ({ accountNumbers: asked, searchLocationValue: 1 }),
        keyOfRecord: (record) => fieldOf(record, 'AccountNumber')?.toLowerCase(),
        keyOfId: (id) => id.toLowerCase(),
        absentId: 'ABANDONED-CART-CONNECTOR-PROBE',
        lookup,
      });
      const { valid: customers, invalid } = parseEach(found.records, customerSchema, 'customer', 'AccountNumber');
      return { customers, invalid, failed: found.failed };
    },

    async getProducts(productIds, channelId, lookup) {
      const ids = [...new Set(productIds)].filter((id) => Number.isSafeInteger(id) && id > 0);
      const found = await lookupByIds({
        endpoint: 'products',
        path: 'Products/Search',
        ids,
        chunkSize: productChunkSize,
        body: (asked) => ({
          productSearchCriteria: {
            Ids: asked,
            SkipVariantExpansion: true,
            IncludeProductsFromDescendantCategories: false,
            IncludeAttributes: false,
            DataLevelValue: 2,
            Context: { ChannelId: channelId },
          },
        }),
        keyOfRecord: (record) => fieldOf(record, 'RecordId'),
        keyOfId: (id) => String(id),
        absentId: Number.MAX_SAFE_INTEGER,
        lookup,
      });
      const { valid: products, invalid } = parseEach(found.records, productSchema, 'product', 'RecordId');
      return { products, invalid, failed: found.failed };
    },

    stats: () => transport.stats(),
  };
}

/** Whether an OData collection says it holds more than it brought (server-driven paging). */
function hasNextLink(answer: unknown): boolean {
  return answer !== null && typeof answer === 'object' && typeof (answer as Record<string, unknown>)['@odata.nextLink'] === 'string';
}

/**
 * A lookup by ids whose `$top` is the number of ids asked for, as the sample does. A server that
 * answers one id with several records (duplicates) fills that page before every id is answered,
 * and the ids it crowded out would silently read as "not found" (a cart skipped for good). So
 * when a page comes back full, or says it holds more (`@odata.nextLink`: a server, or a gateway
 * before it, that caps its pages below `$top`), the ids it did not answer are asked for again.
 * Each further call answers at least one more id, or the loop stops; a normal answer costs no
 * extra call.
 */
async function untilAnswered<Id>(
  ids: readonly Id[],
  call: (ids: Id[]) => Promise<{ records: unknown[]; more: boolean }>,
  keyOfRecord: (record: unknown) => string | undefined,
  keyOfId: (id: Id) => string,
): Promise<unknown[]> {
  const records: unknown[] = [];
  let asked = [...ids];
  while (asked.length > 0) {
    const { records: page, more } = await call(asked);
    records.push(...page);
    if (page.length < asked.length && !more) break;
    const answered = new Set(page.map(keyOfRecord));
    const unanswered = asked.filter((id) => !answered.has(keyOfId(id)));
    if (unanswered.length === asked.length) break;
    asked = unanswered;
  }
  return records;
}

/** A record's id field as text (string or number), for matching answers to the ids asked for. */
function fieldOf(record: unknown, field: string): string | undefined {
  const value = record && typeof record === 'object' ? (record as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;
}

/** Parses each record on its own: a bad one is reported with its id (or position), the rest come through. */
function parseEach<T>(raw: readonly unknown[], schema: RecordSchema<T>, kind: string, idField: string): { valid: T[]; invalid: InvalidRecord[] } {
  const valid: T[] = [];
  const invalid: InvalidRecord[] = [];
  raw.forEach((record, index) => {
    const parsed = parseRecord(schema, record);
    if (parsed.ok) valid.push(parsed.value);
    else {
      const named = label(record, idField, index);
      invalid.push({ reason: `${kind} ${named}: ${parsed.reason}`, record: named, problem: parsed.reason });
    }
  });
  return { valid, invalid };
}

function validateCartQuery(query: CartSearchQuery): void {
  if (Number.isNaN(query.from.getTime()) || Number.isNaN(query.to.getTime())) throw new RangeError('cart search window has an invalid date');
  if (query.from.getTime() > query.to.getTime()) {
    throw new RangeError(`cart search window starts (${query.from.toISOString()}) after it ends (${query.to.toISOString()})`);
  }
  if (!Number.isInteger(query.top) || query.top < 1) throw new RangeError(`cart search $top must be a positive integer, got ${query.top}`);
  if (!Number.isInteger(query.skip) || query.skip < 0) throw new RangeError(`cart search $skip must be a non-negative integer, got ${query.skip}`);
}

/** Names a record in a skip reason by its id when it has a usable one, else by its position. */
function label(record: unknown, idField: string, index: number): string {
  const id = record && typeof record === 'object' ? (record as Record<string, unknown>)[idField] : undefined;
  return (typeof id === 'string' && id.trim() !== '') || typeof id === 'number' ? `${idField} ${String(id).slice(0, 64)}` : `#${index + 1}`;
}
