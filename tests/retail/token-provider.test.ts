import { ConfigurationError, RemoteServiceError } from '../../src/shared/errors';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import { createRetailTokenProvider } from '../../src/retail/token-provider';
import { startTokenServer, type TokenServer } from '../../src/simulators/token-server';
import { testTls } from '../support/test-tls';
import { allLogText, AUDIENCE, CLIENT_ID, CLIENT_SECRET, TENANT_ID } from './harness';

let tokenServer: TokenServer;
let logs: LogRecord[];

beforeEach(async () => {
  tokenServer = await startTokenServer({ tls: testTls(), tenantId: TENANT_ID, clients: { [CLIENT_ID]: CLIENT_SECRET } });
  logs = [];
});

afterEach(async () => {
  await tokenServer.close();
});

function provider(overrides: { clientSecret?: string; tenantId?: string; authorityHost?: string; timeoutMs?: number } = {}) {
  return createRetailTokenProvider({
    tenantId: overrides.tenantId ?? TENANT_ID,
    clientId: CLIENT_ID,
    clientSecret: overrides.clientSecret ?? CLIENT_SECRET,
    authorityHost: overrides.authorityHost ?? tokenServer.authorityHost,
    audience: AUDIENCE,
    logger: createLogger((record) => logs.push(record), 'debug'),
    ...(overrides.timeoutMs === undefined ? {} : { timeoutMs: overrides.timeoutMs }),
  });
}

async function failure(promise: Promise<unknown>): Promise<RemoteServiceError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteServiceError);
  return error as RemoteServiceError;
}

describe('createRetailTokenProvider against the token server, through real MSAL', () => {
  test('gets a token for <audience>/.default with client credentials, reading the known authority metadata', async () => {
    const token = await provider().getToken();

    expect(tokenServer.isValidToken(token, AUDIENCE)).toBe(true);
    expect(tokenServer.describeToken(token)).toMatchObject({ clientId: CLIENT_ID, audience: AUDIENCE });
    const paths = tokenServer.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual([
      `GET /${TENANT_ID}/v2.0/.well-known/openid-configuration`,
      `POST /${TENANT_ID}/oauth2/v2.0/token`,
    ]);
    const tokenRequest = tokenServer.requests[1];
    expect(tokenRequest?.form).toMatchObject({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: '[redacted]',
      scope: `${AUDIENCE}/.default`,
    });
  });

  test('reuses the cached token for later calls, and one request serves concurrent callers', async () => {
    const tokens = provider();
    const concurrent = await Promise.all([tokens.getToken(), tokens.getToken(), tokens.getToken()]);
    const later = await tokens.getToken();

    expect(new Set([...concurrent, later]).size).toBe(1);
    expect(tokenServer.tokensIssued).toBe(1);
    expect(tokens.tokenRequests()).toBe(1);
  });

  test('forceRefresh skips the cache and gets a new token, which is then cached', async () => {
    const tokens = provider();
    const first = await tokens.getToken();
    const refreshed = await tokens.getToken({ forceRefresh: true });
    const after = await tokens.getToken();

    expect(refreshed).not.toBe(first);
    expect(after).toBe(refreshed);
    expect(tokenServer.tokensIssued).toBe(2);
    expect(tokens.tokenRequests()).toBe(2);
  });

  test('a wrong secret is a RemoteServiceError that names the tenant and authority and says what to check, without the secret', async () => {
    const wrongSecret = 'wrong~Secret.Value_999';
    const error = await failure(provider({ clientSecret: wrongSecret }).getToken());

    expect(error.service).toBe('TokenEndpoint');
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBe(401);
    expect(error.code).toBe('AADSTS7000215');
    expect(error.message).toContain(`tenant '${TENANT_ID}'`);
    expect(error.message).toContain(`${tokenServer.authorityHost}/${TENANT_ID}`);
    expect(error.message).toContain('invalid_client');
    expect(error.message).toMatch(/client secret has not expired/);
    expect(error.message).toContain('AppSecretKeyVaultSecretName');
    expect(error.message).not.toContain(wrongSecret);
    expect(JSON.stringify(error)).not.toContain(wrongSecret);
    expect(error.cause).toBeUndefined();
    expect(allLogText(logs)).not.toContain(wrongSecret);
  });

  test('an unknown tenant says to check the tenant id', async () => {
    const error = await failure(provider({ tenantId: 'not-my-tenant' }).getToken());

    expect(error.service).toBe('TokenEndpoint');
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('AADSTS90002');
    expect(error.message).toContain("tenant 'not-my-tenant'");
    expect(error.message).toContain('RetailServerClientOptions.TenantId');
  });

  test('an unavailable token endpoint is a retryable error', async () => {
    tokenServer.failNext([{ status: 503 }]);
    const error = await failure(provider().getToken());

    expect(error.retryable).toBe(true);
    expect(error.statusCode).toBe(503);
  });

  test('an unreachable authority is a retryable error that points at AuthorityHost', async () => {
    const host = tokenServer.authorityHost;
    await tokenServer.close();
    const error = await failure(provider({ authorityHost: host }).getToken());
    expect(error.retryable).toBe(true);
    expect(error.code).toBe('network_error');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('RetailServerClientOptions.AuthorityHost');
  });

  test('a token endpoint that does not answer times out', async () => {
    const tokens = provider({ timeoutMs: 100 });
    // The metadata request goes through first; the token request then hangs.
    tokenServer.failNext([{ status: 200, delayMs: 5_000 }]);
    const error = await failure(tokens.getToken());

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('did not answer within 100 ms');
  });

  test('tokens and secrets never appear in the logs', async () => {
    const token = await provider().getToken();
    const text = allLogText(logs);

    expect(text).not.toContain(token);
    expect(text).not.toContain(CLIENT_SECRET);
  });

  test('settings that cannot work are configuration errors, before any request', () => {
    expect(() => provider({ authorityHost: 'http://login.example.test' })).toThrow(ConfigurationError);
    expect(() => provider({ authorityHost: 'http://login.example.test' })).toThrow(/AuthorityHost must be an https:\/\/ URL/);
    expect(() => provider({ clientSecret: '' })).toThrow(/AppSecretKeyVaultSecretName/);
    expect(tokenServer.requests).toHaveLength(0);
  });
});
