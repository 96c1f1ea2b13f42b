import { sleep as realSleep } from './clock';
import { headerValue, type HeaderBag } from './http-headers';

/** How a caller retries: bounded attempts, exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Total attempts, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest wait a server's own hint (Retry-After, X-RateLimit-Reset) may impose. */
  maxServerDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 15_000,
  maxServerDelayMs: 60_000,
};

export interface RetryDecision {
  retry: boolean;
  /** A wait the server asked for, in milliseconds. */
  serverDelayMs?: number | undefined;
}

export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Asked before each wait: true ends the retries with the last error (e.g. the wait would end past a deadline). */
  giveUp?: (delayMs: number, error: unknown) => boolean;
}

/**
 * The wait before attempt `attempt + 1`: the server's hint when it gave one, else jittered backoff.
 * A hint of no wait at all (`Retry-After: 0`, or a reset instant already past by this host's clock,
 * which may run ahead of the server's) gets the backoff: every retry at once would spend them all
 * on a server that is still throttling.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  decision: RetryDecision,
  random: () => number = Math.random,
): number {
  if (decision.serverDelayMs !== undefined && Number.isFinite(decision.serverDelayMs) && decision.serverDelayMs > 0) {
    return Math.min(decision.serverDelayMs, policy.maxServerDelayMs);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `operation` until it succeeds, `decide` says the error is final, or the attempts run out.
 * The last error is rethrown as it is.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  decide: (error: unknown, attempt: number) => RetryDecision,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const wait = hooks.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = decide(error, attempt);
      if (!decision.retry || attempt >= policy.maxAttempts) throw error;
      const delayMs = retryDelayMs(attempt, policy, decision, hooks.random);
      if (hooks.giveUp?.(delayMs, error)) throw error;
      hooks.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs);
    }
  }
}

/**
 * The wait a throttled response asks for: `Retry-After` (seconds or an HTTP date), else
 * `X-RateLimit-Reset` (seconds to wait, or a Unix time in seconds when it is that large) unless
 * `X-RateLimit-Remaining` says requests are left: then the limit is not why the request failed
 * (Emarsys sends the three headers on every answer, a 500 too), and waiting for the window would
 * only delay the retry.
 */
export function serverDelayFromHeaders(headers: HeaderBag, now: Date): number | undefined {
  const retryAfter = headerValue(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now.getTime());
  }
  const reset = headerValue(headers, 'x-ratelimit-reset');
  const remaining = Number(headerValue(headers, 'x-ratelimit-remaining') ?? Number.NaN);
  if (reset !== undefined && !(remaining > 0)) {
    const value = Number(reset);
    if (Number.isFinite(value)) {
      return value > 1_000_000_000 ? Math.max(0, value * 1000 - now.getTime()) : Math.max(0, value * 1000);
    }
  }
  return undefined;
}
