import type { Clock } from '../../src/shared/clock';

/** A clock the test moves by hand, so windows, claims and leases are deterministic. */
export class TestClock implements Clock {
  private time: number;
  /** 'live' follows the real clock until the test moves it (for code that reads the real time). */
  constructor(start: string | Date | 'live') {
    this.time = start === 'live' ? Number.NaN : new Date(start).getTime();
  }
  now(): Date {
    return new Date(Number.isNaN(this.time) ? Date.now() : this.time);
  }
  set(at: string | Date): void {
    this.time = new Date(at).getTime();
  }
  advanceMinutes(minutes: number): void {
    this.time = this.now().getTime() + minutes * 60_000;
  }
}
