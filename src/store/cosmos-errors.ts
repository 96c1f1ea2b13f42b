import type { CosmosDiagnostics } from '@azure/cosmos';
import { callTimeLeft } from '../shared/call-budget';
import { RemoteServiceError } from '../shared/errors';

/**
 * Reading what went wrong in a Cosmos DB call. Point operations throw an `ErrorResponse` with the
 * HTTP status in `code`; a bulk request that fails as a whole is rethrown by the SDK as a plain
 * Error whose only trace of the status is in its diagnostics, so both are looked at.
 */

/**
 * Statuses after which the same request may succeed: timed out, gone (the partition moved: a
 * split, a merge or a migration in progress), throttled, retry-with, unavailable, and (inside a
 * bulk response) "not run because an earlier operation failed".
 */
const TRANSIENT_STATUSES = new Set([408, 410, 424, 429, 449, 503]);

/**
 * Statuses that mean the service did not carry the operation out (throttled, retry-with, a failed
 * dependency in a batch). After a timeout, a 503 or a lost connection the write may have happened.
 */
const NOT_EXECUTED_STATUSES = new Set([429, 449, 424]);

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status);
}

/** Node's codes for a connection that failed or dropped: worth another attempt. */
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * Whether a thrown failure may go away on its own: a transient status, a dropped connection or a
 * timeout, a bulk request the SDK gave up on without a status (it keeps only the message), or an
 * answer that was cut short or garbled on the way, which the SDK reports as a body it could not
 * read (`PARSE_ERROR`) or parse (a SyntaxError carrying the request's diagnostics).
 */
export function isTransientError(error: unknown): boolean {
  const status = cosmosStatus(error);
  if (status !== undefined) return isTransientStatus(status);
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (name === 'AbortError' || name === 'TimeoutError') return true;
  if (code === 'PARSE_ERROR' || (name === 'SyntaxError' && 'diagnostics' in error)) return true;
  return typeof message === 'string' && message.startsWith('Bulk request errored with');
}

/** Whether a call ended because it got no answer in time (`withinRequestTimeout`, or the SDK's own request timeout). */
export function isRequestTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError';
}

/** Whether a write that failed with `status` may nevertheless have been applied. */
export function mayHaveBeenApplied(status: number | undefined): boolean {
  return status === undefined || !NOT_EXECUTED_STATUSES.has(status);
}

interface ErrorLike {
  code?: unknown;
  statusCode?: unknown;
  retryAfterInMs?: unknown;
  diagnostics?: CosmosDiagnostics;
}

/** The messages of the plain Errors `Items.bulk` throws for a request that failed as a whole. */
const BULK_FAILURE = /^(Bulk request errored with|Partition key error)/;

/**
 * Statuses (with their sub-status) the SDK recovers from itself on a bulk request, by sending it
 * again: a split (410/1002, 410/1007, in `Items.bulk`), a read session not yet available
 * (404/1002) and a write region that moved (403/3, 403/1008, in its retry utility). They stay in
 * the diagnostics whatever happened next.
 */
const RECOVERED = new Set(['410/1002', '410/1007', '404/1002', '403/3', '403/1008']);

/** The HTTP status of a failed Cosmos DB call; undefined when no response came (network error). */
export function cosmosStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as ErrorLike & { message?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  // Only a bulk request that failed as a whole keeps its status nowhere but in the diagnostics.
  // Any other error (a dropped connection, an answer cut short) is its own: a status recorded
  // there is an earlier try's, one the SDK already retried (a 404 it re-read, say).
  if (typeof e.message !== 'string' || !BULK_FAILURE.test(e.message)) return undefined;
  // A bulk call sends one request per partition key range; when one fails, the others' answers
  // (2xx) are recorded too, in any order, and so are the failures the SDK recovered from by sending
  // again. The failure's status is the last failed request's other than those; when only answers
  // and recovered failures are recorded, the call failed for want of an answer: no status.
  const gateway = e.diagnostics?.clientSideRequestStatistics?.gatewayStatistics ?? [];
  for (let i = gateway.length - 1; i >= 0; i--) {
    const status = gateway[i]?.statusCode;
    const recovered = RECOVERED.has(`${status}/${gateway[i]?.subStatusCode}`);
    if (typeof status === 'number' && status >= 400 && !recovered) return status;
  }
  return undefined;
}

/**
 * Whether a bulk call that threw as a whole may have carried out some of its writes. The SDK sends
 * one request per partition key range, in parallel, and when any of them fails it throws a plain
 * Error and drops the answers of the others, whose operations did run. So only a call that failed
 * before it sent anything (the service's status on the error itself and no request recorded, as
 * when the partition key ranges could not be read) surely wrote nothing.
 */
export function bulkCallMayHaveBeenApplied(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const e = error as ErrorLike;
  const requests = e.diagnostics?.clientSideRequestStatistics?.gatewayStatistics ?? [];
  return !(typeof e.code === 'number' && requests.length === 0);
}

/** The wait the service asked for before a retry, when it said. */
export function cosmosRetryAfterMs(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as ErrorLike).retryAfterInMs;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * How many HTTP requests a call made, as the SDK recorded them: the requests for the operation
 * itself (it splits a bulk request per physical partition and retries some failures on its own)
 * plus any metadata it had to look up first (partition key ranges, once per client). At least one.
 */
export function roundTrips(diagnostics: CosmosDiagnostics | undefined): number {
  const statistics = diagnostics?.clientSideRequestStatistics;
  const operation = statistics?.gatewayStatistics?.length ?? 0;
  const metadata = statistics?.metadataDiagnostics?.metadataLookups?.length ?? 0;
  return Math.max(1, operation) + metadata;
}

/** `roundTrips` for a call that threw: the SDK attaches its diagnostics to the error. */
export function errorRoundTrips(error: unknown): number {
  const diagnostics = typeof error === 'object' && error !== null ? (error as ErrorLike).diagnostics : undefined;
  return roundTrips(diagnostics);
}

/** A short, secret-free description of a failure: status and the SDK's first message line. */
export function describeCosmosError(error: unknown): string {
  const status = cosmosStatus(error);
  // For a 410 the SDK's bulk text blames the partition key ("unsupported partitionKey type").
  if (status === 410) return 'HTTP 410: the partition moved (a split, merge or migration in progress)';
  // Cosmos DB ends a message's first line with CRLF (before its ActivityId line).
  const message = error instanceof Error ? (error.message.split(/\r?\n/)[0] ?? '') : String(error);
  return status === undefined ? message : `HTTP ${status}: ${message}`;
}

/** Wraps a failed data-plane call, keeping the status and whether a later attempt may succeed. */
export function cosmosError(operation: string, error: unknown, hint?: string): RemoteServiceError {
  if (error instanceof RemoteServiceError) return error;
  const status = cosmosStatus(error);
  const details = describeCosmosError(error);
  return new RemoteServiceError(`Cosmos DB ${operation} failed (${details})${hint ? `. ${hint}` : ''}`, {
    service: 'CosmosDB',
    operation,
    ...(status === undefined ? {} : { statusCode: status }),
    retryable: isTransientError(error),
    cause: error,
  });
}

/**
 * The SDK's own per-request timeout (`connectionPolicy.requestTimeout`), which the connector keeps
 * and bounds each of its calls by (`withinRequestTimeout`).
 */
export const COSMOS_REQUEST_TIMEOUT_MS = 60_000;

/**
 * How a run's Cosmos DB calls end once its time for calls (the limit and its grace minute) is
 * spent: the wrap-up's writes (the last outcomes and checkpoint, the lease's release, the run
 * record) take milliseconds, but a container that gives no answer, or throttles, must not hold
 * each of them for a request timeout past the host's functionTimeout. Every try made in the wrap-up
 * ends by `budgetMs` after the time for calls, the SDK's own retries of a throttled write inside
 * it; a try started later gets `minTryMs`, enough for a healthy container's answer. With the
 * defaults (MaxRunMinutes 8, the grace minute, functionTimeout 10) the calls still waiting then
 * (the lease's release and the run record, say) end well within the minute left.
 */
export interface WrapUpLimits {
  budgetMs: number;
  minTryMs: number;
}

export const WRAP_UP_LIMITS: WrapUpLimits = { budgetMs: 40_000, minTryMs: 3_000 };

/** The most one try of a call may take now: the request timeout, cut so that a try in the wrap-up ends by its budget, but never under its least try. */
export function tryTimeoutMs(requestTimeoutMs: number, wrapUp: WrapUpLimits): number {
  const left = callTimeLeft();
  if (left === undefined) return requestTimeoutMs;
  return Math.min(requestTimeoutMs, Math.max(left + wrapUp.budgetMs, wrapUp.minTryMs));
}

/**
 * Runs one Cosmos DB call with an abort signal that ends it after `timeoutMs`, the SDK's own
 * retries included. The SDK sends a GET (a point read, the container's read, the account's read
 * that a new client makes first) that timed out again at once, up to 120 times (its failover policy
 * for reads, which runs with one region as with many): at the 60 s request timeout, two hours for
 * one read, where the caller's bounded retries and the run's time limit expect one request
 * timeout. An aborted call is not retried by the SDK; the account's read does not take the signal,
 * so the call is also given up when the signal fires (what the SDK still does is left to it). It
 * comes back as a timeout, which the caller's retries treat as transient.
 */
export async function withinRequestTimeout<T>(timeoutMs: number, call: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
  const abortSignal = AbortSignal.timeout(timeoutMs);
  let stop: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(new Error('aborted'));
    abortSignal.addEventListener('abort', stop, { once: true });
  });
  const work = call({ abortSignal });
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (!abortSignal.aborted) throw error;
    // The call may still fail later, on its own: that failure is no one's to handle any more.
    work.catch(() => undefined);
    throw Object.assign(new Error(`no answer within ${timeoutMs} ms: the container silent, or throttling the request that long`), { name: 'TimeoutError', cause: error });
  } finally {
    if (stop) abortSignal.removeEventListener('abort', stop);
    aborted.catch(() => undefined);
  }
}
