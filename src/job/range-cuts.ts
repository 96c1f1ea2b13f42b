/**
 * Where the survey may cut a slice of the window into ranges for the processing pass, learnt from
 * its keyset pages. A page holds the oldest carts from where it starts, so once a page has been
 * read, every timestamp older than its newest is complete: all its carts were on this page or an
 * earlier one. A cut may go just before any such timestamp (never inside a run of carts that share
 * one, so Retail Server's order among them never matters). Cuts are made about every `granularity`
 * carts, so that joining neighbouring ranges makes pages that are nearly full.
 */
export class RangeCuts {
  /** Cut instants (ms), the slice's start first; range i is [at[i], at[i+1]). */
  readonly at: number[];
  /** Carts in each closed range. */
  readonly counts: number[] = [];
  /** Carts read but not yet in a closed range, by timestamp. */
  private readonly pending = new Map<number, number>();
  /** Records without a readable timestamp, counted in the range open when they came. */
  private keyless = 0;

  constructor(
    start: number,
    private readonly granularity: number,
  ) {
    this.at = [start];
  }

  /** Takes a page in: the timestamps of its fresh carts (undefined: unreadable). */
  addPage(times: readonly (number | undefined)[]): void {
    let newest = Number.NEGATIVE_INFINITY;
    for (const t of times) {
      if (t === undefined) {
        this.keyless++;
        continue;
      }
      this.pending.set(t, (this.pending.get(t) ?? 0) + 1);
      if (t > newest) newest = t;
    }
    if (newest === Number.NEGATIVE_INFINITY) return;
    // Timestamps older than the page's newest are complete: cut before one once enough came before it.
    const complete = [...this.pending.keys()].filter((t) => t < newest).sort((a, b) => a - b);
    let carts = this.keyless;
    for (const [index, t] of complete.entries()) {
      carts += this.pending.get(t) as number;
      const next = complete[index + 1] ?? newest;
      if (carts >= this.granularity) {
        this.close(next, carts, (u) => u < next);
        carts = 0;
      }
    }
  }

  /** Closes the open range at `end` (all carts before it have been read). */
  cutAt(end: number): void {
    if (end <= (this.at.at(-1) as number)) return;
    let carts = this.keyless;
    for (const [t, n] of this.pending) if (t < end) carts += n;
    this.close(end, carts, (t) => t < end);
  }

  /** Carts in the range still open (it runs to the slice's end). */
  get openCarts(): number {
    let carts = this.keyless;
    for (const n of this.pending.values()) carts += n;
    return carts;
  }

  private close(end: number, carts: number, before: (t: number) => boolean): void {
    this.at.push(end);
    this.counts.push(carts);
    this.keyless = 0;
    for (const t of [...this.pending.keys()]) if (before(t)) this.pending.delete(t);
  }
}
