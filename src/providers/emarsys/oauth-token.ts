import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Clock } from '../../shared/clock';
import { RemoteServiceError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { redactEmails } from '../../shared/redact';
import { serverDelayFromHeaders, withRetry, type RetryPolicy } from '../../shared/retry';
import type { EmarsysAuthenticator } from './auth';
import { DEFAULT_TOKEN_URL } from './options';
import {
  describeTransportError,
  isTransientStatus,
  isTransportError,
  post,
  TransientReplyError,
  type HttpReply,
  type ProviderCounters,
} from './http';

/**
 * OAuth 2.0 client credentials for the Emarsys v3 API, the successor of WSSE. One token serves
 * every request until shortly before it expires; concurrent requests share one token call.
 */

export interface OAuthClientOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface OAuthTokenDependencies {
  http: AxiosInstance;
  counters: ProviderCounters;
  clock: Clock;
  retry: RetryPolicy;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
  logger: Logger;
}

/** Renew this long before the token runs out, so a token never expires on its way to Emarsys. */
export const TOKEN_RENEWAL_MARGIN_MS = 60_000;

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]).pipe(z.number().positive()),
});

interface CachedToken {
  accessToken: string;
  /** When to stop using it (epoch ms, by the injected clock). */
  renewAt: number;
}

export interface OAuthTokenSource {
  /** A valid access token, from the cache when it has one. Throws RemoteServiceError. */
  getToken(deadline?: number): Promise<string>;
  /** Drops `accessToken` if it is still the cached one (a 401 proved it stale). */
  invalidate(accessToken: string): void;
}

function tokenHint(tokenUrl: string): string {
  return (
    `check EmarsysClientOptions.TokenUrl (${tokenUrl}), the client id and secret ` +
    '(EmarsysClientOptions.ClientIdKeyVaultSecretName and ClientSecretKeyVaultSecretName), ' +
    'and that the API user in Emarsys has OAuth 2.0 credentials'
  );
}

/**
 * What to do depends on why no token came: an endpoint that is down or throttling needs no change
 * (the credentials were never judged), one that does not answer at all needs its address checked,
 * and only a refusal or an answer without a token points at the credentials and the URL.
 */
function tokenError(message: string, tokenUrl: string, retryable: boolean, statusCode?: number, code?: string, hint = tokenHint(tokenUrl)): RemoteServiceError {
  return new RemoteServiceError(`Emarsys token endpoint: ${message}; ${hint}`, {
    service: 'Emarsys',
    operation: `POST ${tokenUrl}`,
    retryable,
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(code === undefined ? {} : { code }),
  });
}

/** The OAuth error code (`invalid_client`, ...) when the body is the standard error shape. */
function oauthErrorCode(text: string): string | undefined {
  try {
    const parsed = z.object({ error: z.string() }).safeParse(JSON.parse(text));
    // The endpoint's own text: it goes into failure reasons, stored records and logs as any other.
    return parsed.success ? redactEmails(parsed.data.error, 64) || undefined : undefined;
  } catch {
    return undefined;
  }
}

export function createOAuthTokenSource(client: OAuthClientOptions, deps: OAuthTokenDependencies): OAuthTokenSource {
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`, 'utf8').toString('base64');

  const requestOnce = async (): Promise<HttpReply> => {
    const reply = await post(deps.http, deps.counters, client.tokenUrl, 'grant_type=client_credentials', {
      Authorization: `Basic ${basic}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    });
    if (isTransientStatus(reply.status)) throw new TransientReplyError(reply);
    return reply;
  };

  const fetchToken = async (deadline: number | undefined): Promise<CachedToken> => {
    let reply: HttpReply;
    try {
      reply = await withRetry(
        requestOnce,
        (error) =>
          error instanceof TransientReplyError
            ? { retry: true, serverDelayMs: serverDelayFromHeaders(error.reply.headers, deps.clock.now()) }
            : { retry: isTransportError(error) },
        deps.retry,
        {
          sleep: deps.sleep,
          random: deps.random,
          giveUp: (delayMs) => deadline !== undefined && deps.clock.now().getTime() + delayMs > deadline,
          onRetry: ({ attempt, delayMs, error }) => {
            deps.counters.retries++;
            deps.logger.warn('emarsys token request retry', {
              attempt,
              delayMs,
              ...(error instanceof TransientReplyError ? { status: error.reply.status } : { error: describeTransportError(error) }),
            });
          },
        },
      );
    } catch (error) {
      if (error instanceof TransientReplyError) {
        const outage = `${client.tokenUrl} is unavailable or throttling, and a later run tries again (the client credentials were not refused)`;
        throw tokenError(`HTTP ${error.reply.status}, still failing after its retries`, client.tokenUrl, true, error.reply.status, undefined, outage);
      }
      if (isTransportError(error)) {
        const unreached = `check EmarsysClientOptions.TokenUrl (${client.tokenUrl}) and that this host can reach it`;
        throw tokenError(`no answer (${describeTransportError(error)})`, client.tokenUrl, true, undefined, undefined, unreached);
      }
      throw error;
    }

    if (reply.status >= 300 && reply.status < 400) {
      // Not followed (the client credentials must not go elsewhere): something other than the
      // token endpoint answers at TokenUrl, and the credentials were never looked at.
      const wrongUrl = `check EmarsysClientOptions.TokenUrl (${client.tokenUrl}): it must be the token endpoint itself, e.g. ${DEFAULT_TOKEN_URL}`;
      throw tokenError(`the token request was redirected (HTTP ${reply.status}), so the credentials were not judged`, client.tokenUrl, false, reply.status, undefined, wrongUrl);
    }
    if (reply.status < 200 || reply.status >= 300) {
      const code = oauthErrorCode(reply.text);
      const detail = code === undefined ? `HTTP ${reply.status}` : `HTTP ${reply.status} (${code})`;
      throw tokenError(`refused the client credentials: ${detail}`, client.tokenUrl, false, reply.status, code);
    }
    let body: unknown;
    try {
      body = JSON.parse(reply.text);
    } catch {
      body = undefined;
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw tokenError('answered without a usable access_token and expires_in', client.tokenUrl, false, reply.status);
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    // A very short-lived token would otherwise be stale on arrival; use it for half its life then.
    const usableMs = lifetimeMs > 2 * TOKEN_RENEWAL_MARGIN_MS ? lifetimeMs - TOKEN_RENEWAL_MARGIN_MS : lifetimeMs / 2;
    deps.logger.debug('emarsys token obtained', { expiresInSeconds: parsed.data.expires_in });
    return { accessToken: parsed.data.access_token, renewAt: deps.clock.now().getTime() + usableMs };
  };

  return {
    async getToken(deadline) {
      if (cached && deps.clock.now().getTime() < cached.renewAt) return cached.accessToken;
      cached = undefined;
      if (!pending) {
        pending = fetchToken(deadline).finally(() => {
          pending = undefined;
        });
      }
      const token = await pending;
      cached = token;
      return token.accessToken;
    },
    invalidate(accessToken) {
      if (cached?.accessToken === accessToken) cached = undefined;
    },
  };
}

/** Attaches the bearer token; after a 401 drops it so the one retry fetches a new one. */
export function createOAuthAuthenticator(tokens: OAuthTokenSource): EmarsysAuthenticator {
  const prefix = 'Bearer ';
  return {
    mode: 'oauth2',
    headers: async (deadline) => ({ Authorization: `${prefix}${await tokens.getToken(deadline)}` }),
    renewAfterUnauthorized: (usedHeaders) => {
      const used = usedHeaders.Authorization;
      if (used?.startsWith(prefix)) tokens.invalidate(used.slice(prefix.length));
      return true;
    },
    credentialsHint:
      'check the OAuth 2.0 client id and secret (EmarsysClientOptions.ClientIdKeyVaultSecretName and ' +
      'ClientSecretKeyVaultSecretName), that the API user may trigger this external event, and that its ' +
      'allowed IP addresses include this host',
  };
}
