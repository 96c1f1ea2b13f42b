import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  listen,
  playScripted,
  readBody,
  redactedHeaders,
  sendJson,
  type ScriptedResponse,
  type TlsMaterial,
} from './http-server';

/**
 * A stand-in for the Microsoft Entra token endpoint, enough for MSAL's client-credentials flow:
 * the OpenID configuration MSAL reads for a known authority, the token endpoint, and the keys
 * document the configuration points at. Tokens are opaque random strings; the server remembers
 * what each was issued for, so the Retail Server simulator can accept or refuse them.
 *
 * MSAL refuses plain-HTTP authorities, hence TLS is required. MSAL skips instance discovery for a
 * host listed in `knownAuthorities` (and would send it to login.microsoftonline.com otherwise), so
 * the discovery route is served only for completeness.
 */

export interface TokenServerOptions {
  tls: TlsMaterial;
  tenantId: string;
  /** Registered apps: client id to client secret. */
  clients: Record<string, string>;
  /** `expires_in` of issued tokens; defaults to 3599 like Entra. */
  tokenLifetimeSeconds?: number;
  host?: string;
  port?: number;
  /** The time source for token expiry, in milliseconds; tests may pass a controllable one. */
  now?: () => number;
}

export interface TokenServerRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names; `authorization` shows only its scheme. */
  headers: Record<string, string>;
  /** The form fields of a token request, `client_secret` and `client_assertion` redacted. */
  form: Record<string, string>;
}

export interface IssuedToken {
  clientId: string;
  /** The scope without `/.default`, e.g. `https://commerce.dynamics.com`. */
  audience: string;
  expiresAt: number;
}

export interface TokenServer {
  /** `https://127.0.0.1:<port>`: what the connector calls AuthorityHost. */
  authorityHost: string;
  /** Whether `token` was issued here, is unexpired and not revoked (and, if given, for `audience`). */
  isValidToken(token: string, audience?: string): boolean;
  /** What a valid token was issued for; undefined for an unknown, expired or revoked token. */
  describeToken(token: string): IssuedToken | undefined;
  /** Forgets every token issued so far, as a key rollover or revocation would. */
  revokeAllTokens(): void;
  readonly tokensIssued: number;
  readonly requests: TokenServerRequest[];
  /** Answers the next token requests with these responses, in order, before issuing again. */
  failNext(responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

const secretFields = new Set(['client_secret', 'client_assertion']);

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? 3599;
  const now = options.now ?? Date.now;
  const tenant = options.tenantId.toLowerCase();
  const tokens = new Map<string, IssuedToken>();
  const requests: TokenServerRequest[] = [];
  const scripted: ScriptedResponse[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let tokensIssued = 0;
  let origin = '';

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const body = request.method === 'POST' ? await readBody(request) : '';
    const form = Object.fromEntries(new URLSearchParams(body));
    requests.push({
      method: request.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: redactedHeaders(request),
      form: Object.fromEntries(Object.entries(form).map(([k, v]) => [k, secretFields.has(k) ? '[redacted]' : v])),
    });

    const segments = url.pathname.split('/').filter(Boolean);
    const [tenantSegment, ...rest] = segments;
    const route = rest.join('/');

    if (request.method === 'GET' && tenantSegment === 'common' && route === 'discovery/instance') {
      sendJson(response, 200, instanceDiscovery(origin, url.searchParams.get('authorization_endpoint')));
      return;
    }
    if (tenantSegment === undefined || tenantSegment.toLowerCase() !== tenant) {
      sendJson(response, 400, aadError('invalid_request', 90002, `Tenant '${tenantSegment ?? ''}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`));
      return;
    }
    if (request.method === 'GET' && (route === 'v2.0/.well-known/openid-configuration' || route === '.well-known/openid-configuration')) {
      sendJson(response, 200, openIdConfiguration(origin, options.tenantId));
      return;
    }
    if (request.method === 'GET' && route === 'discovery/v2.0/keys') {
      sendJson(response, 200, { keys: [] });
      return;
    }
    if (request.method === 'POST' && route === 'oauth2/v2.0/token') {
      const next = scripted.shift();
      if (next) {
        await playScripted(response, next, () => aadError('temporarily_unavailable', 500011, 'The service is temporarily unavailable.'), timers);
        return;
      }
      const outcome = issue(form, request.headers.authorization);
      if ('error' in outcome) {
        sendJson(response, outcome.status, outcome.error);
        return;
      }
      sendJson(response, 200, outcome.body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      return;
    }
    sendJson(response, 404, aadError('invalid_request', 900561, `The endpoint ${request.method ?? ''} ${url.pathname} is not served.`));
  };

  type IssueOutcome =
    | { body: { token_type: 'Bearer'; expires_in: number; ext_expires_in: number; access_token: string } }
    | { status: number; error: AadError };

  function issue(form: Record<string, string>, authorization: string | undefined): IssueOutcome {
    if (form.grant_type !== 'client_credentials') {
      return { status: 400, error: aadError('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.grant_type ?? ''}'.`) };
    }
    const basic = parseBasic(authorization);
    const clientId = basic?.clientId ?? form.client_id ?? '';
    const secret = basic?.secret ?? form.client_secret;
    if (!clientId) return { status: 400, error: aadError('invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.") };
    const expected = options.clients[clientId];
    if (expected === undefined) {
      return { status: 400, error: aadError('unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${options.tenantId}'.`) };
    }
    if (secret === undefined || !sameText(secret, expected)) {
      return { status: 401, error: aadError('invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.') };
    }
    const scope = (form.scope ?? '').split(' ').find((s) => s.endsWith('/.default'));
    if (!scope) {
      return { status: 400, error: aadError('invalid_scope', 1002012, `The provided value for scope '${form.scope ?? ''}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`) };
    }
    const accessToken = randomBytes(32).toString('base64url');
    tokens.set(accessToken, { clientId, audience: scope.slice(0, -'/.default'.length), expiresAt: now() + lifetimeSeconds * 1000 });
    tokensIssued++;
    return { body: { token_type: 'Bearer', expires_in: lifetimeSeconds, ext_expires_in: lifetimeSeconds, access_token: accessToken } };
  }

  function describeToken(token: string): IssuedToken | undefined {
    const issued = tokens.get(token);
    return issued && issued.expiresAt > now() ? issued : undefined;
  }

  const server = await listen(handler, { tls: options.tls, host: options.host, port: options.port });
  origin = server.origin;

  return {
    authorityHost: origin,
    isValidToken: (token, audience) => {
      const issued = describeToken(token);
      return issued !== undefined && (audience === undefined || issued.audience === audience);
    },
    describeToken,
    revokeAllTokens: () => tokens.clear(),
    get tokensIssued() {
      return tokensIssued;
    },
    requests,
    failNext: (responses) => {
      scripted.push(...responses);
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
    },
  };
}

interface AadError {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
}

/** Entra's error body: the AADSTS code leads the description, as the real service does. */
function aadError(error: string, code: number, description: string): AadError {
  return {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: stand-in Timestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  };
}

function openIdConfiguration(origin: string, tenantId: string): Record<string, unknown> {
  const base = `${origin}/${tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${base}/openid/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'ver'],
    tenant_region_scope: null,
    cloud_instance_name: 'stand-in',
    cloud_graph_host_name: 'stand-in',
    msgraph_host: 'stand-in',
    rbac_url: 'stand-in',
  };
}

function instanceDiscovery(origin: string, authorizationEndpoint: string | null): Record<string, unknown> {
  const host = new URL(origin).host;
  return {
    tenant_discovery_endpoint: authorizationEndpoint
      ? authorizationEndpoint.replace(/oauth2\/v2\.0\/authorize$/, 'v2.0/.well-known/openid-configuration')
      : `${origin}/common/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

function parseBasic(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 2.3.1: both parts are form-urlencoded before they are joined.
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

/** Compares secrets in constant time, so the stand-in does not model a timing leak. */
function sameText(actual: string, expected: string): boolean {
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
