import type { FailureDependency, RunReport, SkipReason } from './report';

/**
 * Failure reasons a report names, at most: the most frequent. The report is one Cosmos DB document
 * (2 MB at most), the HTTP rerun's answer and one log line, and a service may fail each cart with
 * a text of its own (a per-contact error quoting a trace id, a lookup failure naming the account).
 */
export const REPORTED_FAILURE_REASONS = 25;
/** What the failures past those are counted under, last in the report. */
export const OTHER_FAILURE_REASONS = '(other reasons)';
/** Distinct reasons kept while a run works; past them a new reason is counted with the others at once. */
const KEPT_FAILURE_REASONS = 1_000;

/** The tallies a run keeps while it works; `summary` turns them into the report's shape. */
export class RunCounters {
  pages = 0;
  seen = 0;
  eligible = 0;
  notified = 0;
  failed = 0;
  /** Of `failed`: carts whose send the provider failed as a whole (down, credentials or event refused). */
  providerDown = 0;
  invalidCustomers = 0;
  invalidProducts = 0;
  private readonly skipped = new Map<SkipReason, number>();
  private readonly droppedLines = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly failuresByDependency = new Map<FailureDependency, number>();

  skip(reason: SkipReason, count = 1): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + count);
  }

  dropLines(reasons: readonly string[]): void {
    for (const reason of reasons) this.droppedLines.set(reason, (this.droppedLines.get(reason) ?? 0) + 1);
  }

  /**
   * Counts a failure's reason and where it came from, not a failed cart: a cart's outcome is
   * counted apart (`failed`), and one cart may meet two failures (its lookup, then its record).
   */
  countFailureReason(reason: string, dependency: FailureDependency): void {
    this.countReason(reason, 1);
    this.failuresByDependency.set(dependency, (this.failuresByDependency.get(dependency) ?? 0) + 1);
  }

  /** Adds what `other` counted (a range of pages that ended, into the run's tallies). */
  add(other: RunCounters): void {
    this.pages += other.pages;
    this.seen += other.seen;
    this.eligible += other.eligible;
    this.notified += other.notified;
    this.failed += other.failed;
    this.providerDown += other.providerDown;
    this.invalidCustomers += other.invalidCustomers;
    this.invalidProducts += other.invalidProducts;
    for (const [reason, count] of other.skipped) this.skip(reason, count);
    for (const [reason, count] of other.droppedLines) this.droppedLines.set(reason, (this.droppedLines.get(reason) ?? 0) + count);
    for (const [reason, count] of other.failures) this.countReason(reason, count);
    for (const [dependency, count] of other.failuresByDependency) this.failuresByDependency.set(dependency, (this.failuresByDependency.get(dependency) ?? 0) + count);
  }

  private countReason(reason: string, count: number): void {
    const counted = this.failures.has(reason) || this.failures.size < KEPT_FAILURE_REASONS ? reason : OTHER_FAILURE_REASONS;
    this.failures.set(counted, (this.failures.get(counted) ?? 0) + count);
  }

  /**
   * Most frequent first; equal counts by reason, so pages finishing in another order give the same
   * report. Past REPORTED_FAILURE_REASONS, the rest are counted together, last.
   */
  private failureList(): RunReport['failures'] {
    const named = [...this.failures]
      .filter(([reason]) => reason !== OTHER_FAILURE_REASONS)
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
    const others = named.slice(REPORTED_FAILURE_REASONS).reduce((sum, failure) => sum + failure.count, this.failures.get(OTHER_FAILURE_REASONS) ?? 0);
    const shown = named.slice(0, REPORTED_FAILURE_REASONS);
    return others > 0 ? [...shown, { reason: OTHER_FAILURE_REASONS, count: others }] : shown;
  }

  summary(): Pick<RunReport, 'pages' | 'carts' | 'lines' | 'failures' | 'failuresByDependency' | 'invalidRecords'> {
    const skippedByReason = Object.fromEntries([...this.skipped].sort(([a], [b]) => a.localeCompare(b))) as RunReport['carts']['skippedByReason'];
    const droppedByReason = Object.fromEntries([...this.droppedLines].sort(([a], [b]) => a.localeCompare(b)));
    return {
      pages: this.pages,
      carts: {
        seen: this.seen,
        eligible: this.eligible,
        notified: this.notified,
        failed: this.failed,
        ...(this.providerDown > 0 ? { providerDown: this.providerDown } : {}),
        skipped: [...this.skipped.values()].reduce((sum, n) => sum + n, 0),
        skippedByReason,
      },
      lines: { dropped: [...this.droppedLines.values()].reduce((sum, n) => sum + n, 0), droppedByReason },
      failures: this.failureList(),
      failuresByDependency: Object.fromEntries(this.failuresByDependency),
      invalidRecords: { customers: this.invalidCustomers, products: this.invalidProducts },
    };
  }
}
