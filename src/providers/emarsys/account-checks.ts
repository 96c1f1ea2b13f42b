import type { AxiosInstance } from 'axios';
import { RemoteServiceError } from '../../shared/errors';
import { redactEmails } from '../../shared/redact';
import type { EmarsysAuthenticator } from './auth';
import { describeTransportError, withinTimeout, type ProviderCounters } from './http';
import { EXTERNAL_EVENT_HINT } from './response';

/**
 * What `doctor` asks Emarsys before any reminder is sent: whether it accepts the credentials (the
 * account's settings endpoint) and has the external event the reminders trigger. Reads only.
 */

/**
 * The external event's own endpoint (Emarsys' "Query an external event") beside the trigger
 * endpoint: `.../api/v2/event/{0}/trigger` → `.../api/v2/event/<id>`; undefined for an ApiUrl of
 * another shape, whose event cannot be looked up.
 */
export function eventUrl(apiUrlTemplate: string, eventId: string): string | undefined {
  const match = /^(.*\/api\/v\d+\/event\/)\{0\}\/trigger\/?$/.exec(apiUrlTemplate);
  return match ? `${match[1]}${encodeURIComponent(eventId)}` : undefined;
}

/** The account settings endpoint beside the trigger endpoint: `.../api/v2/event/{0}/trigger` → `.../api/v2/settings`. */
export function settingsUrl(apiUrlTemplate: string): string {
  const match = /^(.*\/api\/v\d+)\/event\/\{0\}\/trigger\/?$/.exec(apiUrlTemplate);
  return match ? `${match[1]}/settings` : `${new URL(apiUrlTemplate.replace('{0}', '0')).origin}/api/v2/settings`;
}

/** What Emarsys answers a request with, as far as doctor's checks read it. */
type EmarsysReply = { replyCode?: unknown; replyText?: unknown; data?: unknown };

function safeJson(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface AccountCheckOptions {
  http: AxiosInstance;
  counters: ProviderCounters;
  authenticator: EmarsysAuthenticator;
  apiUrlTemplate: string;
  eventId: string;
}

export interface AccountChecks {
  /** The credentials, then the external event: a line for doctor, or the RemoteServiceError saying what to fix. */
  verify(): Promise<string>;
  /**
   * Whether Emarsys answers for the external event with these credentials (HTTP 200, replyCode 0),
   * or, for an ApiUrl of another shape, for the account's settings: it is up, takes the
   * credentials, and has the event. False on any other answer or fault. `deadline` (epoch ms):
   * no retry of a token request waits past it.
   */
  eventAnswers(deadline?: number): Promise<boolean>;
}

export function createAccountChecks(options: AccountCheckOptions): AccountChecks {
  const { http, counters, authenticator, apiUrlTemplate, eventId } = options;

  /**
   * An authenticated GET of `url` (doctor's checks): its status and the reply, when it is JSON.
   * Throws the authenticator's RemoteServiceError when no credentials can be had (an OAuth token
   * refused), and the transport's error when Emarsys cannot be reached.
   */
  async function getJson(url: string, deadline?: number): Promise<{ status: number; reply: EmarsysReply | undefined }> {
    const headers = await authenticator.headers(deadline);
    counters.calls++;
    const response = await withinTimeout(http, (config) => http.get<string>(url, { ...config, headers: { ...headers, Accept: 'application/json' } }));
    return { status: response.status, reply: safeJson(response.data) as EmarsysReply | undefined };
  }

  /**
   * Whether the account has the external event the reminders trigger: a wrong or deleted
   * ExternalEventId otherwise passes `doctor` and fails every send. Returns what to add to the
   * check's line; throws when Emarsys says the event does not exist.
   */
  async function checkEvent(): Promise<string> {
    const url = eventUrl(apiUrlTemplate, eventId);
    if (url === undefined) return '; the external event was not looked up (ApiUrl is not .../api/vN/event/{0}/trigger)';
    let status: number;
    let reply: EmarsysReply | undefined;
    try {
      ({ status, reply } = await getJson(url));
    } catch (error) {
      if (error instanceof RemoteServiceError) throw error; // the credentials, refused or not to be had
      return `; the external event could not be looked up (${describeTransportError(error)})`;
    }
    if (status === 200 && reply?.replyCode === 0) {
      const found = [reply.data].flat().find((event): event is { name: string } => typeof (event as { name?: unknown } | null)?.name === 'string');
      return `; external event ${eventId}${found ? ` ("${redactEmails(found.name).slice(0, 100)}")` : ''} exists`;
    }
    // Only Emarsys' answer about the event (HTTP 200 or 400 with a replyCode, as 6003: invalid event
    // id) fails the check. A refusal of the request (the API user may lack the right to read
    // events), a 404 (an API version without this endpoint) or a fault leaves the event unchecked.
    if (typeof reply?.replyCode === 'number' && reply.replyCode !== 0 && (status === 200 || status === 400)) {
      const text = typeof reply.replyText === 'string' ? `: ${redactEmails(reply.replyText).slice(0, 200)}` : '';
      throw new RemoteServiceError(
        `Emarsys refused external event ${eventId} (HTTP ${status}, replyCode ${reply.replyCode}${text}): ${EXTERNAL_EVENT_HINT}`,
        { service: 'Emarsys', operation: 'GET event', statusCode: status, retryable: false },
      );
    }
    return `; the external event could not be looked up (HTTP ${status})`;
  }

  async function verify(): Promise<string> {
    const url = settingsUrl(apiUrlTemplate);
    let status: number;
    let replyCode: unknown;
    try {
      let reply: EmarsysReply | undefined;
      ({ status, reply } = await getJson(url));
      replyCode = reply?.replyCode;
    } catch (error) {
      if (error instanceof RemoteServiceError) throw error; // the credentials, refused or not to be had
      throw new RemoteServiceError(`Emarsys could not be reached at ${new URL(url).origin}: ${describeTransportError(error)}`, {
        service: 'Emarsys',
        operation: 'GET settings',
        retryable: true,
      });
    }
    if (status === 200 && replyCode === 0) return `${authenticator.mode} credentials accepted by ${new URL(url).origin}${await checkEvent()}`;
    const refused = status === 401 || status === 403;
    // A redirect (not followed) or a 404 comes from a URL that is not Emarsys' settings endpoint: the
    // setting it is made from is what to check. A 5xx or 429 is Emarsys' own trouble, not the setting's.
    // Host and path only: a query (which ApiUrl may hold, for a gateway) is as likely as not a key.
    const endpoint = `${new URL(url).origin}${new URL(url).pathname}`;
    const wrongUrl = status === 404 || (status >= 300 && status < 400) ? ': check EmarsysClientOptions.ApiUrl, whose settings endpoint this is' : '';
    throw new RemoteServiceError(
      refused ? `Emarsys refused the credentials (HTTP ${status}): ${authenticator.credentialsHint}` : `Emarsys answered HTTP ${status} to GET ${endpoint}${wrongUrl}`,
      { service: 'Emarsys', operation: 'GET settings', statusCode: status, retryable: !refused },
    );
  }

  async function eventAnswers(deadline?: number): Promise<boolean> {
    try {
      const { status, reply } = await getJson(eventUrl(apiUrlTemplate, eventId) ?? settingsUrl(apiUrlTemplate), deadline);
      return status === 200 && reply?.replyCode === 0;
    } catch {
      return false;
    }
  }

  return { verify, eventAnswers };
}
