import type { IEmailProvider, NotificationOutcome } from '../../src/providers/email-provider';
import { createEmarsysProvider, type EmarsysProviderOptions } from '../../src/providers/emarsys';
import { startEmarsysStandIn, type EmarsysStandIn } from '../../src/simulators/emarsys';
import { captureLog, manualClock, midRandom, notifications, recordingSleep, type CapturedLog, type ManualClock } from './emarsys-fixtures';

/** The real provider with OAuth 2.0 client credentials against the stand-in's token endpoint and v3 API. */

const clientId = 'acme-connector-client';
const clientSecret = 'oauth-client-secret-9f8e7d6c';
const eventId = '8080';

let standIn: EmarsysStandIn;
let clock: ManualClock;
let log: CapturedLog;
let sleeper: ReturnType<typeof recordingSleep>;

function provider(overrides: Partial<EmarsysProviderOptions> = {}): IEmailProvider {
  return createEmarsysProvider({
    apiUrl: standIn.apiUrlTemplate,
    externalEventId: eventId,
    auth: { mode: 'oauth2', tokenUrl: standIn.tokenUrl, clientId, clientSecret },
    clock,
    sleep: sleeper.sleep,
    random: midRandom,
    logger: log.logger,
    ...overrides,
  });
}

const tokenRequests = () => standIn.requests.filter((request) => request.kind === 'token');
const triggers = () => standIn.requests.filter((request) => request.kind === 'trigger');
const allSent = (outcomes: NotificationOutcome[]) => outcomes.every((outcome) => outcome.status === 'sent');

beforeEach(async () => {
  clock = manualClock('2024-05-01T10:00:00Z');
  log = captureLog();
  sleeper = recordingSleep();
  standIn = await startEmarsysStandIn({ auth: { mode: 'oauth2', clientId, clientSecret, tokenLifetimeSeconds: 3600 }, clock });
});

afterEach(async () => {
  await standIn.close();
});

test('one token serves several batches; requests carry the bearer token on the v3 API', async () => {
  const emarsys = provider({ batchSize: 2 });
  const outcomes = await emarsys.send(notifications(6));

  expect(allSent(outcomes)).toBe(true);
  expect(standIn.tokensIssued).toBe(1);
  expect(tokenRequests()).toHaveLength(1);
  expect(tokenRequests()[0]).toMatchObject({ method: 'POST', body: { grant_type: 'client_credentials' }, status: 200 });
  expect(tokenRequests()[0]!.headerNames).toEqual(expect.arrayContaining(['authorization', 'content-type']));
  expect(triggers()).toHaveLength(3);
  for (const trigger of triggers()) {
    expect(trigger.path).toBe(`/api/v3/event/${eventId}/trigger`);
    expect(trigger.headerNames).toContain('authorization');
    expect(trigger.headerNames).not.toContain('x-wsse');
  }
  expect(emarsys.stats()).toEqual({ calls: 4, retries: 0 });
  expect(standIn.deliveries).toHaveLength(6);
});

test('the cached token is reused until 60 s before it expires, then renewed', async () => {
  const emarsys = provider();
  await emarsys.send(notifications(1, 0));
  clock.advance(3600_000 - 61_000);
  await emarsys.send(notifications(1, 1));
  expect(standIn.tokensIssued).toBe(1);

  clock.advance(2_000);
  await emarsys.send(notifications(1, 2));
  expect(standIn.tokensIssued).toBe(2);
  expect(triggers().map((r) => r.status)).toEqual([200, 200, 200]);
});

test('a 401 drops the cached token, fetches a new one and retries once', async () => {
  const emarsys = provider();
  await emarsys.send(notifications(1, 0));
  standIn.revokeTokens();
  const batch = notifications(2, 1);
  const outcomes = await emarsys.send(batch);

  expect(allSent(outcomes)).toBe(true);
  expect(standIn.tokensIssued).toBe(2);
  expect(triggers().map((r) => r.status)).toEqual([200, 401, 200]);
  expect(emarsys.stats()).toEqual({ calls: 5, retries: 1 });
  expect(standIn.deliveries.map((d) => d.triggerId)).toEqual(['ac-cart-0-20240501T100000Z', ...batch.map((n) => n.triggerId)]);
});

test('a second 401 after a fresh token fails the contacts, retryable by a later run, naming the client credentials', async () => {
  standIn.failNext([{ status: 401 }, { status: 401 }]);
  const emarsys = provider();
  const outcomes = await emarsys.send(notifications(2));

  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ status: 'failed', retryable: true });
    if (outcome.status === 'failed') {
      expect(outcome.reason).toContain('HTTP 401');
      expect(outcome.reason).toContain('OAuth 2.0 client id and secret');
      expect(outcome.reason).toContain('may trigger this external event');
    }
  }
  expect(standIn.tokensIssued).toBe(2);
  expect(emarsys.stats()).toEqual({ calls: 4, retries: 1 });
});

test('a 403 is not worth a new token', async () => {
  standIn.failNext([{ status: 403, replyText: 'Forbidden' }]);
  const emarsys = provider();
  const outcomes = await emarsys.send(notifications(1));
  expect(outcomes[0]).toMatchObject({ status: 'failed', retryable: true, reason: expect.stringContaining('HTTP 403') });
  expect(standIn.tokensIssued).toBe(1);
});

test('a refused client secret fails every contact once, naming the token URL and what to check, never the secret', async () => {
  const emarsys = provider({ auth: { mode: 'oauth2', tokenUrl: standIn.tokenUrl, clientId, clientSecret: 'wrong-secret-123' }, batchSize: 1 });
  const outcomes = await emarsys.send(notifications(3));

  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ status: 'failed', retryable: true });
    if (outcome.status === 'failed') {
      expect(outcome.reason).toContain(standIn.tokenUrl);
      expect(outcome.reason).toContain('invalid_client');
      expect(outcome.reason).toContain('client id and secret');
      expect(outcome.reason).toContain('OAuth 2.0 credentials');
      expect(outcome.reason).not.toContain('wrong-secret-123');
    }
  }
  // One token call: the other requests of the batch are not attempted with credentials known to be bad.
  expect(emarsys.stats()).toEqual({ calls: 1, retries: 0 });
  expect(triggers()).toHaveLength(0);
  expect(log.text()).not.toContain('wrong-secret-123');
});

test('a token endpoint outage is retried, then reported as retryable', async () => {
  standIn.failNext([{ status: 503, target: 'token' }]);
  const emarsys = provider();
  expect(allSent(await emarsys.send(notifications(1)))).toBe(true);
  expect(emarsys.stats()).toEqual({ calls: 3, retries: 1 });

  const failing = provider({ retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, maxServerDelayMs: 10 } });
  standIn.failNext([{ status: 500, target: 'token' }, { status: 500, target: 'token' }]);
  const outcomes = await failing.send(notifications(1, 5));
  expect(outcomes[0]).toMatchObject({ status: 'failed', retryable: true, reason: expect.stringContaining('Emarsys token endpoint: HTTP 500') });
});

test('a token endpoint that is down or out of reach is said to be so; only a refusal sends the operator to the credentials', async () => {
  const retry = { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, maxServerDelayMs: 10 };
  standIn.failNext([{ status: 503, target: 'token' }, { status: 503, target: 'token' }]);
  const [down] = await provider({ retry }).send(notifications(1));
  expect(down).toMatchObject({ status: 'failed', retryable: true });
  expect(down?.status === 'failed' && down.reason).toBe(
    `Emarsys token endpoint: HTTP 503, still failing after its retries; ${standIn.tokenUrl} is unavailable or throttling, and a later run tries again (the client credentials were not refused)`,
  );

  // Nobody listens where TokenUrl points: the address is what to check, not the client secret.
  const nowhere = `${new URL(standIn.tokenUrl).protocol}//127.0.0.1:1/oauth2/token`;
  const [unreached] = await provider({ retry, auth: { mode: 'oauth2', tokenUrl: nowhere, clientId, clientSecret } }).send(notifications(1, 2));
  expect(unreached?.status === 'failed' && unreached.reason).toMatch(
    /^Emarsys token endpoint: no answer \(.*ECONNREFUSED.*\); check EmarsysClientOptions\.TokenUrl \(https?:\/\/127\.0\.0\.1:1\/oauth2\/token\) and that this host can reach it$/,
  );
});

test('a redirect from the token endpoint is not a refusal of the credentials', async () => {
  standIn.failNext([{ status: 301, target: 'token', headers: { Location: 'https://auth.example.com/oauth2/token' }, rawBody: '' }]);
  const [outcome] = await provider().send(notifications(1));
  expect(outcome?.status === 'failed' && outcome.reason).toBe(
    `Emarsys token endpoint: the token request was redirected (HTTP 301), so the credentials were not judged; check EmarsysClientOptions.TokenUrl (${standIn.tokenUrl}): it must be the token endpoint itself, e.g. https://auth.emarsys.net/oauth2/token`,
  );
});

test('concurrent requests share one token call', async () => {
  const emarsys = provider({ batchSize: 1, concurrency: 4 });
  const outcomes = await emarsys.send(notifications(8));
  expect(allSent(outcomes)).toBe(true);
  expect(standIn.tokensIssued).toBe(1);
  expect(triggers()).toHaveLength(8);
});

test('never logs the client secret, the access token or an email address', async () => {
  standIn.failNext([{ status: 429, headers: { 'Retry-After': '1' } }]);
  const emarsys = provider({ batchSize: 2 });
  const batch = notifications(4);
  await emarsys.send(batch);
  standIn.revokeTokens();
  await emarsys.send(notifications(2, 10));

  const logged = log.text();
  expect(logged).not.toContain(clientSecret);
  expect(logged).not.toMatch(/Bearer|Basic|access_token/);
  expect(logged).not.toMatch(/@/);
});
