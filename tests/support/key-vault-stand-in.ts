import { listen, sendJson, type TlsMaterial } from '../../src/simulators/http-server';

/**
 * A stand-in for Azure Key Vault's secrets API, enough for `SecretClient.getSecret`: the bearer
 * challenge on an unauthenticated request, then `GET /secrets/{name}` with a token the given
 * check accepts (issued by the token server stand-in for https://vault.azure.net). Its refusals
 * have Key Vault's shape: HTTP 403 `Forbidden` whose `innererror.code` says why (`SecretDisabled`
 * for a disabled secret, `ForbiddenByFirewall` for a caller the vault's network rules keep out).
 */
export interface KeyVaultStandIn {
  vaultUrl: string;
  secrets: Map<string, string>;
  /** Names read with a valid token, in order. */
  reads: string[];
  /** Reads answered with `failWith`'s status. */
  failedReads: number;
  close(): Promise<void>;
}

export async function startKeyVaultStandIn(options: {
  tls: TlsMaterial;
  authorityUrl: string;
  isValidToken: (token: string) => boolean;
  secrets: Record<string, string>;
  /** Never answer a read with a valid token (a vault that hangs); the connection stays open until close. */
  hang?: boolean;
  /** Secrets that exist but are disabled: Key Vault refuses to get them. */
  disabled?: string[];
  /** The vault's firewall does not let this caller in. */
  firewall?: boolean;
  /** Answer every read with a valid token with this status (503 for an outage, 429 for throttling). */
  failWith?: number;
}): Promise<KeyVaultStandIn> {
  const secrets = new Map(Object.entries(options.secrets));
  const reads: string[] = [];
  let failedReads = 0;
  const server = await listen(
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://vault.local');
      const match = /^\/secrets\/([A-Za-z0-9-]+)\/?([A-Za-z0-9]*)$/.exec(url.pathname);
      const authorization = request.headers.authorization ?? '';
      const token = authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : '';
      if (!token || !options.isValidToken(token)) {
        response.setHeader('WWW-Authenticate', `Bearer authorization="${options.authorityUrl}", resource="https://vault.azure.net"`);
        sendJson(response, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });
        return;
      }
      if (request.method !== 'GET' || !match || !url.searchParams.get('api-version')) {
        sendJson(response, 400, { error: { code: 'BadParameter', message: 'Unsupported request' } });
        return;
      }
      if (options.hang) return;
      if (options.failWith !== undefined) {
        const code = options.failWith === 429 ? 'Throttled' : 'ServiceUnavailable';
        failedReads += 1;
        sendJson(response, options.failWith, { error: { code, message: `The service is unavailable (${code}).` } });
        return;
      }
      const name = match[1] as string;
      if (options.firewall) {
        sendJson(response, 403, {
          error: {
            code: 'Forbidden',
            message: 'Client address is not authorized and caller is not a trusted service.\r\nClient address: 127.0.0.1',
            innererror: { code: 'ForbiddenByFirewall' },
          },
        });
        return;
      }
      if (options.disabled?.includes(name)) {
        sendJson(response, 403, { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } });
        return;
      }
      const value = secrets.get(name);
      if (value === undefined) {
        sendJson(response, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name} was not found in this key vault.` } });
        return;
      }
      reads.push(name);
      sendJson(response, 200, {
        value,
        id: `${vaultUrl}/secrets/${name}/0123456789abcdef0123456789abcdef`,
        attributes: { enabled: true, created: 1_700_000_000, updated: 1_700_000_000, recoveryLevel: 'Recoverable+Purgeable' },
      });
    },
    { tls: options.tls },
  );
  const vaultUrl = server.origin;
  return {
    vaultUrl,
    secrets,
    reads,
    get failedReads() {
      return failedReads;
    },
    close: () => server.close(),
  };
}
