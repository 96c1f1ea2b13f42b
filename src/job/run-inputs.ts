import type { ViewPort } from '../enrich/images';
import type { IEmailProvider } from '../providers/email-provider';
import type { RetailServerClient } from '../retail/retail-client';
import type { NotificationLedger } from '../store/ledger';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RunReport } from './report';

// What a run is given: its settings, its dependencies and the entry point's request.

export interface JobSettings {
  operatingUnitNumber: string;
  includeMinutes: number;
  excludeMinutes: number;
  pageSize: number;
  includeAnonymous: boolean;
  returnToCartUrl: string;
  imageServerUrl: string;
  viewPorts: readonly ViewPort[];
  /** A claim older than this, whose run died, may be taken over. Also the unit lease's length. */
  claimTimeoutMinutes: number;
  maxSendAttempts: number;
  /**
   * `AzureCosmosOptions.TimeToLiveDays`: how long the ledger keeps notification records. A rerun
   * may not reach further back than that: the ledger no longer knows those carts were reminded.
   */
  recordTtlDays?: number | undefined;
  /**
   * `pipelined` (default): the survey's ranges are searched at once and up to `pageConcurrency`
   * pages are worked at once. `sequential`: Microsoft's sample's pattern, one page at a time along
   * one keyset chain and each call awaited in turn; kept to measure the difference.
   */
  strategy?: 'pipelined' | 'sequential' | undefined;
  /** Pages worked at once by the pipelined strategy (default 10). Retail Server calls stay capped by MaxConcurrency. */
  pageConcurrency?: number | undefined;
  /**
   * At most this many time slices the survey reads at once when the window holds many pages
   * (default 8). Twice MaxConcurrency is enough: each slice's chain of searches is then half as
   * long as the survey's share of Retail Server, and every slice costs a part page.
   */
  surveySlices?: number | undefined;
  /**
   * After this many minutes the run starts no new page: the pages in flight finish and are
   * recorded, the checkpoint moves past them, and the report's `remaining` says what is left for
   * the next run. Undefined: no limit.
   */
  maxRunMinutes?: number | undefined;
}

/** Everything the job talks to, passed in so tests and the CLI can give it real stand-ins. */
export interface JobDependencies {
  retail: RetailServerClient;
  ledger: NotificationLedger;
  provider: IEmailProvider;
  clock: Clock;
  logger: Logger;
  settings: JobSettings;
  newRunId?: () => string;
  /** Called after each page, for progress displays. */
  onProgress?: (progress: RunProgress) => void;
}

export interface RunProgress {
  phase: 'survey' | 'pages';
  pages: number;
  seen: number;
  notified: number;
  failed: number;
}

export interface JobRequest {
  trigger: RunReport['trigger'];
  /** A rerun's own window; without it the window runs from the checkpoint (or Include) to now minus Exclude. */
  from?: Date | undefined;
  to?: Date | undefined;
  /** Read and evaluate everything; claim, send and record nothing. */
  dryRun?: boolean | undefined;
  /** The entry point's own limit on the run's length, in minutes; the smaller of it and the setting applies. */
  maxRunMinutes?: number | undefined;
}
