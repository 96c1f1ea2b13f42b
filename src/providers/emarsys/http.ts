import axios, { AxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { isAnswerTooLarge } from '../../shared/answer-size';

/**
 * The HTTP layer under the Emarsys provider: one axios instance that never throws for a status
 * code and never parses bodies, so every answer (JSON, HTML error page, empty) reaches the
 * provider's own zod parsing; and the few rules on which failures are worth another attempt.
 */

export interface HttpReply {
  status: number;
  headers: Record<string, unknown>;
  /** The raw body; parsed by the caller. */
  text: string;
}

export interface ProviderCounters {
  calls: number;
  retries: number;
}

/**
 * The most an answer of Emarsys' may take, decompressed. Its largest, a trigger reply naming an
 * error for each of 1,000 contacts, takes a few hundred kB; past this an answer (a proxy streaming
 * without end, a compressed body that inflates to gigabytes) is not read on into memory.
 */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export function createHttpClient(timeoutMs: number): AxiosInstance {
  return axios.create({
    timeout: timeoutMs,
    maxContentLength: MAX_ANSWER_BYTES,
    validateStatus: () => true,
    // A redirect would resend credentials somewhere else; Emarsys does not redirect API calls.
    maxRedirects: 0,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    // Every body is a string we wrote; axios would JSON.parse it again to check it (measured: ~4% of a run's CPU).
    transformRequest: [(data: unknown) => data],
    transitional: { clarifyTimeoutError: true, silentJSONParsing: false, forcedJSONParsing: false },
  });
}

export async function post(
  http: AxiosInstance,
  counters: ProviderCounters,
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<HttpReply> {
  counters.calls++;
  const response = await withinTimeout(http, (config) => http.post<unknown>(url, body, { ...config, headers }));
  const data: unknown = response.data;
  return {
    status: response.status,
    headers: { ...(response.headers as Record<string, unknown>) },
    // The client asks for text and transforms nothing (createHttpClient), so a body is a string.
    text: typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '',
  };
}

/**
 * Runs one request under the instance's timeout as a bound on the whole exchange. axios' own
 * `timeout` is the socket's idle time once connected: an answer that trickles in (a byte every few
 * seconds, from a proxy or an overloaded server) would hold the request, and the run, for ever.
 * The timeout comes back as an axios ETIMEDOUT error without a response, a transport error like
 * axios' own.
 */
export async function withinTimeout<T>(http: AxiosInstance, send: (config: AxiosRequestConfig) => Promise<AxiosResponse<T>>): Promise<AxiosResponse<T>> {
  const timeoutMs = http.defaults.timeout;
  if (!timeoutMs) return send({});
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return await send({ signal: controller.signal });
  } catch (error) {
    if (timedOut) throw new AxiosError(`timeout of ${timeoutMs}ms exceeded before the answer was complete`, AxiosError.ETIMEDOUT);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Throttling and server-side trouble: the same request may well succeed a little later. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** An answer worth retrying, thrown inside `withRetry` so the policy decides how often. */
export class TransientReplyError extends Error {
  override readonly name = 'TransientReplyError';
  constructor(readonly reply: HttpReply) {
    super(`HTTP ${reply.status}`);
  }
}

/**
 * A request that got no complete answer: connection refused or reset, DNS failure, timeout, or a
 * connection cut while the body was arriving (axios then has the status line but no body). Only
 * axios transport errors qualify; a bug in our own code must not be retried as if it were the network.
 */
export function isTransportError(error: unknown): boolean {
  return axios.isAxiosError(error) && (error.response === undefined || error.response.data === undefined);
}

/**
 * A short, safe description of a transport error. Only the code and message are used, never the
 * error object itself, whose request config holds the credential headers.
 */
export function describeTransportError(error: unknown): string {
  if (isAnswerTooLarge(error)) {
    return `the answer was larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MB, which no answer of Emarsys' is; the rest was not read`;
  }
  if (axios.isAxiosError(error)) {
    const code = error.code ? `${error.code}: ` : '';
    return `${code}${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
