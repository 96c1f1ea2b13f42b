import { ConfidentialClientApplication, LogLevel, type AuthenticationResult } from '@azure/msal-node';
import { ConfigurationError, RemoteServiceError } from '../shared/errors';
import { silentLogger, type Logger } from '../shared/logger';
import { ofThisRun, sharedCounters } from '../shared/run-tally';
import {
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_RETAIL_SERVER_AUDIENCE,
  explainTokenFailure,
  intro,
  isMsalThrottleReplay,
  networkAdvice,
  scrub,
  TOKEN_OPERATION,
  type TokenErrorContext,
} from './token-errors';

/**
 * Access tokens for Retail Server, from Microsoft Entra with the client-credentials flow.
 *
 * One MSAL ConfidentialClientApplication per provider keeps MSAL's token cache warm across calls,
 * so a run asks Entra for a token once, not once per request. Concurrent callers share one
 * request in flight, so a burst of parallel calls at the start of a run does not become a burst
 * of token requests.
 */

export interface RetailTokenProvider {
  /** A bearer token for Retail Server. `forceRefresh` bypasses the cache (after a 401). */
  getToken(options?: { forceRefresh?: boolean }): Promise<string>;
  /** How many token requests went to the authority (cache misses, failures included) so far; within a run, the run's. */
  tokenRequests(): number;
}

export interface RetailTokenProviderOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Defaults to the public cloud, https://login.microsoftonline.com. */
  authorityHost?: string;
  /** Defaults to https://commerce.dynamics.com; the scope asked for is `<audience>/.default`. */
  audience?: string;
  logger?: Logger;
  /** How long one token acquisition may take; MSAL itself sets no limit on the token request. */
  timeoutMs?: number;
  /**
   * Called when the authority refuses these credentials for good (a wrong or expired secret, an
   * unknown tenant or app): whoever keeps this provider should read the secrets again.
   */
  onRefused?: () => void;
}

export { DEFAULT_AUTHORITY_HOST, DEFAULT_RETAIL_SERVER_AUDIENCE };

/**
 * Hosts MSAL knows and validates through instance discovery. Any other host (a sovereign or
 * private cloud, a local stand-in) has to be declared a known authority or MSAL refuses it.
 */
const PUBLIC_CLOUD_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.microsoftonline.de',
]);

export function createRetailTokenProvider(options: RetailTokenProviderOptions): RetailTokenProvider {
  const missing = [
    options.tenantId.trim() ? undefined : 'RetailServerClientOptions.TenantId is empty: set the Microsoft Entra tenant id.',
    options.clientId.trim() ? undefined : 'The Retail Server app (client) id is empty: check the secret named by AppIdKeyVaultSecretName.',
    options.clientSecret ? undefined : 'The Retail Server client secret is empty: check the secret named by AppSecretKeyVaultSecretName.',
  ].filter((problem): problem is string => problem !== undefined);
  if (missing.length > 0) throw new ConfigurationError(missing);
  const logger = options.logger ?? silentLogger;
  const authorityHost = (options.authorityHost?.trim() || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
  const audience = (options.audience?.trim() || DEFAULT_RETAIL_SERVER_AUDIENCE).replace(/\/+$/, '');
  const authority = `${authorityHost}/${options.tenantId}`;
  const scopes = [`${audience}/.default`];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const hostName = authorityHostName(authorityHost);
  const context: TokenErrorContext = {
    tenantId: options.tenantId,
    clientId: options.clientId,
    authority,
    audience,
    secret: options.clientSecret,
  };

  const app = new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      authority,
      ...(PUBLIC_CLOUD_HOSTS.has(hostName) ? {} : { knownAuthorities: [hostName] }),
    },
    system: {
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        // PII logging stays off. MSAL's warnings go to debug: the error raised here says what matters.
        loggerCallback: (_level, message) => logger.debug('MSAL', { detail: scrub(message, context) }),
      },
    },
  });

  const inFlight = new Map<boolean, Promise<string>>();
  const counted = sharedCounters(['requests']);

  async function acquire(forceRefresh: boolean): Promise<string> {
    const started = Date.now();
    let result: AuthenticationResult | null;
    try {
      result = await withTimeout(
        app.acquireTokenByClientCredential({ scopes, skipCache: forceRefresh }),
        timeoutMs,
        () =>
          new RemoteServiceError(`${intro(context)}: the authority did not answer within ${timeoutMs} ms. ${networkAdvice}`, {
            service: 'TokenEndpoint',
            operation: TOKEN_OPERATION,
            retryable: true,
          }),
      );
    } catch (error) {
      // A throttle replay never left the process: MSAL answered it from its own cache.
      if (!isMsalThrottleReplay(error)) counted.requests++;
      const explained = error instanceof RemoteServiceError ? error : await explainTokenFailure(error, context);
      if (!explained.retryable) options.onRefused?.();
      throw explained;
    }
    if (!result?.fromCache) counted.requests++;
    if (!result?.accessToken) {
      throw new RemoteServiceError(`${intro(context)}: the authority answered without an access token.`, {
        service: 'TokenEndpoint',
        operation: TOKEN_OPERATION,
        retryable: true,
      });
    }
    logger.debug('Retail Server token ready', {
      forceRefresh,
      fromCache: result.fromCache,
      expiresOn: result.expiresOn?.toISOString(),
      durationMs: Date.now() - started,
    });
    return result.accessToken;
  }

  return {
    getToken: ({ forceRefresh = false } = {}) => {
      const pending = inFlight.get(forceRefresh);
      if (pending) return pending;
      const request = acquire(forceRefresh).finally(() => inFlight.delete(forceRefresh));
      inFlight.set(forceRefresh, request);
      return request;
    },
    tokenRequests: () => ofThisRun(counted).requests,
  };
}

/** The host (and port) of the authority; MSAL accepts only HTTPS authorities. */
function authorityHostName(authorityHost: string): string {
  let url: URL | undefined;
  try {
    url = new URL(authorityHost);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') {
    throw new ConfigurationError([
      `RetailServerClientOptions.AuthorityHost must be an https:// URL such as ${DEFAULT_AUTHORITY_HOST}, got '${authorityHost}'.`,
    ]);
  }
  return url.host.toLowerCase();
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
