import type { AxiosInstance } from 'axios';
import type { Notification } from '../email-provider';
import type { Clock } from '../../shared/clock';
import { RemoteServiceError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { serverDelayFromHeaders, withRetry, type RetryPolicy } from '../../shared/retry';
import type { EmarsysAuthenticator } from './auth';
import {
  describeTransportError,
  isTransientStatus,
  isTransportError,
  post,
  TransientReplyError,
  type HttpReply,
  type ProviderCounters,
} from './http';
import { describeReply, interpretTriggerReply, type ContactError } from './response';

/**
 * One external event trigger request, from credentials to a verdict: throttling, server errors
 * and lost connections are retried with bounded backoff (honouring the server's wait hints);
 * a 401 with OAuth 2.0 gets one more try with a new token; everything else is final.
 */

export interface TriggerContact {
  external_id: string;
  trigger_id: string;
  data: Notification['data'];
}

/** How one trigger request ended. */
export type TriggerResult =
  /** `unattributed`: errors Emarsys reported without saying for which contact. */
  | { kind: 'accepted'; contactErrors: Map<string, ContactError>; unattributed: ContactError[] }
  /**
   * `stopSend`: later requests of the send would fail the same way (credentials refused, the token
   * endpoint down, the deadline passed). `tooLarge`: Emarsys refused the request's size (HTTP 413)
   * or a contact's (a size replyCode).
   */
  /**
   * `outage`: the request failed as a whole for a reason that is not about its contacts (Emarsys
   * down or throttling past the retries, the credentials or the event refused): see
   * `NotificationOutcome`. `suspect`: an outage, or something in one of its contacts' data that
   * Emarsys fails on (`error`: HTTP 500 past the retries) or refuses (`refusal`: an HTTP 400 or a
   * replyCode) every time; the provider tells them apart.
   */
  | {
      kind: 'failed';
      reason: string;
      retryable: boolean;
      stopSend?: boolean | undefined;
      tooLarge?: 'request' | 'contact' | undefined;
      outage?: boolean | undefined;
      suspect?: 'error' | 'refusal' | undefined;
    };

/** Bounds one trigger request. */
export interface TriggerOptions {
  /** Epoch ms by the provider's clock: no retry waits past it. */
  deadline?: number | undefined;
  /** One attempt, no retry: the request is a part of one that failed past its retries already. */
  once?: boolean | undefined;
}

export interface TriggerClientOptions {
  http: AxiosInstance;
  counters: ProviderCounters;
  /** The trigger URL with the event id in place. */
  url: string;
  eventId: string;
  contactKeyId: number;
  authenticator: EmarsysAuthenticator;
  retry: RetryPolicy;
  clock: Clock;
  logger: Logger;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
  /** Emarsys or its token endpoint refused the credentials, after the one renewal. */
  onCredentialsRefused?: (() => void) | undefined;
}

/** The JSON of one contact of a trigger request; the provider serialises each once (and checks its size). */
export function serializeContact(contact: TriggerContact): string {
  return JSON.stringify(contact);
}

export function createTriggerClient(options: TriggerClientOptions): (contacts: readonly string[], bounds?: TriggerOptions) => Promise<TriggerResult> {
  const { http, counters, url, eventId, authenticator, retry, clock, logger } = options;
  // For messages: the trigger endpoint's host and path, without any query.
  const target = new URL(url);
  const endpoint = `${target.origin}${target.pathname}`;

  /** One POST with fresh credentials; 429 and 5xx are thrown so `withRetry` tries again. */
  const attempt = async (body: string, used: { headers: Record<string, string>; attempts: number }, deadline: number | undefined): Promise<HttpReply> => {
    used.headers = await authenticator.headers(deadline);
    used.attempts++;
    const reply = await post(http, counters, url, body, { ...used.headers, 'Content-Type': 'application/json', Accept: 'application/json' });
    if (isTransientStatus(reply.status)) throw new TransientReplyError(reply);
    return reply;
  };

  /** Runs `attempt` under the retry policy; the error of the last attempt comes back as a failure. */
  const postWithRetry = async (
    body: string,
    used: { headers: Record<string, string>; attempts: number },
    contacts: number,
    deadline: number | undefined,
    once: boolean,
  ): Promise<HttpReply | TriggerResult> => {
    let outOfTime = false;
    try {
      return await withRetry(
        () => attempt(body, used, deadline),
        (error) =>
          error instanceof TransientReplyError
            ? { retry: true, serverDelayMs: serverDelayFromHeaders(error.reply.headers, clock.now()) }
            : { retry: isTransportError(error) },
        once ? { ...retry, maxAttempts: 1 } : retry,
        {
          sleep: options.sleep,
          random: options.random,
          giveUp: (delayMs) => (outOfTime = deadline !== undefined && clock.now().getTime() + delayMs > deadline),
          onRetry: ({ attempt: number, delayMs, error }) => {
            counters.retries++;
            logger.warn('emarsys trigger retry', {
              eventId,
              contacts,
              attempt: number,
              delayMs,
              ...(error instanceof TransientReplyError ? { status: error.reply.status } : { error: describeTransportError(error) }),
            });
          },
        },
      );
    } catch (error) {
      const attempts = used.attempts;
      // Past the run's time limit the rest of the send is not tried: the run must end before the host ends it.
      const stopped = outOfTime ? ', stopped at the run\'s time limit' : '';
      if (error instanceof TransientReplyError) {
        const reply = describeReply(error.reply.status, error.reply.text);
        // A 500 (not a 502, 503 or 504 of a gateway or an unavailable service) may be Emarsys failing
        // on one contact's data every time, which no wait would change.
        const suspect = error.reply.status === 500 && !outOfTime;
        return { kind: 'failed', retryable: true, stopSend: outOfTime, outage: true, ...(suspect ? { suspect: 'error' as const } : {}), reason: `Emarsys at ${endpoint}: ${reply}, still failing after ${attempts} attempts${stopped}` };
      }
      if (isTransportError(error)) {
        // Which endpoint did not answer (ApiUrl may point at a proxy or another host); a host name
        // that does not resolve is the setting's, and only then is the setting named.
        const unresolved = (error as { code?: unknown }).code === 'ENOTFOUND' ? '; check EmarsysClientOptions.ApiUrl: its host name was not found' : '';
        return {
          kind: 'failed',
          retryable: true,
          stopSend: outOfTime,
          outage: true,
          reason: `no answer from Emarsys at ${endpoint} after ${attempts} attempts${stopped} (${describeTransportError(error)})${unresolved}`,
        };
      }
      if (error instanceof RemoteServiceError) {
        if (!error.retryable) options.onCredentialsRefused?.();
        // The token endpoint failed; it was retried there already when that could help, so the
        // send's other requests are not tried (each would repeat those retries, and their timeouts).
        // Refused credentials are retryable too, and not counted against MaxSendAttempts: once the
        // secret is fixed, a later run sends the carts, instead of losing a whole outage's reminders.
        return { kind: 'failed', retryable: true, reason: error.message, stopSend: true, outage: true };
      }
      const message = error instanceof Error ? error.message : String(error);
      logger.error('emarsys trigger failed unexpectedly', { eventId, error: message });
      return { kind: 'failed', retryable: true, reason: `unexpected error while calling Emarsys: ${message}` };
    }
  };

  return async (contacts, bounds = {}) => {
    // The same text JSON.stringify({ key_id, contacts }) makes, from contacts serialised once.
    const body = `{"key_id":${JSON.stringify(options.contactKeyId)},"contacts":[${contacts.join(',')}]}`;
    const { deadline } = bounds;
    let renewedCredentials = false;
    for (;;) {
      const used = { headers: {} as Record<string, string>, attempts: 0 };
      const reply = await postWithRetry(body, used, contacts.length, deadline, bounds.once === true);
      if ('kind' in reply) return reply;

      const verdict = interpretTriggerReply(reply.status, reply.text);
      switch (verdict.kind) {
        case 'accepted':
          return { kind: 'accepted', contactErrors: verdict.contactErrors, unattributed: verdict.unattributed };
        case 'rejected':
          if (verdict.tooLarge) {
            // A size, not the contacts as such: the provider sends them again apart from the one too large.
            return { kind: 'failed', retryable: true, tooLarge: verdict.tooLarge, reason: verdict.reason };
          }
          // The whole request refused: a wrong ExternalEventId or ApiUrl, a key_id the account does
          // not have, which every request of the run meets, or (`mayBeData`) something in one
          // contact's data, which the provider tells apart. As with refused credentials, a later run
          // tries them again (not counted against MaxSendAttempts), so that a setting fixed hours
          // later does not cost a whole window's reminders.
          return { kind: 'failed', retryable: true, outage: true, ...(verdict.mayBeData ? { suspect: 'refusal' as const } : {}), reason: verdict.reason };
        case 'unreadable':
          // Emarsys may have processed it; a later retry is safe because it drops repeated trigger ids.
          return { kind: 'failed', retryable: true, reason: verdict.reason };
        case 'unauthorized': {
          const inTime = deadline === undefined || clock.now().getTime() < deadline;
          if (verdict.status === 401 && inTime && !renewedCredentials && authenticator.renewAfterUnauthorized(used.headers)) {
            renewedCredentials = true;
            counters.retries++;
            logger.warn('emarsys refused the access token; fetching a new one', { eventId });
            continue;
          }
          options.onCredentialsRefused?.();
          const code = verdict.replyCode === undefined ? '' : `, replyCode ${verdict.replyCode}`;
          const text = verdict.replyText ? ` "${verdict.replyText}"` : '';
          return {
            kind: 'failed',
            retryable: true,
            stopSend: true,
            outage: true,
            reason: `Emarsys refused the credentials (HTTP ${verdict.status}${code}${text}): ${authenticator.credentialsHint}`,
          };
        }
      }
    }
  };
}
