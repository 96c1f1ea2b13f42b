import { buildWsseHeader, createNonce, wsseCreated } from '../../src/providers/emarsys/wsse';
import { startEmarsysStandIn, type EmarsysStandIn } from '../../src/simulators/emarsys';
import { manualClock, type ManualClock } from './emarsys-fixtures';

/** The stand-in's own contract, spoken to with plain fetch: what it refuses and how it answers. */

let standIn: EmarsysStandIn;
let clock: ManualClock;

beforeEach(() => {
  clock = manualClock('2024-05-01T10:00:00Z');
});

afterEach(async () => {
  await standIn.close();
});

describe('WSSE mode', () => {
  const credentials = { userName: 'acme001', secret: 'stand-in-secret' };
  const url = (eventId = '1') => standIn.apiUrlTemplate.replace('{0}', eventId);
  const wsse = () => buildWsseHeader(credentials, createNonce(), wsseCreated(clock.now()));
  const post = async (body: string, headers: Record<string, string> = { 'X-WSSE': wsse() }, target = url()) => {
    const response = await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    return { status: response.status, body: (await response.json()) as { replyCode: number; replyText: string; data: unknown } };
  };
  const contact = { external_id: 'a@example.com', trigger_id: 't-1', data: { cartId: 'c1' } };

  beforeEach(async () => {
    standIn = await startEmarsysStandIn({ auth: { mode: 'wsse', ...credentials }, clock });
  });

  test('serves the v2 trigger path and answers success with replyCode 0', async () => {
    expect(standIn.apiUrlTemplate).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2\/event\/\{0\}\/trigger$/);
    expect(await post(JSON.stringify({ key_id: 3, contacts: [contact] }))).toEqual({ status: 200, body: { replyCode: 0, replyText: 'OK', data: {} } });
    expect(standIn.deliveries).toEqual([{ eventId: '1', triggerId: 't-1', externalId: 'a@example.com', data: { cartId: 'c1' }, receivedAt: '2024-05-01T10:00:00.000Z' }]);
  });

  test('refuses a missing or reused X-WSSE header with 401 and replyCode 1', async () => {
    const body = JSON.stringify({ key_id: 3, contacts: [contact] });
    expect(await post(body, {})).toEqual({ status: 401, body: { replyCode: 1, replyText: 'Unauthorized', data: '' } });
    const header = wsse();
    expect((await post(body, { 'X-WSSE': header })).status).toBe(200);
    expect((await post(body, { 'X-WSSE': header })).status).toBe(401);
  });

  test.each([
    ['not JSON', '{'],
    ['key_id not a number', JSON.stringify({ key_id: '3', contacts: [contact] })],
    ['no contacts', JSON.stringify({ key_id: 3, contacts: [] })],
    ['more than 1000 contacts', JSON.stringify({ key_id: 3, contacts: Array.from({ length: 1001 }, (_, i) => ({ ...contact, trigger_id: `t${i}` })) })],
    ['a contact without data', JSON.stringify({ key_id: 3, contacts: [{ external_id: 'a@example.com', trigger_id: 't' }] })],
    ['an empty trigger_id', JSON.stringify({ key_id: 3, contacts: [{ ...contact, trigger_id: '' }] })],
  ])('answers 400 with replyCode 10001 for %s', async (_case, body) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body.replyCode).toBe(10001);
    expect(answer.body.replyText).toMatch(/Invalid/);
    expect(standIn.deliveries).toHaveLength(0);
  });

  test('answers 404 off the trigger path and 405 for other methods', async () => {
    expect((await post('{}', { 'X-WSSE': wsse() }, standIn.apiUrlTemplate.replace('/api/v2/event/{0}/trigger', '/api/v2/contact'))).status).toBe(404);
    const response = await fetch(url(), { method: 'GET', headers: { 'X-WSSE': wsse() } });
    expect(response.status).toBe(405);
  });

  test('records header names but never their values', async () => {
    await post(JSON.stringify({ key_id: 3, contacts: [contact] }));
    expect(standIn.requests[0]!.headerNames).toContain('x-wsse');
    expect(JSON.stringify(standIn.requests)).not.toContain('PasswordDigest');
  });
});

describe('OAuth 2.0 mode', () => {
  const client = { clientId: 'client', clientSecret: 'client-secret' };
  const basic = (id = client.clientId, secret = client.clientSecret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const token = async (authorization = basic(), form = 'grant_type=client_credentials') => {
    const response = await fetch(standIn.tokenUrl, {
      method: 'POST',
      headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const trigger = (accessToken: string) =>
    fetch(standIn.apiUrlTemplate.replace('{0}', '9'), {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_id: 3, contacts: [{ external_id: 'a@example.com', trigger_id: 't', data: {} }] }),
    });

  beforeEach(async () => {
    standIn = await startEmarsysStandIn({ auth: { mode: 'oauth2', ...client, tokenLifetimeSeconds: 600 }, clock });
  });

  test('issues a bearer token for HTTP Basic client credentials and accepts it on the v3 API until it expires', async () => {
    expect(standIn.apiUrlTemplate).toContain('/api/v3/event/{0}/trigger');
    const answer = await token();
    expect(answer).toEqual({ status: 200, body: { access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 } });
    const accessToken = answer.body.access_token as string;
    expect((await trigger(accessToken)).status).toBe(200);
    clock.advance(600_000);
    expect((await trigger(accessToken)).status).toBe(401);
  });

  test('refuses wrong client credentials and other grant types', async () => {
    expect(await token(basic('client', 'nope'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await token(basic(), 'grant_type=password')).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(standIn.tokensIssued).toBe(0);
    expect(JSON.stringify(standIn.requests)).not.toContain('client-secret');
  });

  test('closing twice is harmless: both closes resolve, and the stand-in takes no more connections', async () => {
    const url = standIn.tokenUrl;
    expect((await token()).status).toBe(200);
    await expect(standIn.close()).resolves.toBeUndefined();
    await expect(standIn.close()).resolves.toBeUndefined();
    await expect(fetch(url, { method: 'POST' })).rejects.toThrow();
    // afterEach closes it a third time.
  });
});
