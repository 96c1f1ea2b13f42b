import type { Container, JSONObject, OperationInput, RequestOptions } from '@azure/cosmos';
import { callTimeLeft } from '../shared/call-budget';
import { sleep as realSleep } from '../shared/clock';
import type { NotificationCallOptions } from './ledger';
import { AdaptiveConcurrency } from '../shared/adaptive-concurrency';
import { chunk, mapWithConcurrency } from '../shared/concurrency';
import { retryDelayMs, type RetryHooks, type RetryPolicy } from '../shared/retry';
import {
  bulkCallMayHaveBeenApplied,
  cosmosError,
  cosmosRetryAfterMs,
  cosmosStatus,
  errorRoundTrips,
  isTransientError,
  isTransientStatus,
  mayHaveBeenApplied,
  roundTrips,
  tryTimeoutMs,
  withinRequestTimeout,
  type WrapUpLimits,
} from './cosmos-errors';

/**
 * Runs lists of point operations as Cosmos DB bulk requests: one request per 100 operations (the
 * service's limit), the chunks in parallel, and only the operations that were throttled or hit a
 * transient failure sent again, with bounded backoff.
 *
 * A container short of throughput (request units) refuses part of each request with 429. Two
 * things keep a run going at the rate it can take, instead of failing carts: the bulk requests in
 * flight, across every call, follow that throttling (AdaptiveConcurrency), and a round of retries
 * in which every operation left was throttled while the container took others (from this call or
 * another) is the container being busy, not failing: it does not use up an attempt. Only rounds
 * with no progress anywhere count, so a container that takes nothing still ends the call after
 * `maxAttempts`; and a call that gets nothing through for `MAX_STARVED_ROUNDS` rounds in a row
 * while others do (a partition that never cools) ends too.
 *
 * It uses `Items.bulk` rather than `Items.executeBulkOperations`: in @azure/cosmos 4.9 the latter
 * holds a partial batch back for up to a second before it sends it (measured: 1 s for 5 reads) and
 * retries throttled operations on its own schedule, which hides them from these counters. `bulk`
 * sends one request per partition key range per call, which is what a page's constant cost needs.
 */

/** The most operations Cosmos DB takes in one bulk request. */
export const MAX_OPERATIONS_PER_REQUEST = 100;

/**
 * Bulk requests in flight at once for one call: a page of up to 1,000 operations goes in one
 * round trip. When the container's request units cannot take them, Cosmos DB answers 429 for the
 * operations it refused and the retry below waits as long as it asks.
 */
export const CHUNK_CONCURRENCY = 10;

/**
 * Bulk requests in flight across all calls while nothing is throttled: above what a run uses
 * against an unthrottled store (a peak of 43 measured at 10,000 carts), so it only binds once the
 * container throttles.
 */
const INITIAL_REQUESTS_IN_FLIGHT = 64;
const MAX_REQUESTS_IN_FLIGHT = 128;

/**
 * How long a throttled request keeps its place before another request may take it. Even one bulk
 * request in flight asks for far more than a small container takes (100 operations every few
 * milliseconds against, at 400 RU/s, about 70 a second), so halving the requests in flight is not
 * enough on its own. Measured with a container taking 400 operations a second and 2,000 carts:
 * 10,800 operations refused with no hold, 3,700 with 200 ms, 3,300 with 500 ms; the same 9.7-9.8 s.
 */
const THROTTLED_REQUEST_HOLD_MS = 200;

/**
 * The least wait before a bulk request refused as a whole with 429 is sent again. The service says
 * how long to wait (`x-ms-retry-after-ms`), but `Items.bulk` rethrows such a refusal as a plain
 * Error without it; an operation's own 429 keeps its hint (below).
 */
export const WHOLE_REQUEST_THROTTLE_WAIT_MS = 1000;

/**
 * Rounds in a row in which a call gets none of its operations through while the container takes
 * other calls' operations, before it gives up on them. Each such round waits at least the hold
 * above and the first retry delay (0.25-0.5 s in production): 15 s or more in all.
 */
export const MAX_STARVED_ROUNDS = 30;

/**
 * Writes are answered without the documents written (`Prefer: return=minimal`): the ledger needs
 * only each write's status and etag, and an answer with the documents is about eight times as
 * long for the client to receive and parse (100 creates: 68.7 KB against 8.7 KB). Reads never
 * ask for it, since their documents are what they are for.
 */
const WRITE_OPTIONS: RequestOptions = { contentResponseOnWriteEnabled: false };

/** Counters since the ledger was created; see `LedgerStats`. */
export interface BulkCounters {
  requests: number;
  reads: number;
  writes: number;
  retries: number;
}

export interface BulkOutcome {
  /** The operation's HTTP status; 0 when its request got no response at all. */
  statusCode: number;
  etag?: string | undefined;
  body?: JSONObject | undefined;
  /** A failed try of this write may have been applied (timeout, 503, lost connection). */
  uncertain: boolean;
  /**
   * For an operation still failing when the retries ended: the rounds it was sent in, and why no
   * more (the attempts used up, rounds in which others got through but not it, the run's time).
   */
  gaveUp?: { rounds: number; because: 'attempts' | 'starved' | 'out-of-time' } | undefined;
}

export interface BulkExecutorOptions {
  container: Container;
  counters: BulkCounters;
  retryPolicy: RetryPolicy;
  retryHooks?: Pick<RetryHooks, 'sleep' | 'random'>;
  /**
   * The most one bulk call may take, the SDK's own requests included: before its first call a
   * client reads the container's partition key ranges, a GET the SDK would send again up to 120
   * times when it gets no answer (see `withinRequestTimeout`).
   */
  requestTimeoutMs: number;
  /** How bulk calls end once the run's time for calls is spent (`WRAP_UP_LIMITS`). */
  wrapUp: WrapUpLimits;
}

export class BulkExecutor {
  private readonly inFlight = new AdaptiveConcurrency({ initial: INITIAL_REQUESTS_IN_FLIGHT, min: 1, max: MAX_REQUESTS_IN_FLIGHT });
  /** Operations the container has taken (any final status), across all calls: the progress a throttled call looks for. */
  private settled = 0;

  constructor(private readonly options: BulkExecutorOptions) {}

  /**
   * Runs `operations` and returns one outcome per operation, in order. Operations still throttled
   * when the attempts run out (or the run is out of time) keep their last (transient) status. Throws a RemoteServiceError only
   * when a whole request fails for a reason that will not pass (authorization, missing container).
   */
  async execute(kind: 'reads' | 'writes', operationName: string, operations: readonly OperationInput[], options: NotificationCallOptions = {}): Promise<BulkOutcome[]> {
    const { container, counters, retryPolicy, retryHooks = {} } = this.options;
    const outcomes: BulkOutcome[] = operations.map(() => ({ statusCode: 0, uncertain: false }));
    let pending = operations.map((_, index) => index);

    /**
     * One round: every pending operation sent once. Returns those to send again, how many were
     * taken (any final status), and the longest wait the server asked for.
     */
    const round = async (first: boolean): Promise<{ again: number[]; taken: number; serverDelayMs: number | undefined }> => {
      const chunks = chunk(pending, MAX_OPERATIONS_PER_REQUEST);
      if (!first) counters.retries += chunks.length;
      const again: number[] = [];
      let taken = 0;
      let serverDelayMs: number | undefined;

      await mapWithConcurrency(chunks, CHUNK_CONCURRENCY, async (indexes) => {
        const batch = indexes.map((index) => operations[index] as OperationInput);
        counters[kind] += batch.length;
        const slot = await this.inFlight.acquire();
        let response;
        try {
          response = await withinRequestTimeout(tryTimeoutMs(this.options.requestTimeoutMs, this.options.wrapUp), (bound) =>
            container.items.bulk(batch, { continueOnError: true }, kind === 'writes' ? { ...WRITE_OPTIONS, ...bound } : bound),
          );
        } catch (error) {
          this.inFlight.release(slot, cosmosStatus(error) === 429);
          counters.requests += errorRoundTrips(error);
          if (!isTransientError(error)) throw cosmosError(operationName, error);
          const status = cosmosStatus(error) ?? 0;
          const hint = cosmosRetryAfterMs(error) ?? (status === 429 ? WHOLE_REQUEST_THROTTLE_WAIT_MS : undefined);
          if (hint !== undefined) serverDelayMs = Math.max(serverDelayMs ?? 0, hint);
          for (const index of indexes) {
            const outcome = outcomes[index] as BulkOutcome;
            outcome.statusCode = status;
            // Not `mayHaveBeenApplied(status)`: with several partition key ranges the status is one
            // request's, and another range's request may have run its writes before this threw.
            outcome.uncertain ||= kind === 'writes' && bulkCallMayHaveBeenApplied(error);
            again.push(index);
          }
          return;
        }
        this.inFlight.release(slot, response.some((result) => result?.statusCode === 429), THROTTLED_REQUEST_HOLD_MS);
        counters.requests += roundTrips(response.diagnostics);
        indexes.forEach((index, position) => {
          const result = response[position];
          const outcome = outcomes[index] as BulkOutcome;
          if (!result) {
            // No answer for this operation: treat it like a lost response.
            outcome.statusCode = 0;
            outcome.uncertain ||= kind === 'writes';
            again.push(index);
            return;
          }
          outcome.statusCode = result.statusCode;
          outcome.body = result.resourceBody;
          const bodyEtag = result.resourceBody?._etag;
          outcome.etag = result.eTag ?? (typeof bodyEtag === 'string' ? bodyEtag : undefined);
          if (isTransientStatus(result.statusCode)) {
            outcome.uncertain ||= kind === 'writes' && mayHaveBeenApplied(result.statusCode);
            again.push(index);
            // A throttled operation says how long to wait (the answer carries it per operation,
            // untyped in the SDK's legacy bulk results): the retry waits at least that long.
            const hint = (result as { retryAfterMilliseconds?: unknown }).retryAfterMilliseconds;
            if (result.statusCode === 429 && typeof hint === 'number' && Number.isFinite(hint) && hint > 0) serverDelayMs = Math.max(serverDelayMs ?? 0, hint);
          } else {
            taken++;
          }
        });
      });
      this.settled += taken;
      return { again: again.sort((a, b) => a - b), taken, serverDelayMs };
    };

    // Rounds that used up an attempt: the first, every round that met a failure other than
    // throttling, and every round in which the container took nothing at all.
    let attempts = 0;
    let starved = 0;
    for (let first = true, rounds = 1; ; first = false, rounds++) {
      const settledBefore = this.settled;
      const { again, taken, serverDelayMs } = await round(first);
      pending = again;
      if (pending.length === 0) break;
      const othersTaken = this.settled - settledBefore - taken;
      if (first || !pending.every((index) => outcomes[index]?.statusCode === 429)) attempts++;
      else if (taken > 0) starved = 0;
      else if (othersTaken > 0) starved++;
      else attempts++;
      // Out of attempts, starved, or the run out of time (now, or before the wait would end): the
      // operations still pending keep their transient status.
      const delayMs = retryDelayMs(Math.max(1, attempts), retryPolicy, { retry: true, serverDelayMs }, retryHooks.random);
      const outOfTime = options.outOfTime?.() || delayMs > (callTimeLeft() ?? Number.POSITIVE_INFINITY);
      const because = attempts >= retryPolicy.maxAttempts ? 'attempts' : starved >= MAX_STARVED_ROUNDS ? 'starved' : outOfTime ? 'out-of-time' : undefined;
      if (because) {
        for (const index of pending) (outcomes[index] as BulkOutcome).gaveUp = { rounds, because };
        break;
      }
      await (retryHooks.sleep ?? realSleep)(delayMs);
    }
    return outcomes;
  }
}
