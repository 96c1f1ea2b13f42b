/**
 * A limit on calls in flight that follows a server's throttling, the way TCP follows congestion
 * (additive increase, multiplicative decrease): each call that goes through unthrottled raises the
 * limit by 1/limit (about one more call per round of `limit` calls), and a throttled call halves it.
 * Calls in flight when the limit was halved were sent under the old limit; their throttling is the
 * same congestion and does not halve it again. Waiting calls start in arrival order.
 *
 * A server that never throttles never lowers it from `initial`; one that does brings it down to
 * about what it takes, instead of refusing every retry again.
 */
export interface AdaptiveConcurrencyOptions {
  initial: number;
  min: number;
  max: number;
}

/** Handed out when a call starts; given back with whether the server throttled it. */
export interface Slot {
  readonly generation: number;
}

export class AdaptiveConcurrency {
  private current: number;
  private active = 0;
  private generation = 0;
  private readonly waiting: (() => void)[] = [];
  private cuts = 0;

  constructor(private readonly options: AdaptiveConcurrencyOptions) {
    if (!(options.min >= 1 && options.min <= options.initial && options.initial <= options.max)) {
      throw new RangeError(`AdaptiveConcurrency needs 1 <= min <= initial <= max; got ${JSON.stringify(options)}`);
    }
    this.current = options.initial;
  }

  /** Calls allowed in flight now. */
  get limit(): number {
    return Math.floor(this.current);
  }

  /** How often throttling has halved the limit. */
  get decreases(): number {
    return this.cuts;
  }

  async acquire(): Promise<Slot> {
    if (this.active < this.limit && this.waiting.length === 0) this.active++;
    // A waiter is counted as active by the release that wakes it, so no later call takes its place.
    else await new Promise<void>((start) => this.waiting.push(start));
    return { generation: this.generation };
  }

  /** `holdMs`: a throttled call keeps its place that long more, pacing the calls after it. */
  release(slot: Slot, throttled: boolean, holdMs = 0): void {
    this.adjust(slot, throttled);
    if (throttled && holdMs > 0) setTimeout(() => this.free(), holdMs);
    else this.free();
  }

  private adjust(slot: Slot, throttled: boolean): void {
    if (throttled) {
      if (slot.generation === this.generation && this.current > this.options.min) {
        this.current = Math.max(this.options.min, this.current / 2);
        this.generation++;
        this.cuts++;
      }
    } else {
      this.current = Math.min(this.options.max, this.current + 1 / this.current);
    }
  }

  private free(): void {
    this.active--;
    while (this.active < this.limit && this.waiting.length > 0) {
      this.active++;
      (this.waiting.shift() as () => void)();
    }
  }
}
