import { startTokenServer, type TokenServer } from '../../src/simulators/token-server';
import { testTls } from '../support/test-tls';

const TENANT = 'contoso-tenant';
const CLIENT = 'client-1';
const SECRET = 's3cret/with+special=chars';
const SCOPE = 'https://commerce.dynamics.com/.default';

let server: TokenServer;
let clock: number;

beforeEach(async () => {
  clock = Date.parse('2025-03-01T10:00:00Z');
  server = await startTokenServer({
    tls: testTls(),
    tenantId: TENANT,
    clients: { [CLIENT]: SECRET },
    tokenLifetimeSeconds: 600,
    now: () => clock,
  });
});

afterEach(async () => {
  await server.close();
});

function tokenRequest(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

describe('token server stand-in', () => {
  test('serves the OpenID configuration MSAL reads, pointing at itself', async () => {
    const response = await fetch(`${server.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`);
    const body = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      token_endpoint: `${server.authorityHost}/${TENANT}/oauth2/v2.0/token`,
      issuer: `${server.authorityHost}/${TENANT}/v2.0`,
      authorization_endpoint: `${server.authorityHost}/${TENANT}/oauth2/v2.0/authorize`,
      jwks_uri: `${server.authorityHost}/${TENANT}/discovery/v2.0/keys`,
    });
  });

  test('issues an opaque bearer token for client credentials in the form body, remembering its audience', async () => {
    const response = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: SCOPE });
    const body = (await response.json()) as { token_type: string; expires_in: number; access_token: string };

    expect(response.status).toBe(200);
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(600);
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(server.tokensIssued).toBe(1);
    expect(server.isValidToken(body.access_token)).toBe(true);
    expect(server.isValidToken(body.access_token, 'https://commerce.dynamics.com')).toBe(true);
    expect(server.isValidToken(body.access_token, 'https://graph.microsoft.com')).toBe(false);
    expect(server.isValidToken('made-up')).toBe(false);
    expect(server.requests[0]?.form).toEqual({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: '[redacted]', scope: SCOPE });
  });

  test('accepts HTTP Basic client authentication (form-urlencoded parts)', async () => {
    const basic = Buffer.from(`${encodeURIComponent(CLIENT)}:${encodeURIComponent(SECRET)}`).toString('base64');
    const response = await tokenRequest({ grant_type: 'client_credentials', scope: SCOPE }, { Authorization: `Basic ${basic}` });

    expect(response.status).toBe(200);
    expect(server.requests[0]?.headers.authorization).toBe('Basic [redacted]');
  });

  test('refuses a wrong secret with 401 invalid_client, an unknown client with 400, a wrong grant with 400', async () => {
    const wrongSecret = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 'nope', scope: SCOPE });
    const unknownClient = await tokenRequest({ grant_type: 'client_credentials', client_id: 'other', client_secret: SECRET, scope: SCOPE });
    const wrongGrant = await tokenRequest({ grant_type: 'password', client_id: CLIENT, client_secret: SECRET, scope: SCOPE });
    const noDefault = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: 'openid' });

    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(unknownClient.status).toBe(400);
    expect(await unknownClient.json()).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
    expect(wrongGrant.status).toBe(400);
    expect(await wrongGrant.json()).toMatchObject({ error: 'unsupported_grant_type' });
    expect(noDefault.status).toBe(400);
    expect(await noDefault.json()).toMatchObject({ error: 'invalid_scope' });
    expect(server.tokensIssued).toBe(0);
  });

  test('an unknown tenant is a 400 with AADSTS90002, as Entra answers', async () => {
    const response = await fetch(`${server.authorityHost}/someone-else/v2.0/.well-known/openid-configuration`);

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
  });

  test('tokens expire after their lifetime and can be revoked', async () => {
    const issue = async (): Promise<string> => {
      const response = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: SCOPE });
      return ((await response.json()) as { access_token: string }).access_token;
    };
    const first = await issue();
    clock += 599_000;
    expect(server.isValidToken(first)).toBe(true);
    clock += 1_000;
    expect(server.isValidToken(first)).toBe(false);

    const second = await issue();
    server.revokeAllTokens();
    expect(server.isValidToken(second)).toBe(false);
  });

  test('failNext answers the next token requests with scripted responses, then issues again', async () => {
    server.failNext([{ status: 503, headers: { 'Retry-After': '2' } }]);
    const form = { grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: SCOPE };

    const failed = await tokenRequest(form);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    expect(await failed.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect((await tokenRequest(form)).status).toBe(200);
  });
});
