/** Counts requests in flight and remembers the most there were at once. */
export class InFlight {
  private current = 0;
  private highest = 0;

  start(): void {
    this.current += 1;
    this.highest = Math.max(this.highest, this.current);
  }

  end(): void {
    this.current -= 1;
  }

  get peak(): number {
    return this.highest;
  }
}
