import type { RelayExchange } from './relay';

/**
 * Everything a log must never contain, and a search for it. Secrets come from three places: the
 * configured values (client secrets, the Emarsys secret, the Cosmos key), what went over the wire
 * (bearer tokens, WSSE digests, Basic credentials, issued access tokens, collected by a relay in
 * front of each stand-in), and the data (customer emails). A finding names the kind of secret
 * and where it was found, never the secret itself, so a failing test does not leak it either.
 */

export interface Leak {
  source: string;
  kind: string;
  /** Where in the text, with the secret masked. */
  context: string;
}

/** Shorter values would match by chance; no real credential is this short. */
const MIN_SECRET_LENGTH = 8;

export class SecretCatalogue {
  private readonly secrets = new Map<string, string>();

  /** Adds a value that must not appear anywhere (case-sensitive). */
  add(kind: string, value: string | undefined): void {
    if (value && value.length >= MIN_SECRET_LENGTH && !this.secrets.has(value)) this.secrets.set(value, kind);
  }

  /** Credentials the connector sent or received on one exchange through a relay. */
  addExchange(exchange: RelayExchange): void {
    const authorization = header(exchange.requestHeaders, 'authorization');
    const bearer = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1];
    this.add('bearer token', bearer);
    const basic = /^Basic\s+(\S+)/i.exec(authorization ?? '')?.[1];
    this.add('Basic client credentials', basic);
    const wsse = header(exchange.requestHeaders, 'x-wsse');
    if (wsse) {
      this.add('X-WSSE header', wsse);
      this.add('WSSE PasswordDigest', /PasswordDigest="([^"]+)"/.exec(wsse)?.[1]);
    }
    const issued = /"access_token"\s*:\s*"([^"]+)"/.exec(exchange.responseBody)?.[1];
    this.add('issued access token', issued);
    // A client secret sent in a form body (client_secret_post) is a secret too.
    const formSecret = /(?:^|&)client_secret=([^&]+)/.exec(exchange.requestBody)?.[1];
    this.add('client secret', formSecret ? decodeURIComponent(formSecret) : undefined);
  }

  /** The values of one kind, for a test that plants one to prove the search finds it. */
  valuesOf(kind: string): string[] {
    return [...this.secrets].filter(([, k]) => k === kind).map(([value]) => value);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const kind of this.secrets.values()) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  }

  /** Every secret, email (any letter case) and token found in the captured texts. */
  leaks(
    captured: readonly { source: string; text: string }[],
    emails: readonly string[],
    isLiveToken: (candidate: string) => boolean,
  ): Leak[] {
    const found: Leak[] = [];
    for (const { source, text } of captured) {
      for (const [secret, kind] of this.secrets) {
        const at = text.indexOf(secret);
        if (at >= 0) found.push({ source, kind, context: masked(text, at, secret.length) });
      }
      const lower = text.toLowerCase();
      for (const email of emails) {
        const at = lower.indexOf(email.trim().toLowerCase());
        if (at >= 0) found.push({ source, kind: 'customer email', context: masked(text, at, email.trim().length) });
      }
      // Tokens the token endpoint issued, even ones no relay saw: any token-shaped word it still honours.
      for (const match of text.matchAll(/[A-Za-z0-9_-]{32,}/g)) {
        if (isLiveToken(match[0])) found.push({ source, kind: 'issued token', context: masked(text, match.index ?? 0, match[0].length) });
      }
    }
    return found;
  }
}

function header(headers: RelayExchange['requestHeaders'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function masked(text: string, at: number, length: number): string {
  return `…${text.slice(Math.max(0, at - 40), at)}[secret]${text.slice(at + length, at + length + 40)}…`;
}

/** Collects output by source (a logger, an invocation context, a process's stderr). */
export class CapturedOutput {
  readonly items: { source: string; text: string }[] = [];
  add(source: string, text: string): void {
    if (text !== '') this.items.push({ source, text });
  }
  get bytes(): number {
    return this.items.reduce((sum, item) => sum + Buffer.byteLength(item.text), 0);
  }
  get lines(): number {
    return this.items.reduce((sum, item) => sum + item.text.split('\n').filter((line) => line.trim() !== '').length, 0);
  }
}
