import { AuthError, ServerError } from '@azure/msal-node';
import { RemoteServiceError } from '../shared/errors';

/**
 * Explains a failed token acquisition in terms of the settings to check. MSAL's own errors name
 * an error code; the user needs to know which of tenant, client id, secret, audience or authority
 * host is wrong. Nothing here ever carries the client secret or a token.
 */

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_RETAIL_SERVER_AUDIENCE = 'https://commerce.dynamics.com';
export const TOKEN_OPERATION = 'acquire token (client credentials)';

export interface TokenErrorContext {
  tenantId: string;
  clientId: string;
  /** `<authority host>/<tenant id>`. */
  authority: string;
  audience: string;
  /** Only to scrub it from any text that is passed on. */
  secret: string;
}

const credentialAdvice =
  'Check RetailServerClientOptions.TenantId, the app (client) id and client secret read from the secrets named by ' +
  'AppIdKeyVaultSecretName and AppSecretKeyVaultSecretName, and that the client secret has not expired ' +
  '(Microsoft Entra admin center > App registrations > Certificates & secrets).';

export const networkAdvice = 'Check RetailServerClientOptions.AuthorityHost and that this host can reach it.';

export function intro(context: TokenErrorContext): string {
  return `Could not get a Retail Server access token for tenant '${context.tenantId}' (client id '${context.clientId}') from authority ${context.authority}`;
}

/** Removes the client secret from text that came from MSAL or the server, and bounds its length. */
export function scrub(text: string, context: Pick<TokenErrorContext, 'secret'>): string {
  const cleaned = context.secret ? text.split(context.secret).join('[redacted]') : text;
  return cleaned.replace(/\s+/g, ' ').trim().slice(0, 600);
}

interface Explanation {
  detail: string | undefined;
  advice: string;
  retryable: boolean;
  status: number | undefined;
  code: string | undefined;
}

export async function explainTokenFailure(error: unknown, context: TokenErrorContext): Promise<RemoteServiceError> {
  const explanation =
    error instanceof AuthError && error.errorCode === 'endpoints_resolution_error'
      ? await explainMetadataFailure(context)
      : explainMsalError(error, context);
  const what = explanation.detail ? ` (${explanation.detail})` : '';
  return new RemoteServiceError(`${intro(context)}${what}. ${explanation.advice}`, {
    service: 'TokenEndpoint',
    operation: TOKEN_OPERATION,
    statusCode: explanation.status,
    code: explanation.code,
    retryable: explanation.retryable,
    // The MSAL error itself is not attached: only its scrubbed text above is passed on.
  });
}

/**
 * After the authority answers 429 or 5xx, MSAL refuses the same token request locally until the
 * answer's Retry-After has passed (60 s without one), by replaying the stored error as a
 * ServerError without a status. Every error from a real token response carries its status.
 */
export function isMsalThrottleReplay(error: unknown): boolean {
  return error instanceof ServerError && error.status === undefined;
}

/** The authority answered with something that is not JSON: a gateway's error page, a cut connection. */
function isUnreadableAnswer(code: string | undefined): boolean {
  return code === 'token_parsing_error';
}

function explainMsalError(error: unknown, context: TokenErrorContext): Explanation {
  const code = error instanceof AuthError ? error.errorCode || undefined : undefined;
  const status = error instanceof ServerError ? error.status : undefined;
  const message = scrub(error instanceof AuthError ? error.errorMessage : error instanceof Error ? error.message : String(error), context);
  const aadCode = /AADSTS(\d+)/.exec(message)?.[1];
  const throttled = isMsalThrottleReplay(error);
  const transientStatus = status !== undefined && (status === 429 || status >= 500);
  const retryable =
    code === 'network_error' ||
    code === 'temporarily_unavailable' ||
    code === 'server_error' ||
    transientStatus ||
    throttled ||
    isUnreadableAnswer(code);
  const detail = throttled
    ? `MSAL is holding token requests back after the authority answered with throttling or a server error${message ? ` (${message})` : ''}`
    : [code, message && message !== code ? message : undefined].filter(Boolean).join(': ') || undefined;

  let advice: string;
  if (throttled || transientStatus) {
    advice = 'The authority is unavailable or throttling; a later attempt may succeed (MSAL waits for its Retry-After, or 60 s).';
  } else if (isUnreadableAnswer(code)) {
    advice = `The authority's answer was not a token response (cut short, or a proxy's error page); a later attempt may succeed. ${networkAdvice}`;
  } else if (aadCode === '90002' || aadCode === '90013') {
    advice = tenantAdvice(context);
  } else if (aadCode === '500011' || aadCode === '1002012' || code === 'invalid_scope' || code === 'invalid_resource') {
    advice = `The scope '${context.audience}/.default' was refused. Check RetailServerClientOptions.RetailServerAudienceId (usually ${DEFAULT_RETAIL_SERVER_AUDIENCE}).`;
  } else if (code === 'network_error') {
    advice = networkAdvice;
  } else if (retryable) {
    advice = 'The authority is unavailable or throttling; a later attempt may succeed.';
  } else {
    advice = credentialAdvice;
  }
  return { detail, advice, retryable, status, code: aadCode ? `AADSTS${aadCode}` : code };
}

function tenantAdvice(context: TokenErrorContext): string {
  return `The authority does not know tenant '${context.tenantId}'. Check RetailServerClientOptions.TenantId and AuthorityHost (the cloud the tenant lives in).`;
}

/**
 * MSAL reports "could not resolve endpoints" both for an unknown tenant and for an authority it
 * cannot reach, and keeps the cause to itself. One direct request for the same OpenID
 * configuration tells the two apart, so the message points at the right setting.
 */
async function explainMetadataFailure(context: TokenErrorContext): Promise<Explanation> {
  const url = `${context.authority}/v2.0/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
    const reason = typeof cause === 'string' ? cause : error instanceof Error ? error.name : 'network error';
    return {
      detail: `the OpenID configuration at ${url} could not be read: ${reason}`,
      advice: networkAdvice,
      retryable: true,
      status: undefined,
      code: 'network_error',
    };
  }
  const text = scrub(await response.text().catch(() => ''), context);
  const aadCode = /AADSTS(\d+)/.exec(text)?.[1];
  // A configuration that reads fine now means MSAL met a passing failure.
  const retryable = response.ok || response.status === 429 || response.status >= 500;
  const advice =
    aadCode === '90002' || aadCode === '90013' || response.status === 400 || response.status === 404
      ? tenantAdvice(context)
      : retryable
        ? 'The authority is unavailable or throttling; a later attempt may succeed.'
        : `${tenantAdvice(context)} ${networkAdvice}`;
  return {
    detail: `the OpenID configuration at ${url} answered HTTP ${response.status}${aadCode ? ` (AADSTS${aadCode})` : ''}`,
    advice,
    retryable,
    status: response.status,
    code: aadCode ? `AADSTS${aadCode}` : 'endpoints_resolution_error',
  };
}
