import { z } from 'zod';
import { rerunBounds } from './window';

/**
 * What a manual rerun may ask for (HTTP body or CLI flags): its own window and a dry run. Dates
 * are ISO-8601 with a time zone, so "10:00" can never mean two different instants.
 */

export const MAX_RERUN_SPAN_DAYS = 31;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Whether the date and time written are a real calendar date and time of day: `Date.parse` rolls
 * 2025-11-31 over to December 1 and takes hour 24, so a typo would move the window unnoticed.
 */
function isCalendarDateTime(value: string): boolean {
  const [, year, month, day, hour, minute, second] = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/i.exec(value) ?? [];
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return (
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day) &&
    Number(hour) < 24 &&
    Number(minute) < 60 &&
    Number(second ?? 0) < 60
  );
}

const isoDateTime = z
  .string({ error: 'must be an ISO-8601 date-time string' })
  .regex(ISO_WITH_ZONE, 'must be an ISO-8601 date-time with a time zone, e.g. 2026-11-23T08:00:00Z')
  .refine((value) => isCalendarDateTime(value) && !Number.isNaN(Date.parse(value)), 'is not a real date and time of day')
  .transform((value) => new Date(value));

export const rerunRequestSchema = z.strictObject(
  {
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${listNames(issue.keys)} (allowed: from, to, dryRun)` : 'must be a JSON object') },
);

const LISTED_NAMES = 5;
const LISTED_NAME_LENGTH = 64;

/**
 * Names from the request (unknown fields, query parameters), for an answer: the first few, each cut
 * short, and how many more, so that a request of a thousand long keys gets an answer of a line.
 */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LISTED_NAMES).map((name) => (name.length > LISTED_NAME_LENGTH ? `${name.slice(0, LISTED_NAME_LENGTH)}…` : name));
  return names.length > LISTED_NAMES ? `${shown.join(', ')} and ${names.length - LISTED_NAMES} more` : shown.join(', ');
}

export interface RerunRequest {
  from?: Date | undefined;
  to?: Date | undefined;
  dryRun: boolean;
}

/** A rerun request's fields, as `checkRerunFields` found them: well typed, the window sound whatever the settings. */
export type RerunFields = z.output<typeof rerunRequestSchema>;

export type RerunCheck<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export type RerunParseResult = RerunCheck<RerunRequest>;

/** What a rerun's window is checked against, from the settings. */
export interface RerunLimits {
  /** ExcludeAbandonedCartsModifiedSinceLastMinutes: a rerun without `to` ends that long ago. */
  excludeMinutes?: number | undefined;
  /**
   * IncludeAbandonedCartsModifiedSinceLastMinutes: a rerun without `from` starts Include minus
   * Exclude minutes before its `to`, as `rerunBounds` makes it.
   */
  includeMinutes?: number | undefined;
  /** AzureCosmosOptions.TimeToLiveDays: the ledger forgets a reminder after that long. */
  recordTtlDays?: number | undefined;
}

/**
 * The first step, what can be told of a rerun request before the settings that bound its window
 * are known: its fields (types, an ISO date-time with a time zone, no unknown field) and what is
 * wrong with its window whatever the settings, so that an entry point reports bad input as such
 * whatever the state of its configuration. `checkRerunWindow` takes the fields on from there.
 */
export function checkRerunFields(input: unknown, now: Date): RerunCheck<RerunFields> {
  const parsed = rerunRequestSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: fieldProblems(parsed.error.issues) };
  const problems = windowProblems(parsed.data.from, parsed.data.to, now);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: parsed.data };
}

const TOO_LONG = `the window may span at most ${MAX_RERUN_SPAN_DAYS} days; split a longer rerun into several`;

/** What is wrong with a window whatever the settings: something in the future, from not before to, a span too long. */
function windowProblems(from: Date | undefined, to: Date | undefined, now: Date): string[] {
  const problems: string[] = [];
  if (from && from.getTime() > now.getTime()) problems.push(`from is in the future (now is ${now.toISOString()})`);
  if (to && to.getTime() > now.getTime()) problems.push(`to is in the future (now is ${now.toISOString()})`);
  if (from && to && from.getTime() >= to.getTime()) problems.push('from must be before to');
  if (from && to && to.getTime() - from.getTime() > MAX_RERUN_SPAN_DAYS * 86_400_000) {
    problems.push(TOO_LONG);
  }
  return problems;
}

function fieldProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((issue) => (issue.path.length ? `${issue.path.map(String).join('.')} ${issue.message}` : issue.message));
}

/**
 * The second step: the window of fields `checkRerunFields` passed, against the settings. A rerun
 * that gives only `from` ends where a run's window ends, now minus `excludeMinutes`, so `from` must
 * come before that, and that span is bounded; one that gives only `to` starts Include minus Exclude
 * minutes before it, and that span is bounded too. Neither may start further back than the ledger
 * keeps its records (`recordTtlDays`): carts reminded before that would be reminded again.
 */
export function checkRerunWindow(fields: RerunFields, now: Date, limits: RerunLimits = {}): RerunParseResult {
  const { from, to, dryRun } = fields;
  const excludeMinutes = limits.excludeMinutes ?? 0;
  const problems: string[] = [];
  // Without to, the window ends where a run's does: now minus Exclude.
  if (from && !to) {
    const defaultTo = rerunBounds({ from }, now, limits.includeMinutes ?? 0, excludeMinutes).to;
    if (from.getTime() >= defaultTo.getTime()) {
      problems.push(
        `from must be before ${defaultTo.toISOString()}: without to, the window ends ${excludeMinutes} minutes ago ` +
          '(ExcludeAbandonedCartsModifiedSinceLastMinutes), since carts changed since then may still be edited; give an earlier from, or a to',
      );
    } else if (defaultTo.getTime() - from.getTime() > MAX_RERUN_SPAN_DAYS * 86_400_000) {
      problems.push(TOO_LONG);
    }
  }
  // Without from, the window the job works out: the Include window's length, ending at `to`.
  const impliedFrom = !from && to && limits.includeMinutes !== undefined ? rerunBounds({ to }, now, limits.includeMinutes, excludeMinutes).from : undefined;
  if (impliedFrom && to && to.getTime() - impliedFrom.getTime() > MAX_RERUN_SPAN_DAYS * 86_400_000) {
    problems.push(`without from, the window starts ${impliedFrom.toISOString()} (to minus Include minus Exclude minutes), and ${TOO_LONG}, each with its from`);
  }
  const oldest = limits.recordTtlDays === undefined ? undefined : new Date(now.getTime() - limits.recordTtlDays * 86_400_000);
  const forgotten = `more than AzureCosmosOptions.TimeToLiveDays (${limits.recordTtlDays}) days ago: the ledger no longer knows which of those carts were reminded, so they would be reminded again`;
  if (from && oldest && from.getTime() < oldest.getTime()) {
    problems.push(`from is ${forgotten}; give a from after ${oldest.toISOString()}`);
  } else if (impliedFrom && oldest && impliedFrom.getTime() < oldest.getTime()) {
    problems.push(
      `without from, the window starts ${impliedFrom.toISOString()} (to minus Include minus Exclude minutes), ${forgotten}; ` +
        `give a from after ${oldest.toISOString()}, or a later to`,
    );
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { from, to, dryRun: dryRun ?? false } };
}

/** Both steps at once, for a caller that has the limits already. */
export function parseRerunRequest(input: unknown, now: Date, limits: RerunLimits = {}): RerunParseResult {
  const fields = checkRerunFields(input, now);
  return fields.ok ? checkRerunWindow(fields.value, now, limits) : fields;
}
