import axios, { isAxiosError, type AxiosResponse } from 'axios';
import { isAnswerTooLarge } from '../shared/answer-size';
import { createLimiter, yieldToPendingIo } from '../shared/concurrency';
import { RemoteServiceError } from '../shared/errors';
import { headerValue } from '../shared/http-headers';
import type { Logger, LogFields } from '../shared/logger';
import { redactEmails } from '../shared/redact';
import { serverDelayFromHeaders, withRetry, type RetryDecision, type RetryPolicy } from '../shared/retry';
import { mayBeAboutARecord } from './lookup-isolation';
import type { RetailTokenProvider } from './token-provider';
import { callTimeLeft } from '../shared/call-budget';
import { ofThisRun, sharedCounters } from '../shared/run-tally';

/**
 * One authenticated JSON POST to Retail Server, the way every call needs it: bearer token, `OUN`
 * and `api-version`; a fresh token once after a 401; retries for throttling, server faults and
 * network failures (honouring Retry-After), none for other client errors; and an error that
 * names the call, the status and what to check. Tokens never reach a message, a log or an
 * error's cause (axios errors carry the request headers, so they are never attached).
 */

export type RetailEndpoint = 'channel' | 'cartSearch' | 'customers' | 'products';

/**
 * Per endpoint: HTTP requests sent (every attempt) and retries; asked within a run, the run's own.
 * `token`: requests the client's token provider sent to the authority (cache hits are free), and
 * forced refreshes or retries of token acquisition.
 */
export interface RetailCallStats {
  calls: Record<string, number>;
  retries: Record<string, number>;
}

export interface RetailTransportOptions {
  /** The Commerce API base, already normalised (ends in `/Commerce` or the user's own path). */
  baseUrl: string;
  operatingUnitNumber: string;
  apiVersion: string;
  tokenProvider: RetailTokenProvider;
  retry: RetryPolicy;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
  timeoutMs: number;
  logger: Logger;
  /** Requests in flight at once, across every caller: what protects the retailer's Retail Server. */
  maxConcurrentRequests?: number;
}

export type QueryParameter = readonly [name: string, value: string | number];

export interface PostOptions {
  /** Lower goes first when MaxConcurrency requests are in flight (default 0). */
  priority?: number | undefined;
  /**
   * Attempts for a status a record can cause (HTTP 500, else retried like any server fault): fewer
   * for the requests of a lookup's split, where that failure is an answer. Throttling, gateway and
   * network failures keep the retry policy's attempts.
   */
  recordErrorAttempts?: number | undefined;
  /**
   * Set when the caller isolates a record's failure (`mayBeAboutARecord`) that outlasts every
   * retry: a lookup split to find the ids Retail Server fails on, a page's search narrowed to the
   * cart it cannot load, and the requests of that split or narrowing. Such a record costs dozens
   * of failing attempts, which are expected, not news: so the retries of a failure that may be
   * about a record are held until the call ends, and go at debug when the call fails with one (the
   * job logs what the isolation finds, once a page). Every other retry (throttling, a network
   * failure) is a warn when it happens, and a held one is a warn when the call then succeeds.
   */
  isolatesRecordFailures?: boolean | undefined;
}

export interface RetailTransport {
  /** POSTs `body` to `<base>/<path>?<query>&api-version=...` and returns the parsed JSON answer. */
  post(endpoint: RetailEndpoint, path: string, query: readonly QueryParameter[], body: unknown, options?: PostOptions): Promise<unknown>;
  stats(): RetailCallStats;
}

const RETRYING = 'Retail Server call failed; retrying';

const ENDPOINTS: readonly (RetailEndpoint | 'token')[] = ['channel', 'cartSearch', 'customers', 'products', 'token'];

/** Socket-level failures worth another attempt; anything else (DNS name not found, TLS) is not. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_NETWORK',
]);

/**
 * The most an answer may take, decompressed. A page of PageSize (at most 1,000) carts takes a few
 * MB, a few dozen with carts of a hundred lines: one larger than this is no answer of Retail
 * Server's (a gateway streaming without end, a compressed body that inflates to gigabytes), and
 * reading it on would hold the whole of it in memory, one and a half times over while it is
 * decoded, in each of MaxConcurrency requests at once.
 */
export const MAX_ANSWER_BYTES = 100 * 1024 * 1024;

/**
 * Builds the URL with the query written out literally, so `$top`, `$skip` and `$orderby` appear
 * exactly as the Retail Server documentation shows them (axios would percent-encode the `$`).
 */
export function buildRetailUrl(baseUrl: string, path: string, query: readonly QueryParameter[]): string {
  const search = query.map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`).join('&');
  return `${baseUrl}/${path}${search ? `?${search}` : ''}`;
}

export function createRetailTransport(options: RetailTransportOptions): RetailTransport {
  const calls: Record<string, number> = sharedCounters(ENDPOINTS);
  const retries: Record<string, number> = sharedCounters(ENDPOINTS);
  const serverDelays = new WeakMap<object, number>();
  const { logger } = options;
  const bump = (counter: Record<string, number>, key: string): void => {
    counter[key] = (counter[key] ?? 0) + 1;
  };

  const limit = createLimiter(Math.max(1, options.maxConcurrentRequests ?? Number.MAX_SAFE_INTEGER));

  async function token(forceRefresh: boolean): Promise<string> {
    if (forceRefresh) bump(retries, 'token');
    return options.tokenProvider.getToken({ forceRefresh });
  }

  /**
   * A token for a retry after Retail Server refused `refused`: the one in MSAL's cache when another
   * call has replaced it already (calls queued behind MaxConcurrency all met the same revocation),
   * else a fresh one from the authority.
   */
  async function tokenReplacing(refused: string): Promise<string> {
    const cached = await token(false);
    return cached !== refused ? cached : token(true);
  }

  /**
   * One request. The token is taken once the request has its MaxConcurrency slot, so a request that
   * waited in the queue is not sent with a token that was refused or replaced meanwhile. `timeoutMs`
   * bounds the whole exchange: axios' own timeout is the socket's idle time, which a server that
   * trickles its answer never reaches.
   */
  async function send(endpoint: RetailEndpoint, operation: string, url: string, accessToken: () => Promise<string>, body: unknown, priority: number): Promise<AxiosResponse<string>> {
    const response = await limit(async () => {
      // The run's time bounds its requests too, not only the waits between them: a call whose
      // turn comes after the run's time is up is not sent, and none waits past it for an answer.
      // Asked again once the token is in: a slow authority may have used up what was left.
      const timeLeft = () => {
        const left = callTimeLeft();
        if (left !== undefined && left <= 0) {
          throw new RemoteServiceError(`${operation} was not sent: the run had no time left for Retail Server calls (MaxRunMinutes).`, {
            service: 'RetailServer',
            operation,
            code: 'OutOfTime',
            retryable: false,
            outOfTime: true,
          });
        }
        return left;
      };
      timeLeft();
      const bearer = await accessToken();
      const left = timeLeft();
      const timeoutMs = left === undefined ? options.timeoutMs : Math.max(1, Math.min(options.timeoutMs, Math.ceil(left)));
      bump(calls, endpoint);
      const started = Date.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const answer = await axios.post<string>(url, JSON.stringify(body ?? {}), {
          headers: {
            Authorization: `Bearer ${bearer}`,
            OUN: options.operatingUnitNumber,
            'Content-Type': 'application/json',
            Accept: 'application/json',
          },
          timeout: timeoutMs,
          signal: controller.signal,
          // Status handling, JSON parsing and redirects are decided here, not by axios.
          validateStatus: () => true,
          responseType: 'text',
          transformResponse: [(data: unknown) => data],
          // The body is JSON we just wrote; axios would parse it again to check it.
          transformRequest: [(data: unknown) => data],
          maxRedirects: 0,
          maxContentLength: MAX_ANSWER_BYTES,
        });
        logger.debug('Retail Server answered', { operation, status: answer.status, durationMs: Date.now() - started });
        return answer;
      } catch (error) {
        if (isAnswerTooLarge(error)) throw answerTooLarge(operation);
        throw networkFailure(controller.signal.aborted ? wholeRequestTimeout(timeoutMs) : error, operation, url);
      } finally {
        clearTimeout(timer);
      }
    }, priority);
    // The caller parses this answer next (a page of carts: milliseconds of work). Other answers
    // that have already arrived are taken in first, so each frees its MaxConcurrency slot at
    // once instead of after this page's parsing. Measured: 100,000 carts 10.8 s -> 10.3 s.
    await yieldToPendingIo();
    return response;
  }

  function post(endpoint: RetailEndpoint, path: string, query: readonly QueryParameter[], body: unknown, postOptions: PostOptions = {}): Promise<unknown> {
    const priority = postOptions.priority ?? 0;
    const recordErrorAttempts = postOptions.recordErrorAttempts;
    const operation = `POST ${path}`;
    const url = buildRetailUrl(options.baseUrl, path, [...query, ['api-version', options.apiVersion]]);
    /**
     * A token Retail Server refused, until a token that replaced it has been sent: a retry after a
     * refresh that failed (the token endpoint down for a moment) must not send the refused token
     * from MSAL's cache again and read the second 401 as "also refused with a fresh token".
     */
    let refused: string | undefined;
    let refreshedAfter401 = false;

    const attempt = async (): Promise<unknown> => {
      let sent = '';
      const tokenToSend = async (): Promise<string> => (sent = refused === undefined ? await token(false) : await tokenReplacing(refused));
      const replacing = refused !== undefined;
      let response = await send(endpoint, operation, url, tokenToSend, body, priority);
      if (replacing) refreshedAfter401 = true;
      if (response.status === 401 && !refreshedAfter401) {
        // The cached token may have been revoked or rolled over: one fresh token, one more try.
        refused = sent;
        bump(retries, endpoint);
        logger.warn('Retail Server refused the token; retrying once with a fresh one', { operation });
        response = await send(endpoint, operation, url, tokenToSend, body, priority);
        refreshedAfter401 = true;
      }
      if (response.status !== 401) refused = undefined;
      return interpret(response, operation, url);
    };

    const decide = (error: unknown): RetryDecision =>
      error instanceof RemoteServiceError && error.retryable && !(recordErrorAttempts !== undefined && attempts >= recordErrorAttempts && mayBeAboutARecord(error))
        ? { retry: true, serverDelayMs: serverDelays.get(error) }
        : { retry: false };

    let attempts = 0;
    const counted = (attemptNumber: number): Promise<unknown> => {
      attempts = attemptNumber;
      return attempt();
    };
    let outOfTime = false;

    /** Retries of a failure that may be about a record, until the call ends (`isolatesRecordFailures`). */
    const held: LogFields[] = [];
    const logHeld = (failedWith: unknown): void => {
      const isolated = failedWith !== undefined && mayBeAboutARecord(failedWith);
      for (const fields of held.splice(0)) logger[isolated ? 'debug' : 'warn'](RETRYING, fields);
      // The call that starts an isolation (not one of its own requests, which fail by design) says
      // so once: what follows may find a record at fault, or find none (a brief outage), and either
      // way the operator sees that Retail Server failed it.
      if (isolated && recordErrorAttempts === undefined) {
        logger.warn('Retail Server failed a call on every attempt, as it fails for a record it cannot load; the connector looks for that record', {
          operation,
          attempts,
          status: failedWith.statusCode,
          reason: failedWith.message,
        });
      }
    };

    return withRetry(counted, decide, options.retry, {
      sleep: options.sleep,
      random: options.random,
      giveUp: (delayMs) => {
        const remainingMs = callTimeLeft();
        outOfTime = remainingMs !== undefined && delayMs > remainingMs;
        return outOfTime;
      },
      onRetry: ({ attempt: failedAttempt, delayMs, error }) => {
        const fromTokenEndpoint = error instanceof RemoteServiceError && error.service === 'TokenEndpoint';
        bump(retries, fromTokenEndpoint ? 'token' : endpoint);
        const fields = {
          operation,
          attempt: failedAttempt,
          delayMs,
          status: error instanceof RemoteServiceError ? error.statusCode : undefined,
          reason: error instanceof Error ? error.message : String(error),
        };
        // Throttling and network failures are news as they happen (a 429's wait may take minutes).
        if (postOptions.isolatesRecordFailures === true && mayBeAboutARecord(error)) held.push(fields);
        else logger.warn(RETRYING, fields);
      },
    }).then(
      (answer) => {
        logHeld(undefined);
        return answer;
      },
      (error: unknown) => {
        logHeld(error);
        throw withAttempts(error, attempts, outOfTime || (error instanceof RemoteServiceError && error.outOfTime));
      },
    );
  }

  function interpret(response: AxiosResponse<string>, operation: string, url: string): unknown {
    const { status } = response;
    if (status >= 200 && status < 300) return parseJsonBody(response.data, operation, status);
    const serverMessage = describeServerError(response.data);
    const suffix = serverMessage ? ` Retail Server said: ${serverMessage}` : '';
    const fail = (message: string, retryable: boolean): RemoteServiceError =>
      new RemoteServiceError(`${message}${suffix}`, {
        service: 'RetailServer',
        operation,
        statusCode: status,
        code: serverErrorCode(response.data),
        retryable,
      });

    if (status === 401 || status === 403) {
      throw fail(
        `${operation} was refused with HTTP ${status}${status === 401 ? ', also with a freshly acquired token' : ''}. ` +
          'Microsoft Entra issued the token, so check what Retail Server makes of it: RetailServerClientOptions.TenantId (the ' +
          "Commerce environment's tenant); RetailServerAudienceId (the token's audience, https://commerce.dynamics.com unless " +
          'your environment says otherwise); that the app (client id) is registered in ' +
          'Commerce headquarters under System administration > Setup > Microsoft Entra applications, mapped to the user ' +
          'RetailServiceAccount, and that distribution schedule job 1110 (Global configuration) has run since; and that ' +
          `OperatingUnitNumber '${options.operatingUnitNumber}' is the operating unit number of an online channel.`,
        false,
      );
    }
    if (status === 404) {
      throw fail(
        `${operation} returned HTTP 404 for ${url.split('?')[0] ?? url}. Check RetailServerUrl (the Commerce Scale Unit's ` +
          `Retail Server URL, ending in /Commerce) and ApiVersion ('${options.apiVersion}').`,
        false,
      );
    }
    if (status >= 300 && status < 400) {
      throw fail(
        `${operation} was redirected (HTTP ${status}${redirectTarget(headerValue(response.headers, 'location'), url)}). ` +
          "Check RetailServerUrl: it must be the Commerce Scale Unit's Retail Server URL, ending in /Commerce.",
        false,
      );
    }
    const retryable = status === 408 || status === 429 || (status >= 500 && status !== 501);
    const error = fail(
      `${operation} failed with HTTP ${status}.` +
        (status === 400 ? ` Check OperatingUnitNumber '${options.operatingUnitNumber}' and ApiVersion ('${options.apiVersion}').` : ''),
      retryable,
    );
    const delay = retryable ? serverDelayFromHeaders(response.headers, new Date()) : undefined;
    if (delay !== undefined) serverDelays.set(error, delay);
    throw error;
  }

  return {
    post,
    stats: () => ({
      calls: { ...ofThisRun(calls), token: options.tokenProvider.tokenRequests() },
      retries: ofThisRun(retries),
    }),
  };
}

/** What a request that did not complete within `timeoutMs` is reported as (retried like any timeout). */
function wholeRequestTimeout(timeoutMs: number): Error & { code: string } {
  return Object.assign(new Error(`the answer did not complete within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
}

/** The final error of a retried call, saying how often it was tried, and why no more. */
function withAttempts(error: unknown, attempts: number, outOfTime: boolean): unknown {
  if (!(error instanceof RemoteServiceError) || (attempts <= 1 && !outOfTime)) return error;
  const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
  const stopped = outOfTime && error.code !== 'OutOfTime' ? ' Not tried again: the run had no time left for the wait (MaxRunMinutes); the next run goes on from here.' : '';
  return new RemoteServiceError(`${error.message}${tries}${stopped}`, {
    service: error.service,
    operation: error.operation,
    statusCode: error.statusCode,
    code: error.code,
    retryable: error.retryable,
    outOfTime,
    cause: error.cause,
  });
}

function parseJsonBody(text: string, operation: string, status: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const body = String(text ?? '').trim();
    // What the message shows of the body: like any text from the server, it may name a customer
    // (a cut-short page of customers, a gateway's page about a user) or hold control characters.
    const start = redactEmails(body, 40);
    // Nothing at all: the connection ended right after the status line (a close-delimited answer
    // cut by a proxy or a dropped connection), as passing as an answer cut one byte later.
    if (start === '') {
      throw new RemoteServiceError(
        `${operation} answered HTTP ${status} with an empty body (cut short on the way; if it persists, check RetailServerUrl: ` +
          'it must be the Retail Server URL ending in /Commerce).',
        { service: 'RetailServer', operation, statusCode: status, code: 'InvalidResponse', retryable: true },
      );
    }
    // JSON that does not parse was cut short or garbled on the way (a proxy, a dropped connection):
    // the same request may well succeed. Anything else (an HTML sign-in page) is the wrong URL.
    if (/^[[{]/.test(body)) {
      throw new RemoteServiceError(
        `${operation} answered HTTP ${status} with JSON that does not parse (cut short or garbled on the way; it starts with '${start}').`,
        { service: 'RetailServer', operation, statusCode: status, code: 'InvalidResponse', retryable: true },
      );
    }
    throw new RemoteServiceError(
      `${operation} answered HTTP ${status} with a body that is not JSON${start ? ` (it starts with '${start}')` : ''}. ` +
        'Check RetailServerUrl: it must be the Retail Server URL ending in /Commerce, not the site or headquarters URL.',
      { service: 'RetailServer', operation, statusCode: status, code: 'InvalidResponse', retryable: false },
    );
  }
}

/**
 * Where a redirect pointed, for the message: the origin and path only, as a URL parser reads them
 * (control characters percent-encoded), and without an email address. The user name and password,
 * the query and the fragment are left out: a sign-in page's may carry a code, a token or a
 * customer's address.
 */
function redirectTarget(location: string | undefined, url: string): string {
  if (!location) return '';
  let target: URL;
  try {
    target = new URL(location, url);
  } catch {
    return '';
  }
  const path = target.pathname
    .split('/')
    .map((segment) => redactEmails(segment, 100))
    .join('/');
  return ` to ${target.origin}${path.length > 200 ? `${path.slice(0, 200)}...` : path}`;
}

/** An answer larger than any Retail Server gives: not read further, and not asked for again. */
function answerTooLarge(operation: string): RemoteServiceError {
  return new RemoteServiceError(
    `${operation} answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MB; the rest was not read. No answer of Retail Server's ` +
      'is that large (a page of 1,000 carts takes a few MB, a few dozen with carts of a hundred lines): check RetailServerUrl, ' +
      'and any gateway or proxy before Retail Server; if your carts really are that large, lower RetailServerClientOptions.PageSize.',
    { service: 'RetailServer', operation, code: 'AnswerTooLarge', retryable: false },
  );
}

/** Turns an axios failure with no response into a RemoteServiceError, keeping no request details. */
function networkFailure(error: unknown, operation: string, url: string): RemoteServiceError {
  const code = isAxiosError(error) ? error.code : (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const codeText = typeof code === 'string' ? code : undefined;
  const timedOut = codeText === 'ECONNABORTED' || codeText === 'ETIMEDOUT' || /timeout/i.test(message);
  // A connection cut while the answer's body was arriving ('stream has been aborted') is as
  // passing as one cut before it: axios reports it with the status line but no body.
  const cutShort = isAxiosError(error) && error.response !== undefined && error.response.data === undefined;
  const retryable = timedOut || cutShort || (codeText !== undefined && RETRYABLE_NETWORK_CODES.has(codeText)) || /socket hang up/i.test(message);
  const where = url.split('?')[0] ?? url;
  const advice =
    codeText === 'ENOTFOUND'
      ? ' Check RetailServerUrl: its host name was not found.'
      : retryable
        ? ''
        : ' Check RetailServerUrl and, for a TLS error, that the server certificate is trusted.';
  return new RemoteServiceError(
    `${operation} to ${where} ${timedOut ? 'timed out' : 'could not complete'} (${codeText ?? 'network error'}: ${message}).${advice}`,
    { service: 'RetailServer', operation, code: codeText, retryable, cause: new Error(`${codeText ?? 'network error'}: ${message}`) },
  );
}

type JsonObject = Record<string, unknown>;

function parseErrorBody(text: unknown): JsonObject | undefined {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim()) return value.trim();
  if (value && typeof value === 'object' && typeof (value as JsonObject).value === 'string') return textOf((value as JsonObject).value);
  return undefined;
}

/** Retail Server's error shapes: OData v4 `error`, OData v3 `odata.error`, CommerceException. */
function errorObject(body: JsonObject | undefined): JsonObject | undefined {
  const inner = body?.error ?? body?.['odata.error'];
  return inner && typeof inner === 'object' ? (inner as JsonObject) : body;
}

/**
 * Retail Server's own words for an error, for the message an operator reads. They may name the
 * customer a call was about (by email), and the message reaches logs and stored run reports, so
 * anything shaped like an email address is replaced (see redactEmails: linear, and it reads only
 * the text's first few kB, however long the body).
 */
function describeServerError(text: unknown): string | undefined {
  const body = parseErrorBody(text);
  const error = errorObject(body);
  const message = textOf(error?.message) ?? textOf(error?.LocalizedMessage) ?? textOf(error?.Message) ?? textOf(error?.ErrorResourceId);
  if (message) return redactEmails(message, 300);
  if (body === undefined && typeof text === 'string' && text.trim()) return redactEmails(text, 200);
  return undefined;
}

function serverErrorCode(text: unknown): string | undefined {
  const error = errorObject(parseErrorBody(text));
  return textOf(error?.code) ?? textOf(error?.ErrorResourceId);
}
