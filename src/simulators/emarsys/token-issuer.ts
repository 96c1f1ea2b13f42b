import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../shared/clock';

/**
 * The OAuth 2.0 client credentials grant as the Emarsys token endpoint serves it: HTTP Basic
 * client authentication, `grant_type=client_credentials` in a form body, an opaque bearer token
 * with `expires_in`. Tokens expire by the stand-in's clock and can be revoked, so tests can make
 * a token the client still trusts go stale.
 */

export interface TokenIssuer {
  /** Answers a token request. */
  issue(authorization: string | undefined, contentType: string | undefined, form: string): { status: number; body: object };
  /** Whether an `Authorization` header carries a live token. */
  accepts(authorization: string | undefined): boolean;
  revokeAll(): void;
  readonly issued: number;
}

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `Basic base64(id:secret)` to its parts, or undefined. */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization?.trim() ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export function createTokenIssuer(
  client: { clientId: string; clientSecret: string },
  clock: Clock,
  lifetimeSeconds: number = DEFAULT_TOKEN_LIFETIME_SECONDS,
): TokenIssuer {
  /** Token to its expiry (epoch ms). */
  const live = new Map<string, number>();
  let issued = 0;

  return {
    issue(authorization, contentType, form) {
      const credentials = basicCredentials(authorization);
      if (!credentials || !sameText(credentials.id, client.clientId) || !sameText(credentials.secret, client.clientSecret)) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
      }
      if (!/^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) {
        return { status: 400, body: { error: 'invalid_request', error_description: 'Expected a form-encoded body' } };
      }
      if (new URLSearchParams(form).get('grant_type') !== 'client_credentials') {
        return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported' } };
      }
      const now = clock.now().getTime();
      for (const [token, expiresAt] of live) if (expiresAt <= now) live.delete(token);
      const accessToken = randomBytes(24).toString('base64url');
      live.set(accessToken, now + lifetimeSeconds * 1000);
      issued++;
      return { status: 200, body: { access_token: accessToken, token_type: 'Bearer', expires_in: lifetimeSeconds } };
    },
    accepts(authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
      if (!match) return false;
      const expiresAt = live.get(match[1] as string);
      return expiresAt !== undefined && clock.now().getTime() < expiresAt;
    },
    revokeAll() {
      live.clear();
    },
    get issued() {
      return issued;
    },
  };
}
