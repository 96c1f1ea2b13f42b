import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The clients count their calls and retries for as long as they live, and a warm Functions worker
 * shares them between invocations: runs that overlap in one process (a dry rerun beside the
 * timer's run, a rerun that finds the unit busy) add to the same counters. So each run keeps a
 * tally of its own, which travels with its calls in async context, as its logger and time budget
 * do: a change to counters made with `sharedCounters` is added to the tally of the run that made
 * the call, and `ofThisRun` reads that run's part.
 */
const tallies = new AsyncLocalStorage<Map<object, Record<string, number>>>();

/** Runs `work` with a tally of its own: the calls made within it are counted apart from any others. */
export function withRunTally<T>(work: () => Promise<T>): Promise<T> {
  return tallies.run(new Map(), work);
}

/** Counters of `keys`, all 0, used as plain numbers (`counters.calls++`); each change also goes to the current run's tally. */
export function sharedCounters<K extends string>(keys: readonly K[]): Record<K, number> {
  const totals = new Map<string, number>(keys.map((key) => [key, 0]));
  const counters = {} as Record<K, number>;
  for (const key of keys) {
    Object.defineProperty(counters, key, {
      enumerable: true,
      get: () => totals.get(key) ?? 0,
      set: (value: number) => {
        const tally = tallies.getStore();
        if (tally) {
          const own = tally.get(counters) ?? {};
          own[key] = (own[key] ?? 0) + value - (totals.get(key) ?? 0);
          tally.set(counters, own);
        }
        totals.set(key, value);
      },
    });
  }
  return counters;
}

/** The current run's part of `counters` (made with `sharedCounters`); all of it outside a run. */
export function ofThisRun<T extends object>(counters: T): T {
  const tally = tallies.getStore();
  if (!tally) return { ...counters };
  const own = tally.get(counters) ?? {};
  return Object.fromEntries(Object.keys(counters).map((key) => [key, own[key] ?? 0])) as T;
}
