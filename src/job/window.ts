import type { Checkpoint } from '../store/ledger';

export interface RunWindow {
  from: Date;
  to: Date;
  source: 'checkpoint' | 'include-minutes' | 'request';
  /** Carts at exactly `from` that a previous run finished already. */
  cartIdsDoneAtFrom: string[];
}

const MINUTE = 60_000;

/**
 * A rerun's window from what it gives: without `to` it ends where a run's window ends (now minus
 * Exclude); without `from` it is as long as a first run's (Include minus Exclude), ending at `to`.
 */
export function rerunBounds(requested: { from?: Date | undefined; to?: Date | undefined }, now: Date, includeMinutes: number, excludeMinutes: number): { from: Date; to: Date } {
  const to = requested.to ?? new Date(now.getTime() - excludeMinutes * MINUTE);
  const from = requested.from ?? new Date(to.getTime() - (includeMinutes - excludeMinutes) * MINUTE);
  return { from, to };
}

/**
 * The carts a run looks at: modified in [from, to], both inclusive. `to` is now minus Exclude, so a
 * cart still being edited is left alone; `from` is where the last run stopped (its checkpoint), or
 * now minus Include on the first run. A rerun may give its own bounds.
 */
export function computeWindow(input: {
  now: Date;
  includeMinutes: number;
  excludeMinutes: number;
  checkpoint: Checkpoint | undefined;
  requested?: { from?: Date | undefined; to?: Date | undefined } | undefined;
}): RunWindow {
  const { now, includeMinutes, excludeMinutes, checkpoint, requested } = input;
  if (requested?.from || requested?.to) return { ...rerunBounds(requested, now, includeMinutes, excludeMinutes), source: 'request', cartIdsDoneAtFrom: [] };
  const to = new Date(now.getTime() - excludeMinutes * MINUTE);
  if (checkpoint) {
    const at = new Date(checkpoint.lastModifiedAt);
    // A checkpoint past `to` (Exclude was raised since) leaves an empty window, not a reversed one.
    if (at.getTime() > to.getTime()) return { from: to, to, source: 'checkpoint', cartIdsDoneAtFrom: [] };
    return { from: at, to, source: 'checkpoint', cartIdsDoneAtFrom: [...checkpoint.cartIdsAtLastModified] };
  }
  return { from: new Date(now.getTime() - includeMinutes * MINUTE), to, source: 'include-minutes', cartIdsDoneAtFrom: [] };
}

const DAY = 86_400_000;

/** A run's window and what the run is to make of it. */
export interface WindowPlan {
  window: RunWindow;
  /**
   * Where the checkpoint stands when it is past the window's end (an earlier run went further:
   * Exclude was raised since): there is nothing to read yet, and the checkpoint must not move back,
   * or its carts would be read again.
   */
  checkpointAhead?: Date | undefined;
  /**
   * Where the checkpoint stood when it was older than the ledger's records (the app stopped, or
   * every run failed, for longer than TimeToLiveDays): the records of the carts sent after it have
   * expired, so reading from it would remind them again. The window starts where the ledger still
   * knows instead.
   */
  expiredCheckpoint?: Date | undefined;
}

/** `computeWindow`, with what the checkpoint's place and the ledger's record lifetime mean for the run. */
export function planWindow(input: Parameters<typeof computeWindow>[0] & { recordTtlDays?: number | undefined }): WindowPlan {
  const window = computeWindow(input);
  const checkpointAt = input.checkpoint && window.source === 'checkpoint' ? new Date(input.checkpoint.lastModifiedAt) : undefined;
  if (checkpointAt && checkpointAt.getTime() > window.to.getTime()) return { window, checkpointAhead: checkpointAt };
  const oldest = oldestRecord(input.now, input.recordTtlDays);
  if (window.source === 'checkpoint' && oldest && window.from.getTime() < oldest.getTime()) {
    return { window: { ...window, from: oldest, cartIdsDoneAtFrom: [] }, expiredCheckpoint: window.from };
  }
  return { window };
}

/**
 * Throws when a rerun's window starts before the ledger's oldest record: the ledger no longer
 * knows whether those carts were reminded, so they would be reminded again.
 */
export function assertRerunWithinRecords(window: RunWindow, now: Date, recordTtlDays: number | undefined): void {
  const oldest = oldestRecord(now, recordTtlDays);
  if (window.source !== 'request' || !oldest || window.from.getTime() >= oldest.getTime()) return;
  throw new Error(
    `The rerun window starts ${window.from.toISOString()}, more than AzureCosmosOptions.TimeToLiveDays ` +
      `(${recordTtlDays}) days ago: the ledger's records of those carts have expired, so they would be reminded again. ` +
      `Give a from after ${oldest.toISOString()}.`,
  );
}

/** When the ledger's oldest notification record was written (undefined: records never expire). */
function oldestRecord(now: Date, recordTtlDays: number | undefined): Date | undefined {
  return recordTtlDays === undefined ? undefined : new Date(now.getTime() - recordTtlDays * DAY);
}
