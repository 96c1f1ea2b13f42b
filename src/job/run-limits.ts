import type { Clock } from '../shared/clock';
import type { NotificationCallOptions } from '../store/ledger';

/** How long after the time limit the pages in flight may still wait on a throttled store. */
const OUT_OF_TIME_GRACE_MS = 60_000;

/**
 * A run's time limit and what follows from it. The run starts no new page after `deadline`; the
 * pages in flight then finish, and a minute on (the grace) what the store still throttles or the
 * provider still refuses is not retried (those carts fail for the run), so that a slow container
 * cannot hold the run past the host's functionTimeout.
 */
export interface RunLimits {
  /** The smaller of the setting's and the entry point's limit, in minutes (Infinity: none). */
  limitMinutes: number;
  /** Epoch milliseconds after which no new page starts. */
  deadline: number;
  /** Half the run for the survey at most: the pass needs the rest. */
  surveyDeadline: number;
  /** Passed to every ledger call. */
  store: NotificationCallOptions;
  /** Passed to the provider: past it sends are not retried (undefined: no limit). */
  sendDeadline: Date | undefined;
  /** Milliseconds the run's calls may still spend retrying (the deadline and its grace). */
  callTimeLeft: () => number;
}

export function runLimits(startedAt: Date, clock: Pick<Clock, 'now'>, ...limitsInMinutes: (number | undefined)[]): RunLimits {
  const limitMinutes = Math.min(...limitsInMinutes.map((limit) => limit ?? Number.POSITIVE_INFINITY));
  const deadline = startedAt.getTime() + limitMinutes * 60_000;
  const lastCall = deadline + OUT_OF_TIME_GRACE_MS;
  return {
    limitMinutes,
    deadline,
    surveyDeadline: startedAt.getTime() + limitMinutes * 30_000,
    store: { outOfTime: () => clock.now().getTime() >= lastCall },
    sendDeadline: Number.isFinite(deadline) ? new Date(lastCall) : undefined,
    callTimeLeft: () => lastCall - clock.now().getTime(),
  };
}
