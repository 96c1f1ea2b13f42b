import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IEmailProvider, NotificationOutcome } from '../../src/providers/email-provider';
import { createEmarsysProvider, type EmarsysProviderOptions } from '../../src/providers/emarsys';
import { startFaultProxy } from '../../src/simulators/fault-proxy';
import { startEmarsysStandIn, type EmarsysStandIn, type EmarsysStandInOptions } from '../../src/simulators/emarsys';
import { defaultRetryPolicy } from '../../src/shared/retry';
import {
  captureLog,
  emailOf,
  manualClock,
  midRandom,
  notification,
  notifications,
  recordingSleep,
  type CapturedLog,
  type ManualClock,
} from './emarsys-fixtures';

/** The real provider, over axios and HTTP, against the Emarsys stand-in in WSSE mode. */

const userName = 'acme_api001';
const secret = 'wsse-secret-4e1c0b9a77d2';
const eventId = '4711';

let standIn: EmarsysStandIn;
let clock: ManualClock;
let log: CapturedLog;
let sleeper: ReturnType<typeof recordingSleep>;

async function start(options: Partial<EmarsysStandInOptions> = {}): Promise<void> {
  standIn = await startEmarsysStandIn({ auth: { mode: 'wsse', userName, secret }, clock, ...options });
}

function provider(overrides: Partial<EmarsysProviderOptions> = {}): IEmailProvider {
  return createEmarsysProvider({
    apiUrl: standIn.apiUrlTemplate,
    externalEventId: eventId,
    auth: { mode: 'wsse', userName, secret },
    clock,
    sleep: sleeper.sleep,
    random: midRandom,
    logger: log.logger,
    ...overrides,
  });
}

const triggers = () => standIn.requests.filter((request) => request.kind === 'trigger');
const sent = (triggerId: string): NotificationOutcome => ({ triggerId, status: 'sent', providerMessageId: triggerId });

beforeEach(() => {
  clock = manualClock('2024-05-01T10:00:00Z');
  log = captureLog();
  sleeper = recordingSleep();
});

afterEach(async () => {
  await standIn?.close();
});

test('sends the exact Emarsys body and reports every contact as sent, in input order', async () => {
  await start();
  const batch = notifications(3);
  const outcomes = await provider().send(batch);

  expect(outcomes).toEqual(batch.map((n) => sent(n.triggerId)));
  expect(triggers()).toHaveLength(1);
  const request = triggers()[0]!;
  expect(request).toMatchObject({ method: 'POST', path: `/api/v2/event/${eventId}/trigger`, eventId, status: 200 });
  expect(request.headerNames).toEqual(expect.arrayContaining(['x-wsse', 'content-type']));
  expect(request.headerNames).not.toContain('authorization');
  // The data object is passed through untouched: nested arrays, unicode and quotes included.
  expect(request.body).toEqual({
    key_id: 3,
    contacts: batch.map((n) => ({ external_id: n.email, trigger_id: n.triggerId, data: n.data })),
  });
  expect(standIn.deliveries.map((d) => [d.eventId, d.triggerId, d.externalId, d.data])).toEqual(
    batch.map((n) => [eventId, n.triggerId, n.email, n.data]),
  );
});

test('uses the configured contact key id', async () => {
  await start();
  await provider({ contactKeyId: 7 }).send(notifications(1));
  expect(triggers()[0]!.body).toMatchObject({ key_id: 7 });
});

test('sends nothing for an empty batch', async () => {
  await start();
  const emarsys = provider();
  expect(await emarsys.send([])).toEqual([]);
  expect(emarsys.stats()).toEqual({ calls: 0, retries: 0 });
});

test('splits 2,500 notifications into requests of 1,000, 1,000 and 500', async () => {
  await start();
  const batch = notifications(2500);
  const emarsys = provider({ batchSize: 1000 });
  const outcomes = await emarsys.send(batch);

  expect(triggers().map((request) => (request.body as { contacts: unknown[] }).contacts.length)).toEqual([1000, 1000, 500]);
  expect(outcomes.map((outcome) => outcome.triggerId)).toEqual(batch.map((n) => n.triggerId));
  expect(outcomes.every((outcome) => outcome.status === 'sent')).toBe(true);
  expect(standIn.deliveries).toHaveLength(2500);
  expect(emarsys.stats()).toEqual({ calls: 3, retries: 0 });
});

test('never puts the same external_id twice in one request', async () => {
  await start({ knownContacts: [emailOf(1), emailOf(2)] });
  const shared = emailOf(1);
  const batch = [notification(1, shared), notification(2), notification(3, shared.toUpperCase()), notification(4, shared)];
  const outcomes = await provider().send(batch);

  for (const request of triggers()) {
    const ids = (request.body as { contacts: { external_id: string }[] }).contacts.map((c) => c.external_id.toLowerCase());
    expect(new Set(ids).size).toBe(ids.length);
  }
  expect(triggers()).toHaveLength(3);
  expect(outcomes).toEqual(batch.map((n) => sent(n.triggerId)));
});

test('a contact Emarsys does not know (2008) fails alone, not retryable; the rest are sent', async () => {
  const batch = notifications(4);
  await start({ knownContacts: batch.filter((_, i) => i !== 2).map((n) => n.email) });
  const outcomes = await provider().send(batch);

  expect(outcomes[0]).toEqual(sent(batch[0]!.triggerId));
  expect(outcomes[1]).toEqual(sent(batch[1]!.triggerId));
  expect(outcomes[3]).toEqual(sent(batch[3]!.triggerId));
  expect(outcomes[2]).toEqual({
    triggerId: batch[2]!.triggerId,
    status: 'failed',
    retryable: false,
    reason: expect.stringContaining('Emarsys 2008: No contact found with the external id: 3'),
  });
  expect(JSON.stringify(outcomes)).not.toContain('@');
  expect(standIn.deliveries.map((d) => d.triggerId)).toEqual([0, 1, 3].map((i) => batch[i]!.triggerId));
  expect(log.records.find((r) => r.message === 'emarsys rejected contacts')?.fields).toMatchObject({ count: 1, byCode: { '2008': 1 } });
});

test('429 with X-RateLimit-Reset: waits the hinted time, retries once with the same trigger ids, delivers each once', async () => {
  await start();
  const resetAt = Math.floor(clock.now().getTime() / 1000) + 7;
  standIn.failNext([{ status: 429, headers: { 'X-RateLimit-Reset': String(resetAt), 'X-RateLimit-Remaining': '0' } }]);
  const batch = notifications(5);
  const emarsys = provider();
  const outcomes = await emarsys.send(batch);

  expect(outcomes).toEqual(batch.map((n) => sent(n.triggerId)));
  expect(sleeper.waits).toEqual([7000]);
  expect(emarsys.stats()).toEqual({ calls: 2, retries: 1 });
  const [throttled, retried] = triggers();
  expect(throttled!.status).toBe(429);
  expect(retried!.status).toBe(200);
  expect(retried!.body).toEqual(throttled!.body);
  expect(standIn.deliveries.map((d) => d.triggerId)).toEqual(batch.map((n) => n.triggerId));
  expect(standIn.duplicatesDropped).toBe(0);
});

test('a 500 carrying the rate-limit headers with requests left is retried after the backoff, not at the end of the window', async () => {
  await start();
  // Emarsys sends the three headers on every answer; 998 of 1000 left: the limit is not the reason.
  const resetAt = Math.floor(clock.now().getTime() / 1000) + 50;
  standIn.failNext([{ status: 500, headers: { 'X-RateLimit-Limit': '1000', 'X-Ratelimit-Remaining': '998', 'X-RateLimit-Reset': String(resetAt) } }]);
  const outcomes = await provider().send(notifications(2));
  expect(outcomes.map((o) => o.status)).toEqual(['sent', 'sent']);
  expect(sleeper.waits).toEqual([375]);
});

test('a 429 whose reset instant has passed by this host\'s clock (ahead of Emarsys\') waits the backoff, not nothing', async () => {
  await start();
  const past = String(Math.floor(clock.now().getTime() / 1000) - 1);
  standIn.failNext(Array.from({ length: 5 }, () => ({ status: 429, headers: { 'X-Ratelimit-Remaining': '0', 'X-RateLimit-Reset': past } })));
  await provider().send(notifications(1));
  expect(sleeper.waits).toEqual([375, 750, 1500, 3000]);
});

test('honours Retry-After in seconds', async () => {
  await start();
  standIn.failNext([{ status: 429, replyCode: 7003, headers: { 'Retry-After': '2' } }]);
  await provider().send(notifications(1));
  expect(sleeper.waits).toEqual([2000]);
});

test('a trigger id Emarsys has seen is accepted but not delivered again', async () => {
  await start();
  const batch = notifications(3);
  const emarsys = provider();
  await emarsys.send(batch);
  const again = await emarsys.send(batch);

  expect(again).toEqual(batch.map((n) => sent(n.triggerId)));
  expect(standIn.deliveries).toHaveLength(3);
  expect(standIn.duplicatesDropped).toBe(3);
});

test('500 three times then success: retried with backoff and a fresh nonce on every attempt', async () => {
  await start();
  standIn.failNext([{ status: 500 }, { status: 502, rawBody: '<html>Bad gateway</html>' }, { status: 503 }]);
  const batch = notifications(2);
  const emarsys = provider();
  const outcomes = await emarsys.send(batch);

  expect(outcomes).toEqual(batch.map((n) => sent(n.triggerId)));
  expect(triggers().map((r) => r.status)).toEqual([500, 502, 503, 200]);
  // Full-jitter backoff at its midpoint: base 500 ms doubling.
  expect(sleeper.waits).toEqual([375, 750, 1500]);
  expect(emarsys.stats()).toEqual({ calls: 4, retries: 3 });
  const nonces = triggers().map((r) => r.wsseNonce);
  expect(nonces.every((n) => typeof n === 'string')).toBe(true);
  expect(new Set(nonces).size).toBe(4);
  expect(standIn.deliveries).toHaveLength(2);
});

test('a fresh nonce and the clock\'s timestamp on every request across batches', async () => {
  await start();
  const emarsys = provider({ batchSize: 2 });
  await emarsys.send(notifications(6));
  clock.advance(60_000);
  await emarsys.send(notifications(2, 10));
  const nonces = triggers().map((r) => r.wsseNonce);
  expect(nonces).toHaveLength(4);
  expect(new Set(nonces).size).toBe(4);
  expect(triggers().every((r) => r.status === 200)).toBe(true);
});

test('400 with a replyCode: every contact fails without a retry, retryable by a later run, as an outage (the request, not the contacts, was refused)', async () => {
  // Its halves are sent once each, to tell a refusal of the event from one of a reminder's data:
  // refused alike, it is the event's.
  await start({ knownEventIds: ['1234'] });
  const batch = notifications(3);
  const emarsys = provider();
  const outcomes = await emarsys.send(batch);

  for (const [i, outcome] of outcomes.entries()) {
    expect(outcome).toEqual({
      triggerId: batch[i]!.triggerId,
      status: 'failed',
      retryable: true,
      outage: true,
      reason: 'Emarsys rejected the request: HTTP 400, replyCode 6003 "Invalid event id: 4711"; EmarsysClientOptions.ExternalEventId must be the id of an external event of this account, the one your automation program or email starts on',
    });
  }
  // The request, its halves, and the event's own endpoint, which refuses the event too.
  expect(emarsys.stats()).toEqual({ calls: 4, retries: 0 });
  expect(triggers().map((r) => (r.body as { contacts: unknown[] }).contacts.length)).toEqual([3, 2, 1]);
  expect(standIn.requests.filter((r) => r.kind === 'other').map((r) => [r.method, r.path])).toEqual([['GET', `/api/v2/event/${eventId}`]]);
  expect(sleeper.waits).toEqual([]);
  expect(standIn.deliveries).toHaveLength(0);
});

test('a refusal the halves of a request meet again: the send\'s other requests go once each, unhalved (they would most likely meet it too)', async () => {
  await start({ knownEventIds: ['1234'] });
  const emarsys = provider({ batchSize: 2 });
  const outcomes = await emarsys.send(notifications(10));
  // The first request and its halves; the other four requests once each, for Emarsys to take one
  // (reminders refused in both halves, not the event), which it does not.
  expect(triggers().map((r) => (r.body as { contacts: unknown[] }).contacts.length)).toEqual([2, 1, 1, 2, 2, 2, 2]);
  expect(log.records.filter((record) => record.level === 'error')).toHaveLength(5);
  expect(outcomes.map((o) => o.status === 'failed' && o.outage && o.retryable && o.reason)).toEqual(Array(10).fill('Emarsys rejected the request: HTTP 400, replyCode 6003 "Invalid event id: 4711"; EmarsysClientOptions.ExternalEventId must be the id of an external event of this account, the one your automation program or email starts on'));
});

describe('a reminder alone in a request Emarsys fails with HTTP 500 past the retries', () => {
  test('while Emarsys takes the send\'s other requests: the reminder is at fault, an attempt of its own', async () => {
    await start();
    standIn.failNext(Array(5).fill({ status: 500 }));
    const batch = notifications(2);
    const outcomes = await provider({ batchSize: 1 }).send(batch);
    expect(outcomes).toEqual([
      { triggerId: batch[0]!.triggerId, status: 'failed', retryable: true, reason: expect.stringMatching(/HTTP 500.*Emarsys took the send's other reminders, so it fails on this reminder/) },
      sent(batch[1]!.triggerId),
    ]);
    expect(log.records.filter((record) => record.level === 'error')).toEqual([
      expect.objectContaining({ message: 'emarsys trigger request failed', fields: expect.objectContaining({ contacts: 1, outage: false }) }),
    ]);
  });

  test('with nothing else taken: Emarsys down, not an attempt of the reminder\'s', async () => {
    await start();
    standIn.failNext(Array(5).fill({ status: 500 }));
    const [outcome] = await provider().send(notifications(1));
    expect(outcome).toMatchObject({ status: 'failed', retryable: true, outage: true, reason: expect.not.stringMatching(/took/) });
    expect(log.records.filter((record) => record.level === 'error')).toEqual([
      expect.objectContaining({ message: 'emarsys trigger request failed', fields: expect.objectContaining({ contacts: 1, outage: true }) }),
    ]);
  });
});

test('a 200 with a non-zero replyCode fails the request', async () => {
  await start();
  standIn.failNext([{ status: 200, replyCode: 10001, replyText: 'Invalid data for user@example.org' }]);
  const outcomes = await provider().send(notifications(1));
  expect(outcomes[0]).toMatchObject({ status: 'failed', retryable: true, reason: expect.stringContaining('replyCode 10001') });
  expect(JSON.stringify(outcomes)).not.toContain('user@example.org');
});

test('retries run out: the contacts fail as retryable', async () => {
  await start();
  standIn.failNext(Array.from({ length: 3 }, () => ({ status: 429, headers: { 'X-RateLimit-Reset': '1' } })));
  const batch = notifications(2);
  const emarsys = provider({ retry: { ...defaultRetryPolicy, maxAttempts: 3 } });
  const outcomes = await emarsys.send(batch);

  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ status: 'failed', retryable: true, reason: expect.stringContaining('HTTP 429, replyCode 7003') });
  }
  expect(sleeper.waits).toEqual([1000, 1000]);
  expect(emarsys.stats()).toEqual({ calls: 3, retries: 2 });
  expect(standIn.deliveries).toHaveLength(0);
});

test('a request that timed out after Emarsys processed it: the retry reuses the trigger ids, one email each', async () => {
  await start();
  // The client's own timer is the subject: long enough that the retry's answer comes within it on
  // a loaded machine (at 150 ms a stalled worker timed the retry out as well: 3 calls), while the
  // first answer is held far past it (the stand-in cancels the hold when it closes).
  standIn.failNext([{ status: 200, delayMs: 60_000, deliver: true }]);
  const batch = notifications(2);
  const emarsys = provider({ timeoutMs: 1_000 });
  expect(await emarsys.send(batch)).toEqual(batch.map((n) => sent(n.triggerId)));
  expect(emarsys.stats()).toEqual({ calls: 2, retries: 1 });
  expect(log.records.some((r) => r.message === 'emarsys trigger retry' && String(r.fields.error).includes('ETIMEDOUT'))).toBe(true);
  expect(standIn.deliveries.map((d) => d.triggerId)).toEqual(batch.map((n) => n.triggerId));
  expect(standIn.duplicatesDropped).toBe(2);
});

test('a 502 from a gateway after Emarsys processed the request: retried, delivered once', async () => {
  await start();
  standIn.failNext([{ status: 502, rawBody: '<html>Bad gateway</html>', deliver: true }]);
  const batch = notifications(3);
  const outcomes = await provider().send(batch);
  expect(outcomes).toEqual(batch.map((n) => sent(n.triggerId)));
  expect(triggers().map((r) => r.status)).toEqual([502, 200]);
  expect(standIn.deliveries).toHaveLength(3);
  expect(standIn.duplicatesDropped).toBe(3);
});

test('no answer at all: retried, then failed as retryable', async () => {
  await start();
  const apiUrl = standIn.apiUrlTemplate;
  await standIn.close();
  const emarsys = provider({ apiUrl, retry: { ...defaultRetryPolicy, maxAttempts: 2 } });
  const outcomes = await emarsys.send(notifications(1));
  expect(outcomes[0]).toMatchObject({ status: 'failed', retryable: true, reason: expect.stringContaining('ECONNREFUSED') });
  expect(emarsys.stats()).toEqual({ calls: 2, retries: 1 });
  // Which endpoint did not answer (a proxy, another region's API host): its host and path, no query.
  const endpoint = apiUrl.replace('{0}', eventId);
  expect(outcomes[0]?.status === 'failed' && outcomes[0].reason).toMatch(new RegExp(`^no answer from Emarsys at ${endpoint.replace(/[.?]/g, '\\$&')} after 2 attempts \\(ECONNREFUSED`));

  // A host name that does not resolve is the setting's: the reason says which.
  const unknownHost = provider({ apiUrl: 'https://emarsys-api.invalid/api/v2/event/{0}/trigger?client=acme', retry: { ...defaultRetryPolicy, maxAttempts: 1 } });
  const [typo] = await unknownHost.send(notifications(1, 2));
  expect(typo?.status === 'failed' && typo.reason).toMatch(
    new RegExp(`^no answer from Emarsys at https://emarsys-api\\.invalid/api/v2/event/${eventId}/trigger after 1 attempts \\(ENOTFOUND.*\\); check EmarsysClientOptions\\.ApiUrl: its host name was not found$`),
  );
});

test('a redirect is not Emarsys rejecting the request: the reason says nothing was triggered and points at ApiUrl', async () => {
  // A gateway or a wrong host before Emarsys (its sign-in page): not followed, nothing was triggered.
  await start();
  standIn.failNext([{ status: 302, headers: { Location: 'https://login.example.com/sso?session=abc123' }, rawBody: '' }]);
  const [outcome] = await provider().send(notifications(1));
  expect(outcome).toMatchObject({ status: 'failed', retryable: true });
  expect(outcome?.status === 'failed' && outcome.reason).toBe(
    'The trigger request was redirected (HTTP 302), so nothing was triggered: check EmarsysClientOptions.ApiUrl, which must be the Emarsys trigger endpoint itself, e.g. https://api.emarsys.net/api/v2/event/{0}/trigger',
  );
  expect(standIn.deliveries).toHaveLength(0);
});

test('a 2xx that is not a trigger reply fails as retryable (Emarsys drops the repeat if it did process it)', async () => {
  await start();
  standIn.failNext([{ status: 200, rawBody: '<html>maintenance</html>' }]);
  const outcomes = await provider().send(notifications(1));
  expect(outcomes[0]).toMatchObject({ status: 'failed', retryable: true });
});

test('a wrong WSSE secret fails every contact, retryable by a later run, naming the credentials to check, after one call', async () => {
  await start();
  const batch = notifications(4);
  const emarsys = provider({ auth: { mode: 'wsse', userName, secret: 'not-the-secret' }, batchSize: 2 });
  const outcomes = await emarsys.send(batch);

  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ status: 'failed', retryable: true });
    if (outcome.status === 'failed') {
      expect(outcome.reason).toContain('HTTP 401');
      expect(outcome.reason).toContain('API user name and secret');
      expect(outcome.reason).toContain('may trigger this external event');
    }
  }
  // The second request is not attempted: the same credentials would be refused again.
  expect(emarsys.stats()).toEqual({ calls: 1, retries: 0 });
});

test('a clock more than 5 minutes off is refused like a wrong secret', async () => {
  await start();
  const outcomes = await provider({ clock: manualClock('2024-05-01T10:06:00Z') }).send(notifications(1));
  expect(outcomes[0]).toMatchObject({ status: 'failed', retryable: true, reason: expect.stringContaining('clock') });
});

test('a notification without an email fails on its own', async () => {
  await start();
  const batch = [notification(1), notification(2, '  ')];
  const outcomes = await provider().send(batch);
  expect(outcomes[0]).toEqual(sent(batch[0]!.triggerId));
  expect(outcomes[1]).toMatchObject({ status: 'failed', retryable: false });
  expect(triggers()).toHaveLength(1);
});

test('never logs an email address, the secret or a WSSE digest', async () => {
  const batch = notifications(6);
  await start({ knownContacts: batch.slice(1).map((n) => n.email) });
  standIn.failNext([{ status: 429, headers: { 'Retry-After': '1' } }, { status: 500 }]);
  await provider({ batchSize: 3 }).send(batch);
  await provider({ auth: { mode: 'wsse', userName, secret: 'another-secret-value' } }).send(batch);

  const logged = log.text();
  expect(log.records.length).toBeGreaterThan(3);
  expect(logged).not.toMatch(/@/);
  for (const n of batch) expect(logged).not.toContain(n.email);
  expect(logged).not.toContain(secret);
  expect(logged).not.toContain('another-secret-value');
  expect(logged).not.toMatch(/PasswordDigest|UsernameToken|Nonce=/);
});

describe('verify (doctor): the credentials, then the external event the reminders trigger', () => {
  test('an event the account has is named', async () => {
    await start({ knownEventIds: [eventId] });
    await expect(provider().verify?.()).resolves.toMatch(new RegExp(`^wsse credentials accepted by http://127\\.0\\.0\\.1:\\d+; external event ${eventId} \\("Stand-in event ${eventId}"\\) exists$`));
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v2/settings', `GET /api/v2/event/${eventId}`]);
    expect(standIn.deliveries).toHaveLength(0);
  });

  test('a wrong or deleted ExternalEventId fails the check, naming the setting, where it passed on the credentials alone', async () => {
    await start({ knownEventIds: ['1234'] });
    await expect(provider().verify?.()).rejects.toThrow(
      `Emarsys refused external event ${eventId} (HTTP 400, replyCode 6003: Invalid event id: ${eventId}): EmarsysClientOptions.ExternalEventId must be the id of an external event of this account`,
    );
  });

  test('an API that answers the event query with 404 (no such endpoint) leaves the event unchecked, not missing', async () => {
    const server = createServer((request, response) => {
      response.writeHead(request.url === '/api/v2/settings' ? 200 : 404, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(request.url === '/api/v2/settings' ? { replyCode: 0, replyText: 'OK', data: {} } : { replyCode: 1, replyText: 'Not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const emarsys = createEmarsysProvider({ apiUrl: `http://127.0.0.1:${port}/api/v2/event/{0}/trigger`, externalEventId: eventId, auth: { mode: 'wsse', userName, secret }, clock, logger: log.logger });
      await expect(emarsys.verify?.()).resolves.toMatch(/; the external event could not be looked up \(HTTP 404\)$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a settings endpoint Emarsys does not have (HTTP 404) or that redirects names EmarsysClientOptions.ApiUrl; an outage does not', async () => {
    await start({ knownEventIds: [eventId] });
    // An API version Emarsys does not serve: its settings endpoint is not found.
    const wrongVersion = provider({ apiUrl: standIn.apiUrlTemplate.replace('/api/v2/', '/api/v9/') });
    await expect(wrongVersion.verify?.()).rejects.toThrow(
      `Emarsys answered HTTP 404 to GET ${new URL(standIn.apiUrlTemplate).origin}/api/v9/settings: check EmarsysClientOptions.ApiUrl`,
    );
    const proxy = await startFaultProxy({ upstream: new URL(standIn.apiUrlTemplate).origin });
    try {
      const throughProxy = provider({ apiUrl: `${proxy.url}/api/v2/event/{0}/trigger` });
      const moved = proxy.inject({ path: /\/settings$/, times: 1, fault: { kind: 'status', status: 301, headers: { Location: 'https://api.emarsys.net/api/v2/settings' } } });
      await expect(throughProxy.verify?.()).rejects.toThrow(`Emarsys answered HTTP 301 to GET ${proxy.url}/api/v2/settings: check EmarsysClientOptions.ApiUrl`);
      expect(moved.fired).toBe(1);
      proxy.inject({ path: /\/settings$/, times: 1, fault: { kind: 'status', status: 503 } });
      const outage = await throughProxy.verify?.().catch((e: unknown) => e);
      expect((outage as Error).message).toMatch(/^Emarsys answered HTTP 503 to GET /);
      expect((outage as Error).message).not.toContain('ApiUrl');
    } finally {
      await proxy.close();
    }
  });

  test("an ApiUrl whose query holds a gateway's key: doctor's message names the endpoint without the query", async () => {
    await start({ knownEventIds: [eventId] });
    const origin = new URL(standIn.apiUrlTemplate).origin;
    const gateway = provider({ apiUrl: `${origin}/gw?key=gw-key-5f2c&to=/api/v2/event/{0}/trigger` });
    const error = await gateway.verify?.().catch((e: unknown) => e);
    expect((error as Error).message).toBe(`Emarsys answered HTTP 404 to GET ${origin}/gw: check EmarsysClientOptions.ApiUrl, whose settings endpoint this is`);
  });

  test('an ApiUrl of another shape: the event is not looked up, and the line says so', async () => {
    await start({ knownEventIds: ['1234'] });
    const custom = provider({ apiUrl: standIn.apiUrlTemplate.replace('/api/v2/event/{0}/trigger', '/proxy/emarsys?event={0}') });
    await expect(custom.verify?.()).resolves.toMatch(/; the external event was not looked up \(ApiUrl is not .*\)$/);
  });
});

test.each([503, 500])('Emarsys failing every request with HTTP %i past the retries: the failed request is logged at error, as Emarsys down', async (status) => {
  // An HTTP 500 is told from a reminder Emarsys fails on by sending the request's halves: failed
  // alike, it is an outage, which must be as loud as a 503's. Both say `outage`, as the line of a
  // request the provider told from a reminder's failure does: what the on-call engineer filters on.
  await start();
  // Five attempts of the request, then (for a 500) its two halves once each.
  standIn.failNext(Array(7).fill({ status }));
  // The reason names the endpoint that failed (ApiUrl may point at a proxy or another host), never its query.
  const outcomes = await provider({ apiUrl: `${standIn.apiUrlTemplate}?client=acme` }).send(notifications(4));
  expect(outcomes.every((o) => o.status === 'failed' && o.outage === true)).toBe(true);
  const endpoint = standIn.apiUrlTemplate.replace('{0}', eventId);
  expect(log.records.filter((record) => record.level === 'error')).toEqual([
    expect.objectContaining({
      message: 'emarsys trigger request failed',
      fields: expect.objectContaining({ contacts: 4, outage: true, reason: expect.stringMatching(new RegExp(`^Emarsys at ${endpoint.replace(/[.]/g, '\\.')}: HTTP ${status}\\b.*, still failing after \\d+ attempts$`)) }),
    }),
  ]);
  expect(JSON.stringify(outcomes)).not.toContain('client=acme');
});
