import type { Fault, ProxiedRequest } from '../../../src/simulators/fault-proxy';
import {
  ALL_CARTS,
  CART_COUNT,
  emailOf,
  expectAllSent,
  expectNothingLeft,
  faultScenario,
  HANG_TIMEOUT_MS,
  MAX_ATTEMPTS,
  MAX_BACKOFF_MS,
  MAX_SERVER_DELAY_MS,
  retryDelays,
} from '../support/fault-scenario';

/**
 * Emarsys' external event trigger. Each cart's trigger_id is its notification id, and Emarsys
 * fires a trigger_id once: so a retry after Emarsys did the work (an answer lost, cut or late) is
 * harmless, and the stand-in proves it by counting the repeats it dropped.
 */

const TRIGGER = /\/event\/[^/]+\/trigger(\?|$)/;
const RETRY_LOG = 'emarsys trigger retry';

/** Faults that come before Emarsys does anything: retried, nothing delivered twice. */
const BEFORE_PROCESSING: { label: string; fault: Fault; hinted?: boolean }[] = [
  { label: '429 with Retry-After', fault: { kind: 'status', status: 429, headers: { 'Retry-After': '2' } }, hinted: true },
  { label: '429 with X-RateLimit-Reset', fault: { kind: 'status', status: 429, headers: { 'X-RateLimit-Reset': '3' } }, hinted: true },
  { label: '429 without a hint', fault: { kind: 'status', status: 429 } },
  { label: '500', fault: { kind: 'status', status: 500 } },
  { label: '503', fault: { kind: 'status', status: 503 } },
  { label: 'connection reset before the request arrives', fault: { kind: 'reset' } },
];

/** Faults after Emarsys processed the request: the retry repeats trigger ids, which Emarsys drops. */
const AFTER_PROCESSING: { label: string; fault: Fault; timeoutMs?: number }[] = [
  { label: '503 after processing', fault: { kind: 'status', status: 503, forward: true } },
  { label: 'connection reset after processing, before the answer', fault: { kind: 'reset', when: 'after-forward' } },
  { label: 'connection reset in the middle of the answer', fault: { kind: 'reset', when: 'mid-body' } },
  { label: 'processed, then no answer until the client times out', fault: { kind: 'hang', forward: true }, timeoutMs: HANG_TIMEOUT_MS },
];

/** The carts of a trigger request, read from its contacts' data. */
function cartsIn(request: ProxiedRequest): string[] {
  const body = JSON.parse(request.text()) as { contacts: { data: { cartId: string } }[] };
  return body.contacts.map((contact) => contact.data.cartId);
}

export function emarsysFaults(): void {
  describe('Emarsys', () => {
    test.each(BEFORE_PROCESSING)('$label, twice: retried with bounded backoff, the run completes', async ({ label, fault, hinted }) => {
      await faultScenario({ dependency: 'emarsys', name: `trigger: ${label} x2` }, {}, async ({ h, run, later }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, times: 2, fault });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.provider).toBe(2);
        const delays = retryDelays(h, RETRY_LOG);
        expect(delays).toHaveLength(2);
        if (hinted) expect(delays).toEqual([MAX_SERVER_DELAY_MS, MAX_SERVER_DELAY_MS]);
        else for (const delay of delays) expect(delay).toBeLessThanOrEqual(MAX_BACKOFF_MS);
        expect(h.emarsys.duplicatesDropped).toBe(0);
        expectNothingLeft(await later());
      });
    });

    test.each(AFTER_PROCESSING)('$label: retried, Emarsys drops the repeated trigger ids, each customer gets one email', async ({ label, fault, timeoutMs }) => {
      await faultScenario({ dependency: 'emarsys', name: `trigger: ${label}` }, { clientTimeoutMs: timeoutMs }, async ({ h, run, later }) => {
        let repeated = 0;
        h.proxies.emarsys.inject({ path: TRIGGER, times: 1, fault, before: (request) => void (repeated = cartsIn(request).length) });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.provider).toBe(1);
        expect(h.emarsys.duplicatesDropped).toBe(repeated);
        expectNothingLeft(await later());
      });
    });

    test('no answer until the client times out (not processed): retried, the run completes', async () => {
      await faultScenario({ dependency: 'emarsys', name: 'trigger: hang past the client timeout' }, { clientTimeoutMs: HANG_TIMEOUT_MS }, async ({ h, run }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, times: 1, fault: { kind: 'hang' } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.provider).toBe(1);
        expect(h.emarsys.duplicatesDropped).toBe(0);
      });
    });

    test('a slow answer within the timeout: no retry', async () => {
      await faultScenario({ dependency: 'emarsys', name: 'trigger: slow answer' }, {}, async ({ h, run }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, times: 2, fault: { kind: 'slow', delayMs: 40, when: 'after-forward' } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.provider).toBe(0);
      });
    });

    test.each([
      { label: 'a truncated answer after processing', fault: { kind: 'truncate' } satisfies Fault, processed: true },
      { label: 'malformed JSON with 200, not processed', fault: { kind: 'malformed-json' } satisfies Fault, processed: false },
    ])('$label: the batch fails retryably (may or may not have been processed), the checkpoint waits, the next run sends it once', async ({ label, fault, processed }) => {
      await faultScenario({ dependency: 'emarsys', name: `trigger: ${label}` }, {}, async ({ h, run, later }) => {
        let batch: string[] = [];
        h.proxies.emarsys.inject({ path: TRIGGER, times: 1, fault, before: (request) => void (batch = cartsIn(request)) });
        const report = await run();
        expect(report.status).toBe('completed');
        expect(report.carts).toMatchObject({ notified: CART_COUNT - batch.length, failed: batch.length });
        expect(report.failures).toEqual([{ reason: 'Emarsys answered HTTP 200 with a body that is not a trigger reply', count: batch.length }]);
        expect(report.retries.provider).toBe(0);
        expect(h.emarsys.deliveries).toHaveLength(processed ? CART_COUNT : CART_COUNT - batch.length);
        const next = await later();
        expect(next.carts).toMatchObject({ notified: batch.length, failed: 0 });
        expect(h.emarsys.duplicatesDropped).toBe(processed ? batch.length : 0);
      });
    });

    test.each([
      { label: 'HTTP 200 with replyCode 1', fault: { kind: 'status', status: 200, body: '{"replyCode":1,"replyText":"Unknown error","data":""}' } satisfies Fault, reason: /HTTP 200, replyCode 1 "Unknown error"/ },
      { label: 'HTTP 400 with replyCode 10001', fault: { kind: 'status', status: 400, body: '{"replyCode":10001,"replyText":"Invalid request","data":""}' } satisfies Fault, reason: /HTTP 400, replyCode 10001 "Invalid request"/ },
    ])('the whole batch refused ($label), its halves and the event too: an outage, not retried in the run, its carts fail retryably and the checkpoint waits; the next run sends them', async ({ label, fault, reason }) => {
      await faultScenario({ dependency: 'emarsys', name: `trigger: batch refused, ${label}` }, {}, async ({ h, run, later }) => {
        // The first request, then its two halves (sent once each to tell a refusal of one
        // reminder's data from one of the event, the key or the account), and the event's own
        // endpoint, which Emarsys then asks: it refuses the event too.
        let batch: string[] | undefined;
        const inBatch = (request: ProxiedRequest) => cartsIn(request).every((cart) => (batch ??= cartsIn(request)).includes(cart));
        h.proxies.emarsys.inject({ path: TRIGGER, times: 3, match: inBatch, fault });
        h.proxies.emarsys.inject({ path: /\/event\/[^/]+$/, times: 1, fault });
        const report = await run();
        const refused = batch ?? [];
        expect(report.status).toBe('completed');
        expect(report.carts).toMatchObject({ notified: CART_COUNT - refused.length, failed: refused.length, providerDown: refused.length });
        expect(report.failures).toHaveLength(1);
        expect(report.failures[0]?.reason).toMatch(reason);
        expect(report.retries.provider).toBe(0);
        // A refusal of the request says nothing about its contacts (a setting may be wrong): the
        // checkpoint stays before them, and the next run sends them.
        expect(report.checkpoint?.lastModifiedAt).not.toBe('2026-11-23T11:50:00.000Z');
        const next = await later();
        expect(next.carts).toMatchObject({ notified: refused.length, failed: 0 });
        expectNothingLeft(await later());
      });
    });

    test('the whole batch refused once (HTTP 400 with replyCode 10001), its halves taken: every cart is sent in the run', async () => {
      await faultScenario({ dependency: 'emarsys', name: 'trigger: batch refused once' }, {}, async ({ h, run, later }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, times: 1, fault: { kind: 'status', status: 400, body: '{"replyCode":10001,"replyText":"Invalid request","data":""}' } });
        expectAllSent(await run());
        expectNothingLeft(await later());
      });
    });

    test('errors for some contacts (2008, unknown contact), and a 429 on the same batch: those contacts fail for good, everyone else gets one email', async () => {
      const unknown = [3, 7];
      const knownContacts = ALL_CARTS.map((_, i) => emailOf(i)).filter((_, i) => !unknown.includes(i));
      await faultScenario({ dependency: 'emarsys', name: 'trigger: per-contact errors after a 429' }, { knownContacts }, async ({ h, run, later, failedForGood }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, times: 1, fault: { kind: 'status', status: 429 } });
        const report = await run();
        failedForGood(...unknown.map((i) => `cart-${i}`));
        expect(report.status).toBe('completed');
        expect(report.carts).toMatchObject({ notified: CART_COUNT - unknown.length, failed: unknown.length });
        expect(report.failures).toEqual([{ reason: expect.stringMatching(/^Emarsys 2008: .*contact must exist in Emarsys/), count: unknown.length }]);
        expect(report.retries.provider).toBe(1);
        const next = await later();
        expectNothingLeft(next);
      });
    });

    test('down for good (503 on every trigger): each batch tried 4 times, every cart fails retryably, the checkpoint waits; the next run sends all', async () => {
      await faultScenario({ dependency: 'emarsys', name: 'trigger: down for good' }, {}, async ({ h, run, later }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, fault: { kind: 'status', status: 503 } });
        const report = await run();
        expect(report.status).toBe('completed');
        expect(report.carts).toMatchObject({ eligible: CART_COUNT, notified: 0, failed: CART_COUNT });
        const endpoint = String(h.env.EmarsysClientOptions__ApiUrl).replace('{0}', String(h.env.EmarsysClientOptions__ExternalEventId));
        expect(report.failures).toEqual([{ reason: `Emarsys at ${endpoint}: HTTP 503, still failing after ${MAX_ATTEMPTS} attempts`, count: CART_COUNT }]);
        const batches = report.pages; // one per page
        expect(batches).toBeGreaterThanOrEqual(3);
        expect(report.calls.provider).toBe(batches * MAX_ATTEMPTS);
        expect(h.proxies.emarsys.stats().requests).toBe(batches * MAX_ATTEMPTS);
        expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T05:00:00.000Z');
        const next = await later();
        expect(next.carts).toMatchObject({ notified: CART_COUNT, failed: 0 });
      });
    });

    test('down across more runs than MaxSendAttempts (2): an outage is no cart\'s attempt, the checkpoint waits, the run after it sends all', async () => {
      const env = { EmarsysClientOptions__MaxSendAttempts: '2' };
      await faultScenario({ dependency: 'emarsys', name: 'trigger: down for more than MaxSendAttempts runs' }, { env }, async ({ h, run, later }) => {
        h.proxies.emarsys.inject({ path: TRIGGER, fault: { kind: 'status', status: 503 } });
        const reports = [await run()];
        for (let i = 0; i < 2; i++) {
          h.clock.advanceMinutes(30);
          reports.push(await run());
        }
        for (const report of reports) {
          expect(report.carts).toMatchObject({ notified: 0, failed: CART_COUNT });
          // Nothing is given up: the checkpoint stays before the first cart.
          expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T05:00:00.000Z');
        }
        const fourth = await later();
        expect(fourth.carts).toMatchObject({ notified: CART_COUNT, failed: 0 });
        // One batch per page, each tried MaxAttempts times, in each of the three runs.
        expect(h.proxies.emarsys.stats().requests).toBe(reports.reduce((sum, r) => sum + r.pages, 0) * MAX_ATTEMPTS + fourth.pages);
      });
    });

    describe('with OAuth 2.0', () => {
      test('the token endpoint answers 503 once: retried, the run completes', async () => {
        await faultScenario({ dependency: 'emarsys', name: 'oauth2 token: 503 once' }, { emarsysAuth: 'oauth2' }, async ({ h, run }) => {
          // The warm-up holds a token; a new process has to ask for one.
          await h.newProcess();
          h.proxies.emarsys.inject({ method: 'POST', path: /\/oauth2\/token$/, times: 1, fault: { kind: 'status', status: 503 } });
          const report = await run();
          expectAllSent(report);
          expect(report.retries.provider).toBe(1);
        });
      });

      test('the access token is revoked between two batches: 401, a new token, the run completes', async () => {
        await faultScenario({ dependency: 'emarsys', name: 'oauth2 token: revoked between batches' }, { emarsysAuth: 'oauth2' }, async ({ h, run, countInjected }) => {
          h.proxies.emarsys.inject({
            path: TRIGGER,
            skip: 1,
            times: 1,
            before: () => {
              h.emarsys.revokeTokens();
              countInjected('token-revoked');
            },
          });
          const tokensBefore = h.emarsys.tokensIssued;
          const report = await run();
          expectAllSent(report);
          // Each request that met the 401 is retried once; requests in flight together share one new token.
          expect(report.retries.provider).toBeGreaterThanOrEqual(1);
          expect(h.emarsys.tokensIssued - tokensBefore).toBeGreaterThanOrEqual(1);
          expect(h.emarsys.tokensIssued - tokensBefore).toBeLessThanOrEqual(report.retries.provider ?? 0);
        });
      });
    });
  });
}
