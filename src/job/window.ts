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
  if (requested?.from || requested?.to) {
    const to = requested.to ?? new Date(now.getTime() - excludeMinutes * MINUTE);
    const from = requested.from ?? new Date(to.getTime() - (includeMinutes - excludeMinutes) * MINUTE);
    return { from, to, source: 'request', cartIdsDoneAtFrom: [] };
  }
  const to = new Date(now.getTime() - excludeMinutes * MINUTE);
  if (checkpoint) {
    const at = new Date(checkpoint.lastModifiedAt);
    // A checkpoint past `to` (Exclude was raised since) leaves an empty window, not a reversed one.
    if (at.getTime() > to.getTime()) return { from: to, to, source: 'checkpoint', cartIdsDoneAtFrom: [] };
    return { from: at, to, source: 'checkpoint', cartIdsDoneAtFrom: [...checkpoint.cartIdsAtLastModified] };
  }
  return { from: new Date(now.getTime() - includeMinutes * MINUTE), to, source: 'include-minutes', cartIdsDoneAtFrom: [] };
}
