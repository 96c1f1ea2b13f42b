import type { Clock } from '../../shared/clock';
import { ConfigurationError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { defaultRetryPolicy, type RetryPolicy } from '../../shared/retry';

/**
 * What the Emarsys provider needs, and the one place its options are checked. Problems name the
 * `EmarsysClientOptions` property an operator has to fix, because that is what they can see in
 * `appSettings.json` or the Function App's settings; the values of secrets are never repeated.
 */

export const DEFAULT_WSSE_API_URL = 'https://api.emarsys.net/api/v2/event/{0}/trigger';
export const DEFAULT_OAUTH2_API_URL = 'https://api.emarsys.net/api/v3/event/{0}/trigger';
export const DEFAULT_TOKEN_URL = 'https://auth.emarsys.net/oauth2/token';
/** The email field; what Microsoft's sample uses. */
export const DEFAULT_CONTACT_KEY_ID = 3;
/** The most contacts Emarsys takes in one external event trigger. */
export const MAX_BATCH_SIZE = 1000;
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface WsseAuthOptions {
  mode: 'wsse';
  userName: string;
  secret: string;
}

export interface OAuth2AuthOptions {
  mode: 'oauth2';
  /** Default `https://auth.emarsys.net/oauth2/token`. */
  tokenUrl?: string | undefined;
  clientId: string;
  clientSecret: string;
}

export type EmarsysAuthOptions = WsseAuthOptions | OAuth2AuthOptions;

export interface EmarsysProviderOptions {
  /** Trigger URL with `{0}` for the event id; the default depends on the auth mode (v2 for WSSE, v3 for OAuth 2.0). */
  apiUrl?: string | undefined;
  externalEventId: string | number;
  /** The Emarsys field that `external_id` is matched against. Default 3 (email). */
  contactKeyId?: number | undefined;
  /** Contacts per request, 1..1000. Default 1000. */
  batchSize?: number | undefined;
  auth: EmarsysAuthOptions;
  retry?: RetryPolicy | undefined;
  /** Waits between retries; tests pass one that returns at once. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Jitter source for backoff. */
  random?: (() => number) | undefined;
  /** Time source for WSSE timestamps, token expiry and rate-limit resets. */
  clock?: Clock | undefined;
  /** Per HTTP request. Default 30 s. */
  timeoutMs?: number | undefined;
  /** Requests in flight at once when a batch needs several. Default 1, which is kindest to rate limits. */
  concurrency?: number | undefined;
  logger: Logger;
  /**
   * Called when Emarsys (or its token endpoint) refuses the credentials for good: whoever built the
   * provider may read the secrets again for the next run (a secret rotated since they were read).
   */
  onCredentialsRefused?: (() => void) | undefined;
}

/** The options after defaults and checks. */
export interface ResolvedEmarsysOptions {
  apiUrlTemplate: string;
  externalEventId: string;
  contactKeyId: number;
  batchSize: number;
  auth: WsseAuthOptions | (OAuth2AuthOptions & { tokenUrl: string });
  retry: RetryPolicy;
  timeoutMs: number;
  concurrency: number;
}

const section = 'EmarsysClientOptions';

function isBlank(value: unknown): boolean {
  return typeof value !== 'string' || value.trim() === '';
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value.replace('{0}', 'event'));
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Applies defaults and checks every option, reporting all problems at once. */
export function resolveEmarsysOptions(options: EmarsysProviderOptions): ResolvedEmarsysOptions {
  const problems: string[] = [];
  const auth = options.auth;
  const mode = auth?.mode;
  if (mode !== 'wsse' && mode !== 'oauth2') {
    problems.push(`${section}.AuthMode: must be "wsse" or "oauth2"`);
  }

  const apiUrlTemplate = isBlank(options.apiUrl)
    ? mode === 'oauth2'
      ? DEFAULT_OAUTH2_API_URL
      : DEFAULT_WSSE_API_URL
    : (options.apiUrl as string).trim();
  if (!apiUrlTemplate.includes('{0}')) {
    problems.push(`${section}.ApiUrl: must contain {0} where the external event id goes, e.g. ${DEFAULT_WSSE_API_URL}`);
  } else if (!isHttpUrl(apiUrlTemplate)) {
    problems.push(`${section}.ApiUrl: must be an absolute http(s) URL, e.g. ${DEFAULT_WSSE_API_URL}`);
  }

  const externalEventId = options.externalEventId === undefined || options.externalEventId === null ? '' : String(options.externalEventId).trim();
  if (externalEventId === '') {
    problems.push(`${section}.ExternalEventId: required; the id of the external event in Emarsys (Automation > External events)`);
  }

  const contactKeyId = options.contactKeyId ?? DEFAULT_CONTACT_KEY_ID;
  if (!isIntegerIn(contactKeyId, 1, Number.MAX_SAFE_INTEGER)) {
    problems.push(`${section}.EmarsysContactKeyId: must be a positive whole number, the Emarsys field id to match contacts on (3 is email)`);
  }

  const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
  if (!isIntegerIn(batchSize, 1, MAX_BATCH_SIZE)) {
    problems.push(`${section}.BatchSize: must be a whole number from 1 to ${MAX_BATCH_SIZE}`);
  }

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!isIntegerIn(timeoutMs, 1, 10 * 60_000)) {
    problems.push(`Emarsys timeout: must be a whole number of milliseconds from 1 to 600000`);
  }

  const concurrency = options.concurrency ?? 1;
  if (!isIntegerIn(concurrency, 1, 64)) {
    problems.push(`Emarsys concurrency: must be a whole number from 1 to 64`);
  }

  const retry = options.retry ?? defaultRetryPolicy;
  if (!isIntegerIn(retry.maxAttempts, 1, 100)) {
    problems.push(`Emarsys retry policy: maxAttempts must be a whole number from 1 to 100`);
  }

  let resolvedAuth: ResolvedEmarsysOptions['auth'] | undefined;
  if (mode === 'wsse') {
    if (isBlank(auth.userName)) {
      problems.push(`${section}.ApiUserNameKeyVaultSecretName: the Emarsys API user name (the secret it names) is missing or empty`);
    }
    if (isBlank(auth.secret)) {
      problems.push(`${section}.ApiSecretKeyVaultSecretName: the Emarsys API secret (the secret it names) is missing or empty`);
    }
    resolvedAuth = { mode, userName: auth.userName?.trim(), secret: auth.secret };
  } else if (mode === 'oauth2') {
    const tokenUrl = isBlank(auth.tokenUrl) ? DEFAULT_TOKEN_URL : (auth.tokenUrl as string).trim();
    if (!isHttpUrl(tokenUrl)) {
      problems.push(`${section}.TokenUrl: must be an absolute http(s) URL, e.g. ${DEFAULT_TOKEN_URL}`);
    }
    if (isBlank(auth.clientId)) {
      problems.push(`${section}.ClientIdKeyVaultSecretName: the OAuth 2.0 client id (the secret it names) is missing or empty`);
    }
    if (isBlank(auth.clientSecret)) {
      problems.push(`${section}.ClientSecretKeyVaultSecretName: the OAuth 2.0 client secret (the secret it names) is missing or empty`);
    }
    resolvedAuth = { mode, tokenUrl, clientId: auth.clientId?.trim(), clientSecret: auth.clientSecret };
  }

  if (problems.length > 0 || resolvedAuth === undefined) throw new ConfigurationError(problems);
  return { apiUrlTemplate, externalEventId, contactKeyId, batchSize, auth: resolvedAuth, retry, timeoutMs, concurrency };
}

/** The trigger URL for one event; the id is URL-encoded so a stray character cannot change the path. */
export function triggerUrl(apiUrlTemplate: string, externalEventId: string): string {
  return apiUrlTemplate.split('{0}').join(encodeURIComponent(externalEventId));
}
