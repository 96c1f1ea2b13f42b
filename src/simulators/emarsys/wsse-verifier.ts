import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../shared/clock';

/**
 * Checks an `X-WSSE` header the way Emarsys does: the user name, a digest recomputed from the
 * nonce, the timestamp and the secret, a timestamp within five minutes of now, and a nonce never
 * seen before. Written independently of the provider's signing code, so a mistake there (such
 * as encoding the raw SHA-1 bytes instead of their hex string) fails here.
 */

export const WSSE_MAX_SKEW_MS = 5 * 60_000;

export type WsseVerdict = { ok: true; nonce: string } | { ok: false; reason: string };

export interface WsseVerifier {
  verify(header: string | undefined): WsseVerdict;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** `UsernameToken Username="u", PasswordDigest="d", Nonce="n", Created="c"` to its fields. */
export function parseWsseHeader(header: string): Record<string, string> | undefined {
  const match = /^UsernameToken\s+(.*)$/s.exec(header.trim());
  if (!match) return undefined;
  const fields: Record<string, string> = {};
  const pair = /\s*(\w+)="([^"]*)"\s*(,|$)/gy;
  const rest = match[1] as string;
  let consumed = 0;
  for (let found = pair.exec(rest); found; found = pair.exec(rest)) {
    fields[found[1] as string] = found[2] as string;
    consumed = pair.lastIndex;
    if (consumed >= rest.length) break;
  }
  return consumed === rest.length ? fields : undefined;
}

function expectedDigest(nonce: string, created: string, secret: string): string {
  const hex = createHash('sha1').update(`${nonce}${created}${secret}`, 'utf8').digest('hex');
  return Buffer.from(hex).toString('base64');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function createWsseVerifier(credentials: { userName: string; secret: string }, clock: Clock): WsseVerifier {
  /** Nonce to the time it may be forgotten (by then its timestamp is refused anyway). */
  const seenNonces = new Map<string, number>();

  /** Insertion order is time order, so the stale entries are at the front. */
  const forgetOld = (now: number): void => {
    for (const [nonce, until] of seenNonces) {
      if (until >= now) break;
      seenNonces.delete(nonce);
    }
  };

  return {
    verify(header) {
      if (!header) return { ok: false, reason: 'missing X-WSSE header' };
      const fields = parseWsseHeader(header);
      if (!fields) return { ok: false, reason: 'malformed X-WSSE header' };
      const { Username: userName, PasswordDigest: digest, Nonce: nonce, Created: created } = fields;
      if (!userName || !digest || !nonce || !created) {
        return { ok: false, reason: 'X-WSSE header lacks Username, PasswordDigest, Nonce or Created' };
      }
      if (userName !== credentials.userName) return { ok: false, reason: 'unknown user name' };
      if (!ISO_UTC.test(created)) return { ok: false, reason: 'Created is not an ISO-8601 timestamp' };
      const now = clock.now().getTime();
      if (Math.abs(now - Date.parse(created)) > WSSE_MAX_SKEW_MS) return { ok: false, reason: 'Created is more than 5 minutes off' };
      if (!sameText(digest, expectedDigest(nonce, created, credentials.secret))) return { ok: false, reason: 'wrong PasswordDigest' };
      forgetOld(now);
      if (seenNonces.has(nonce)) return { ok: false, reason: 'nonce used before' };
      seenNonces.set(nonce, now + 2 * WSSE_MAX_SKEW_MS);
      return { ok: true, nonce };
    },
  };
}
