import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The time a run has left for its calls to Retail Server and Cosmos DB, in milliseconds. The
 * clients outlive a run (Functions reuse them), so the run's limit travels with its calls in async
 * context, as the invocation's logger does.
 */
const callBudget = new AsyncLocalStorage<() => number>();

/**
 * Runs `work` with `remainingMs` as the time its calls may still take: a retry whose wait (backoff
 * or a server's hint) does not fit in it is not made, and the call fails at once, so a throttled or
 * failing dependency cannot hold a run past its time limit and the host's timeout.
 */
export function withCallBudget<T>(remainingMs: () => number, work: () => Promise<T>): Promise<T> {
  return callBudget.run(remainingMs, work);
}

/** The time the current run has left for its calls, in ms (undefined outside a run). */
export function callTimeLeft(): number | undefined {
  return callBudget.getStore()?.();
}

/** Whether the current run has no time left for its calls (never outside a run). */
export function callTimeIsUp(): boolean {
  return (callTimeLeft() ?? Number.POSITIVE_INFINITY) <= 0;
}
