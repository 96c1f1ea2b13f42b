import type { Container, JSONObject, OperationInput } from '@azure/cosmos';
import { chunk, mapWithConcurrency } from '../shared/concurrency';
import { withRetry, type RetryHooks, type RetryPolicy } from '../shared/retry';
import {
  cosmosError,
  cosmosRetryAfterMs,
  cosmosStatus,
  errorRoundTrips,
  isTransientError,
  isTransientStatus,
  mayHaveBeenApplied,
  roundTrips,
} from './cosmos-errors';

/**
 * Runs lists of point operations as Cosmos DB bulk requests: one request per 100 operations (the
 * service's limit), the chunks in parallel, and only the operations that were throttled or hit a
 * transient failure sent again, with bounded backoff.
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
}

export interface BulkExecutorOptions {
  container: Container;
  counters: BulkCounters;
  retryPolicy: RetryPolicy;
  retryHooks?: Pick<RetryHooks, 'sleep' | 'random'>;
}

/** Thrown inside the retry loop while some operations still wait for another try. */
class OperationsPending extends Error {
  constructor(readonly serverDelayMs: number | undefined) {
    super('Cosmos DB bulk operations pending a retry');
  }
}

export class BulkExecutor {
  constructor(private readonly options: BulkExecutorOptions) {}

  /**
   * Runs `operations` and returns one outcome per operation, in order. Operations still throttled
   * when the attempts run out keep their last (transient) status. Throws a RemoteServiceError only
   * when a whole request fails for a reason that will not pass (authorization, missing container).
   */
  async execute(kind: 'reads' | 'writes', operationName: string, operations: readonly OperationInput[]): Promise<BulkOutcome[]> {
    const { container, counters, retryPolicy, retryHooks } = this.options;
    const outcomes: BulkOutcome[] = operations.map(() => ({ statusCode: 0, uncertain: false }));
    let pending = operations.map((_, index) => index);

    const attemptPending = async (attempt: number): Promise<void> => {
      const chunks = chunk(pending, MAX_OPERATIONS_PER_REQUEST);
      if (attempt > 1) counters.retries += chunks.length;
      const again: number[] = [];
      let serverDelayMs: number | undefined;

      await mapWithConcurrency(chunks, CHUNK_CONCURRENCY, async (indexes) => {
        const batch = indexes.map((index) => operations[index] as OperationInput);
        counters[kind] += batch.length;
        let response;
        try {
          response = await container.items.bulk(batch, { continueOnError: true });
        } catch (error) {
          counters.requests += errorRoundTrips(error);
          if (!isTransientError(error)) throw cosmosError(operationName, error);
          const status = cosmosStatus(error) ?? 0;
          const hint = cosmosRetryAfterMs(error);
          if (hint !== undefined) serverDelayMs = Math.max(serverDelayMs ?? 0, hint);
          for (const index of indexes) {
            const outcome = outcomes[index] as BulkOutcome;
            outcome.statusCode = status;
            outcome.uncertain ||= kind === 'writes' && mayHaveBeenApplied(status);
            again.push(index);
          }
          return;
        }
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
          }
        });
      });

      pending = again.sort((a, b) => a - b);
      if (pending.length > 0) throw new OperationsPending(serverDelayMs);
    };

    try {
      await withRetry(
        attemptPending,
        (error) =>
          error instanceof OperationsPending ? { retry: true, serverDelayMs: error.serverDelayMs } : { retry: false },
        retryPolicy,
        retryHooks,
      );
    } catch (error) {
      // Out of attempts: the operations still pending keep their transient status.
      if (!(error instanceof OperationsPending)) throw error;
    }
    return outcomes;
  }
}
