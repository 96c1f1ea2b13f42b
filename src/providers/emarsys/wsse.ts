import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../shared/clock';
import type { EmarsysAuthenticator } from './auth';

/**
 * Emarsys WSSE authentication (API v2). Every request carries a one-time nonce and a timestamp,
 * hashed with the API secret, so a captured header is useless after a few minutes and the
 * secret itself never crosses the wire.
 */

export interface WsseCredentials {
  userName: string;
  secret: string;
}

/**
 * `base64( lowercase hex of SHA-1( nonce + created + secret ) )`. Emarsys encodes the 40-character
 * hex string, not the 20 raw digest bytes; encoding the raw bytes is the classic mistake.
 */
export function wssePasswordDigest(nonce: string, created: string, secret: string): string {
  const hex = createHash('sha1').update(nonce + created + secret, 'utf8').digest('hex');
  return Buffer.from(hex, 'utf8').toString('base64');
}

/** 32 random hex characters. */
export function createNonce(): string {
  return randomBytes(16).toString('hex');
}

/** ISO-8601 UTC to the second (`2024-05-01T10:00:00Z`), the form Emarsys documents. */
export function wsseCreated(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The `X-WSSE` header value for one request. */
export function buildWsseHeader(credentials: WsseCredentials, nonce: string, created: string): string {
  const digest = wssePasswordDigest(nonce, created, credentials.secret);
  return `UsernameToken Username="${credentials.userName}", PasswordDigest="${digest}", Nonce="${nonce}", Created="${created}"`;
}

/** Signs each request afresh, retries included, so Emarsys never sees a nonce twice. */
export function createWsseAuthenticator(credentials: WsseCredentials, clock: Clock): EmarsysAuthenticator {
  return {
    mode: 'wsse',
    headers: async () => ({ 'X-WSSE': buildWsseHeader(credentials, createNonce(), wsseCreated(clock.now())) }),
    renewAfterUnauthorized: () => false,
    credentialsHint:
      'check the Emarsys API user name and secret (EmarsysClientOptions.ApiUserNameKeyVaultSecretName and ' +
      'ApiSecretKeyVaultSecretName), that this host\'s clock is right (WSSE timestamps older than 5 minutes are refused), ' +
      'that the API user may trigger this external event, and that its allowed IP addresses include this host',
  };
}
