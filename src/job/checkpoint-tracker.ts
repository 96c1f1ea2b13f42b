/**
 * Follows the carts of a run in ModifiedDateTime order and knows how far the checkpoint may move:
 * every cart before `at` has a final outcome, and so do the carts at exactly `at` listed in `ids`.
 * A cart without a final outcome (a retryable failure, a claim held by another run, a write that
 * did not land) stops the checkpoint there, so the next run sees that cart again.
 */
export class CheckpointTracker {
  private at: number;
  private ids: Set<string>;
  private stalledAt: number | undefined;

  constructor(start: Date, idsDoneAtStart: readonly string[]) {
    this.at = start.getTime();
    this.ids = new Set(idsDoneAtStart);
  }

  /** Carts must be observed in (ModifiedDateTime, Id) order. */
  observe(cartId: string, modifiedAt: Date, final: boolean): void {
    const t = modifiedAt.getTime();
    if (t < this.at) return;
    if (this.stalledAt !== undefined && t > this.stalledAt) return;
    if (t > this.at) {
      this.at = t;
      this.ids = new Set();
    }
    if (final) this.ids.add(cartId);
    else this.stalledAt ??= t;
  }

  /** The window was read to its end: when nothing is pending, the checkpoint moves to `to`. */
  finish(to: Date): void {
    if (this.stalledAt === undefined && to.getTime() > this.at) {
      this.at = to.getTime();
      this.ids = new Set();
    }
  }

  get isStalled(): boolean {
    return this.stalledAt !== undefined;
  }

  position(): { lastModifiedAt: Date; cartIdsAtLastModified: string[] } {
    return { lastModifiedAt: new Date(this.at), cartIdsAtLastModified: [...this.ids].sort() };
  }
}
