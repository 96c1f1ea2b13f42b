import type { ScriptedResponse, TlsMaterial } from '../http-server';

/**
 * A Retail Server record as the simulator stores and returns it: a raw JSON object, not a parsed
 * model, so that tests can plant records with wrong or missing fields and watch the connector skip
 * them. A response that is not even an object is scripted with `failNext` instead.
 */
export type RawRecord = Record<string, unknown>;

export interface SimulatorData {
  /** What `OrgUnits/GetOrgUnitConfiguration` returns (RecordId, Currency, DefaultLanguageId, ...). */
  channel: RawRecord;
  /** Matched on `AccountNumber`. */
  customers: RawRecord[];
  /** Matched on `RecordId`; image URLs usually relative, like `Products/ABC_000_001.png`. */
  products: RawRecord[];
  /** Searched on `CartTypeValue`, `ModifiedDateTime` and `CustomerId`. */
  carts: RawRecord[];
}

export type SimulatorEndpoint = 'channel' | 'cartSearch' | 'customers' | 'products';

export interface RecordedRequest {
  /** The route it matched; undefined for an unknown route. */
  endpoint: SimulatorEndpoint | undefined;
  method: string;
  /** The request target as sent, e.g. `/Commerce/Carts/Search?$top=100&$skip=0&api-version=7.3`. */
  url: string;
  /** The URL path, e.g. `/Commerce/Carts/Search`. */
  path: string;
  /** Decoded query parameters, e.g. `{ $top: '100', 'api-version': '7.3' }`. */
  query: Record<string, string>;
  /** Lower-case names; `authorization` shows only its scheme, never the token. */
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** Whether the bearer token passed `authorize` (false also when there was none). */
  authorized: boolean;
}

export interface RetailServerSimulatorOptions {
  /** Kept by reference: changes a test makes to it (or to `simulator.data`) show in later answers. */
  data: SimulatorData;
  /** Decides whether a bearer token is good, e.g. `(t) => tokenServer.isValidToken(t, audience)`. */
  authorize: (bearerToken: string) => boolean;
  tls?: TlsMaterial;
  host?: string;
  port?: number;
  /** When set, requests whose `OUN` header names another operating unit are refused (400). */
  operatingUnitNumber?: string;
  /**
   * Added to every response, in milliseconds, as a distant or busy Retail Server takes (default 0).
   * The benchmark's service latency.
   */
  latencyMs?: number;
  /** Keep every request in `requests` (default true). A benchmark turns it off so memory stays flat. */
  recordRequests?: boolean;
  /**
   * Answer from an index built when the simulator starts (default false): for large data that is
   * not changed while the simulator runs (see indexed-queries.ts). Answers are the same.
   */
  indexed?: boolean;
  /** Told when a request arrives and when its answer has been sent, e.g. to count requests in flight. */
  onRequest?: (event: { endpoint: SimulatorEndpoint | undefined; phase: 'start' | 'end' }) => void;
}

export interface RetailServerSimulator {
  /** The Commerce API base, ending in `/Commerce`. */
  baseUrl: string;
  requests: RecordedRequest[];
  data: SimulatorData;
  /**
   * Answers the next calls to `endpoint` with these responses, in order, then behaves normally.
   * They are played before the token and OUN checks, as a failing gateway or server would answer;
   * a 200 with a hand-written body is how a test serves a malformed envelope.
   */
  failNext(endpoint: SimulatorEndpoint, responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

export type { ScriptedResponse };
