import axios, { type AxiosInstance } from 'axios';

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

export function createHttpClient(timeoutMs: number): AxiosInstance {
  return axios.create({
    timeout: timeoutMs,
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
  const response = await http.post<unknown>(url, body, { headers });
  const data: unknown = response.data;
  return {
    status: response.status,
    headers: { ...(response.headers as Record<string, unknown>) },
    text: typeof data === 'string' ? data : data === undefined || data === null ? '' : String(data),
  };
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
  if (axios.isAxiosError(error)) {
    const code = error.code ? `${error.code}: ` : '';
    return `${code}${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
