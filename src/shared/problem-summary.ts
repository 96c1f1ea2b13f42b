import type { Logger } from './logger';

/** Records named on a line, at most: enough to start looking, few enough to keep the line short. */
const SAMPLES = 5;
/** The most of a sample record's id a line shows: ids come from the records, and a record may hold any. */
const SAMPLE_LENGTH = 64;
/** Reasons counted on a line, at most; the records of the others are counted together. */
const REASONS = 5;
const OTHER_REASONS = '(other reasons)';

/**
 * The records of one kind of problem a page (or one ledger read) met (cart records that do not
 * parse, lookups Retail Server fails, outcomes Cosmos DB did not record), logged as one line once they are all known
 * instead of a line per record: a bad day brings thousands, Application Insights bills every line,
 * and the run report counts each record by reason already. The line says how many (`count`), the
 * first record's `reason`, the count per reason when there are several (`byReason`), and the ids
 * of a few records (`samples`). Callers pass ids and reasons only: never an email address, a token
 * or a customer's name.
 */
export class ProblemSummary {
  private count = 0;
  private readonly byReason = new Map<string, number>();
  private readonly samples: (string | number)[] = [];

  add(reason: string, id?: string | number): void {
    this.count++;
    const counted = this.byReason.has(reason) || this.byReason.size < REASONS ? reason : OTHER_REASONS;
    this.byReason.set(counted, (this.byReason.get(counted) ?? 0) + 1);
    if (id !== undefined && this.samples.length < SAMPLES) this.samples.push(typeof id === 'string' && id.length > SAMPLE_LENGTH ? `${id.slice(0, SAMPLE_LENGTH)}…` : id);
  }

  /** One line for the records added so far, if any. */
  log(logger: Logger, level: 'info' | 'warn', message: string): void {
    if (this.count === 0) return;
    const [reason] = this.byReason.keys();
    logger[level](message, {
      count: this.count,
      reason,
      ...(this.byReason.size > 1 ? { byReason: Object.fromEntries(this.byReason) } : {}),
      ...(this.samples.length > 0 ? { samples: this.samples } : {}),
    });
  }
}
