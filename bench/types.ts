import type { RunReport } from '../src/job/report';
import type { LedgerStats } from '../src/store/ledger';

/**
 * The shapes that cross the benchmark's process boundaries (orchestrator, job process, stand-ins
 * process) as IPC messages, so they are plain data: numbers, strings, arrays, objects.
 */

export type Strategy = 'pipelined' | 'sequential';
export type StoreKind = 'modeled' | 'embedded';

/** What the generated store looks like besides its size. */
export interface StoreShape {
  /** Cart lines per cart, both inclusive (default 1..5). */
  linesPerCart: { min: number; max: number };
  /** Products in the catalogue (default 500): bounds the distinct products on a page. */
  catalogue: number;
  /**
   * KB of fields per cart that the connector does not read, split between the cart and its lines
   * (default 0). A real Commerce cart carries many (taxes, discounts, charges, attributes).
   */
  unreadKb?: number | undefined;
}

/** One run of the job: one strategy against one store, with its own stand-ins. */
export interface ScenarioConfig {
  strategy: Strategy;
  store: StoreKind;
  carts: number;
  /** Added to every Retail Server and Emarsys response. */
  latencyMs: number;
  pageSize: number;
  /** `RetailServerClientOptions.MaxConcurrency`. */
  concurrency: number;
  /** `RetailServerClientOptions.PageConcurrency`: pages the pipelined strategy works at once. */
  pageConcurrency: number;
  /** What the modeled store charges per request. */
  storeLatencyMs: number;
  /** The embedded store takes this many notification operations a second; undefined: no limit. */
  storeOpsPerSecond?: number | undefined;
  seed: number;
  /** The moment the store is generated for (ISO-8601); its carts sit in the window of a run shortly after. */
  now: string;
  shape: StoreShape;
}

/** Where the stand-ins listen and who they let in. */
export interface Endpoints {
  tenantId: string;
  authorityHost: string;
  retailUrl: string;
  operatingUnitNumber: string;
  retailClientId: string;
  retailClientSecret: string;
  emarsysApiUrl: string;
  emarsysUser: string;
  emarsysSecret: string;
  eventId: string;
  /** The embedded Cosmos DB server (`--store embedded`). */
  cosmos?: { endpoint: string; key: string } | undefined;
}

/** What the stand-ins saw during a run. */
export interface StandInsSummary {
  /** Contacts the Emarsys stand-in fired the event for (first time for their trigger id). */
  deliveries: number;
  /** Contacts sent again with a trigger id already fired (dropped, as Emarsys does). */
  duplicatesDropped: number;
  /** sha256 over every delivery (trigger id, contact, data), sorted: equal digests, equal emails. */
  payloadDigest: string;
  /** The most requests in flight at once, as the servers saw them. */
  peakInFlight: { retail: number; retailLookups: number; emarsys: number; store: number };
  /** CPU the stand-ins used since they were ready, when they ran in their own process. */
  cpuMs?: number | undefined;
  /** With `--store-ops-per-second`: the job's store operations refused with 429 (they cost no request units). */
  storeRefused?: number | undefined;
}

/** The embedded store's capacity, measured in the same run before the job. */
export interface StoreCapacity {
  /** Bulk operations (reads, creates, replaces) per second, 100 to a request, 4 requests in flight. */
  operationsPerSecond: number;
  /** Median time of one point read: the embedded store's latency per request. */
  requestMs: number;
  operations: number;
  elapsedMs: number;
  /**
   * The share of the measurement the calling thread was busy (event loop utilization, 0 to 1):
   * near 1, the capacity is the Cosmos client's on one thread as much as the server's.
   */
  clientThreadBusy: number;
}

/** What the job process measured about itself while the job ran. */
export interface JobMeasurement {
  report: Pick<RunReport, 'status' | 'error' | 'window' | 'pages' | 'carts' | 'calls' | 'retries' | 'failures' | 'lines'>;
  /** The cart searches that had to follow one another (see search-chain.ts). */
  searchChain: { survey: number; pass: number };
  wallMs: number;
  /** The job process's CPU, every thread of it (V8's collector threads and libuv's pool included). */
  cpuMs: { user: number; system: number };
  /** How long the job's JavaScript thread was busy (event loop utilization's active time). */
  threadBusyMs: number;
  /**
   * When the survey had read its last page, from the run's start, and how long the job thread was
   * busy until then; undefined when the run reported no survey page.
   */
  survey: { endedMs: number; threadBusyMs: number } | undefined;
  /** RSS before and at its peak, the live heap after full collections (memory.ts), the process's max RSS. */
  memory: { beforeBytes: number; peakBytes: number; peakLiveHeapBytes: number; fullCollections: number; heapFlags: string[]; maxRssBytes: number };
  /** Store counters over the run (requests, reads, writes). */
  store: LedgerStats;
  /** Warnings and errors the job logged. */
  warnings: number;
  errors: string[];
}

/** Everything one scenario produced, before the figures are derived from it. */
export interface ScenarioOutcome {
  config: ScenarioConfig;
  cartsInWindow: number;
  job: JobMeasurement;
  /** The stand-ins' summary; its `cpuMs` counts the job's run only (not the capacity probe). */
  standIns: StandInsSummary;
  capacity?: StoreCapacity | undefined;
  /** The cores the machine gives the processes (`os.availableParallelism()`). */
  cores?: number | undefined;
}
