export type RunStatus = 'completed' | 'failed' | 'unit-busy';

/** Why a cart was not reminded; every skipped cart is counted under exactly one. */
export const SKIP_REASONS = [
  'invalid-record',
  'unreadable-record',
  'duplicate-record',
  'outside-window',
  'not-a-shopping-cart',
  'no-active-lines',
  'anonymous-not-included',
  'anonymous-without-email',
  'customer-not-found',
  'customer-without-email',
  'invalid-email',
  'superseded',
  'no-products-found',
  'already-notified',
  'already-handled',
  'claimed-by-another-run',
] as const;

export type SkipReason = (typeof SKIP_REASONS)[number];

/** What a failed cart's failure came from. */
export type FailureDependency = 'provider' | 'store' | 'retail';

/** What a run did, for the log line, the CLI's `--json`, the HTTP rerun and the stored run record. */
export interface RunReport {
  runId: string;
  status: RunStatus;
  dryRun: boolean;
  trigger: 'timer' | 'http' | 'cli';
  operatingUnitNumber: string;
  channelId?: number | undefined;
  window: { from: string; to: string; source: 'checkpoint' | 'include-minutes' | 'request' };
  pages: number;
  carts: {
    seen: number;
    eligible: number;
    notified: number;
    failed: number;
    /**
     * Of `failed`, set when there are any: carts whose send the provider failed as a whole (down,
     * throttling past the retries, the credentials or the event refused). They cost no attempt and
     * wait for a run in which the provider works; a run that delivered nothing while some failed
     * so fails its timer invocation, so that monitoring sees the provider down.
     */
    providerDown?: number | undefined;
    skipped: number;
    skippedByReason: Partial<Record<SkipReason, number>>;
  };
  lines: { dropped: number; droppedByReason: Record<string, number> };
  /** Customer and product records Retail Server returned that did not parse (carts count under skipped). */
  invalidRecords: { customers: number; products: number };
  /** Carts that failed, by reason (provider failures, lookups Retail Server failed for one record, ledger writes that did not land). */
  failures: { reason: string; count: number }[];
  /** The same failures by the dependency at fault: `provider`, `retail` or `store`. */
  failuresByDependency: Record<string, number>;
  calls: Record<string, number>;
  retries: Record<string, number>;
  checkpoint?: { lastModifiedAt: string; cartIdsAtLastModified: number } | undefined;
  /**
   * Set when the run reached its time limit (`MaxRunMinutes`) before the end of its window: the
   * part it left. A timer run's successor starts there by itself (the checkpoint); a rerun is
   * repeated with this window.
   */
  remaining?: { from: string; to: string } | undefined;
  /** Set when the run did not complete, or the unit was busy. */
  error?: string | undefined;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}
