import type { Fault } from '../../../src/simulators/fault-proxy';
import type { TestClock } from '../../support/test-clock';
import { expectAllSent, expectNothingLeft, faultScenario, HANG_TIMEOUT_MS, MAX_ATTEMPTS, NOW } from '../support/fault-scenario';
import { RETAIL_ENDPOINTS } from './retail';

/**
 * The token endpoint MSAL calls for Retail Server tokens. A fault there stops every Retail Server
 * call, so it must be retried like one; and MSAL itself refuses to ask again for a while after a
 * 429 or 5xx (its throttling cache), which the run has to report as passing, not as a bad secret.
 */

/** MSAL adds a query string (client-request-id) to the token endpoint. */
const TOKEN_PATH = /\/oauth2\/v2\.0\/token(\?|$)/;

/** Faults after which the next token request goes out and succeeds. */
const PASSING: { label: string; fault: Fault }[] = [
  { label: 'connection reset before the request arrives', fault: { kind: 'reset' } },
  { label: 'connection reset in the middle of the answer', fault: { kind: 'reset', when: 'mid-body' } },
  { label: 'truncated JSON body', fault: { kind: 'truncate' } },
  { label: 'malformed JSON with 200', fault: { kind: 'malformed-json' } },
];

const ENTRA_UNAVAILABLE = JSON.stringify({
  error: 'temporarily_unavailable',
  error_description: 'AADSTS90033: A transient error has occurred. Please try again.',
  error_codes: [90033],
});

export function tokenFaults(): void {
  describe('token endpoint', () => {
    test.each(PASSING)('$label: the token request is retried, the run completes', async ({ label, fault }) => {
      await faultScenario({ dependency: 'token', name: `token: ${label}` }, {}, async ({ h, run, later }) => {
        await h.newProcess(); // an empty MSAL cache, so the run has to ask for a token
        h.proxies.token.inject({ method: 'POST', path: TOKEN_PATH, times: 1, fault });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.token).toBe(1);
        expect(report.calls.token).toBe(2);
        expectNothingLeft(await later());
      });
    });

    test('a hang until the client times out: retried, the run completes', async () => {
      await faultScenario({ dependency: 'token', name: 'token: hang past the client timeout' }, { clientTimeoutMs: HANG_TIMEOUT_MS }, async ({ h, run, later }) => {
        await h.newProcess();
        h.proxies.token.inject({ method: 'POST', path: TOKEN_PATH, times: 1, fault: { kind: 'hang' } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.token).toBe(1);
        expectNothingLeft(await later());
      });
    });

    test('a slow answer within the timeout: no retry', async () => {
      await faultScenario({ dependency: 'token', name: 'token: slow answer' }, {}, async ({ h, run }) => {
        await h.newProcess();
        h.proxies.token.inject({ method: 'POST', path: TOKEN_PATH, times: 1, fault: { kind: 'slow', delayMs: 40 } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.token).toBe(0);
      });
    });

    test('the OpenID configuration answers 503: MSAL cannot resolve the authority, the run retries, completes', async () => {
      await faultScenario({ dependency: 'token', name: 'token: OpenID configuration 503' }, {}, async ({ h, run, later }) => {
        await h.newProcess();
        h.proxies.token.inject({ method: 'GET', path: /openid-configuration/, times: 1, fault: { kind: 'status', status: 503 } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.token).toBe(1);
        expectNothingLeft(await later());
      });
    });

    test('429 with Retry-After: one request on the wire, the run fails as passing (not as a bad secret); after Retry-After the same process completes', async () => {
      await faultScenario({ dependency: 'token', name: 'token: 429 with Retry-After' }, {}, async ({ h, run, later }) => {
        await h.newProcess();
        h.proxies.token.inject({ method: 'POST', path: TOKEN_PATH, times: 1, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '1' } } });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/MSAL is holding token requests back.*a later attempt may succeed/);
        expect(report.error).not.toMatch(/client secret/);
        // MSAL answers the retries from its throttling cache: four attempts, one request.
        expect(report.calls.token).toBe(1);
        expect(report.retries.token).toBe(MAX_ATTEMPTS - 1);
        expect(h.proxies.token.requests().filter((r) => r.method === 'POST')).toHaveLength(1);
        expect(report.checkpoint).toBeUndefined();
        // MSAL keeps the throttle for the Retry-After on the real clock; this one is 1 s.
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        expectAllSent(await later());
      });
    });

    test.each([
      { label: '503 without a hint', fault: { kind: 'status', status: 503 } satisfies Fault },
      { label: '500 with an Entra error body', fault: { kind: 'status', status: 500, body: ENTRA_UNAVAILABLE } satisfies Fault },
    ])('$label: one request on the wire, the run fails as passing; the next process completes', async ({ label, fault }) => {
      await faultScenario({ dependency: 'token', name: `token: ${label}` }, {}, async ({ h, run, later }) => {
        await h.newProcess();
        h.proxies.token.inject({ method: 'POST', path: TOKEN_PATH, times: 1, fault });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/unavailable or throttling; a later attempt may succeed/);
        expect(report.calls.token).toBe(1);
        expect(h.proxies.token.requests().filter((r) => r.method === 'POST')).toHaveLength(1);
        // MSAL holds a throttle without Retry-After for 60 s of real time; the next timer run
        // comes 30 minutes later, here a new process stands in for that.
        await h.newProcess();
        expectAllSent(await later());
      });
    });

    test('down for good (every token request reset): the run fails after 4 requests, the next run completes', async () => {
      await faultScenario({ dependency: 'token', name: 'token: down for good' }, {}, async ({ h, run, later }) => {
        await h.newProcess();
        h.proxies.token.inject({ method: 'POST', path: TOKEN_PATH, fault: { kind: 'reset' } });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/Could not get a Retail Server access token.*\(4 attempts\)/);
        expect(report.calls.token).toBe(MAX_ATTEMPTS);
        expect(h.proxies.token.stats().injected.reset).toBe(MAX_ATTEMPTS);
        expect(h.emarsys.deliveries).toHaveLength(0);
        expectAllSent(await later());
      });
    });

    test('tokens revoked between two pages: Retail Server answers 401, the client gets a new token once, the run completes', async () => {
      await faultScenario({ dependency: 'token', name: 'token: revoked between pages' }, {}, async ({ h, run, later, countInjected }) => {
        const issuedBefore = h.tokens.tokensIssued;
        h.proxies.retail.inject({
          path: RETAIL_ENDPOINTS.customers,
          skip: 1,
          times: 1,
          before: () => {
            h.tokens.revokeAllTokens();
            countInjected('token-revoked');
          },
        });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.token).toBeGreaterThanOrEqual(1);
        expect(report.calls.token).toBeGreaterThanOrEqual(1);
        expect(h.tokens.tokensIssued).toBeGreaterThan(issuedBefore);
        expect(h.retail.requests.filter((r) => !r.authorized).length).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('a token that expires in the middle of the run (the server clock passes its expiry; MSAL still holds it): 401, a new token, the run completes', async () => {
      const clock: { current?: TestClock } = {};
      const tokenServer = { now: () => (clock.current?.now() ?? new Date(NOW)).getTime() };
      await faultScenario({ dependency: 'token', name: 'token: expires mid-run' }, { tokenServer }, async ({ h, run, later, countInjected }) => {
        clock.current = h.clock;
        h.proxies.retail.inject({
          path: RETAIL_ENDPOINTS.customers,
          skip: 1,
          times: 1,
          before: () => {
            h.clock.advanceMinutes(61); // past the 3599 s the token was issued for
            countInjected('token-expired');
          },
        });
        // An hour passes mid-run: a time limit that long lets the run finish the window.
        const report = await run({}, { RetailServerClientOptions__MaxRunMinutes: '120' });
        expectAllSent(report);
        expect(report.retries.token).toBeGreaterThanOrEqual(1);
        expect(h.retail.requests.filter((r) => !r.authorized).length).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('tokens that live 120 s (inside MSAL\u2019s 5-minute renewal margin): MSAL fetches a fresh one for every call, nothing fails', async () => {
      await faultScenario({ dependency: 'token', name: 'token: 120 s lifetime' }, { tokenServer: { tokenLifetimeSeconds: 120 } }, async ({ run }) => {
        const report = await run();
        expectAllSent(report);
        expect(report.calls.token).toBeGreaterThan(1);
        expect(report.retries.token).toBe(0);
      });
    });
  });
}
