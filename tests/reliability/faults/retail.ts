import type { Fault } from '../../../src/simulators/fault-proxy';
import {
  expectAllSent,
  expectNothingLeft,
  faultScenario,
  HANG_TIMEOUT_MS,
  MAX_ATTEMPTS,
  MAX_BACKOFF_MS,
  MAX_SERVER_DELAY_MS,
  PAGE_SIZE,
  retryDelays,
} from '../support/fault-scenario';

/**
 * Retail Server, each of its four endpoints: passing faults are retried with bounded backoff and
 * the run completes; a server that keeps failing ends the run as failed within a bounded number of
 * calls, and the next run picks up where the checkpoint stopped.
 */

export const RETAIL_ENDPOINTS = {
  channel: /\/OrgUnits\/GetOrgUnitConfiguration/,
  cartSearch: /\/Carts\/Search/,
  customers: /\/Customers\/GetByAccountNumbers/,
  products: /\/Products\/Search/,
} as const;
type Endpoint = keyof typeof RETAIL_ENDPOINTS;
const ENDPOINTS = Object.keys(RETAIL_ENDPOINTS) as Endpoint[];

/** Faults the client retries; each is injected twice, within the four attempts the policy allows. */
export const PASSING_FAULTS: { label: string; fault: Fault; hinted?: boolean }[] = [
  { label: '429 with Retry-After', fault: { kind: 'status', status: 429, headers: { 'Retry-After': '2' } }, hinted: true },
  { label: '429 with X-RateLimit-Reset', fault: { kind: 'status', status: 429, headers: { 'X-RateLimit-Reset': '3' } }, hinted: true },
  { label: '429 without a hint', fault: { kind: 'status', status: 429 } },
  { label: '500', fault: { kind: 'status', status: 500 } },
  { label: '503', fault: { kind: 'status', status: 503 } },
  { label: 'connection reset before the request arrives', fault: { kind: 'reset' } },
  { label: 'connection reset in the middle of the answer', fault: { kind: 'reset', when: 'mid-body' } },
  { label: 'truncated JSON body', fault: { kind: 'truncate' } },
  { label: 'malformed JSON with 200', fault: { kind: 'malformed-json' } },
];

const RETRY_LOG = 'Retail Server call failed; retrying';

export function retailFaults(): void {
  describe('Retail Server', () => {
    for (const endpoint of ENDPOINTS) {
      describe(`${endpoint}`, () => {
        test.each(PASSING_FAULTS)('$label, twice: retried, the run completes', async ({ label, fault, hinted }) => {
          await faultScenario({ dependency: 'retail', name: `${endpoint}: ${label} x2` }, {}, async ({ h, run, later }) => {
            h.proxies.retail.inject({ path: RETAIL_ENDPOINTS[endpoint], times: 2, fault });
            const report = await run();
            expectAllSent(report);
            expect(report.retries[endpoint]).toBe(2);
            expect(h.proxies.retail.stats().injectedTotal).toBe(2);
            const delays = retryDelays(h, RETRY_LOG);
            expect(delays).toHaveLength(2);
            // The server's hint is honoured (capped by the policy); otherwise jittered backoff.
            for (const delay of delays) expect(delay).toBeLessThanOrEqual(hinted ? MAX_SERVER_DELAY_MS : MAX_BACKOFF_MS);
            if (hinted) expect(delays).toEqual([MAX_SERVER_DELAY_MS, MAX_SERVER_DELAY_MS]);
            expectNothingLeft(await later());
          });
        });

        test('a hang until the client times out: retried, the run completes', async () => {
          await faultScenario({ dependency: 'retail', name: `${endpoint}: hang past the client timeout` }, { clientTimeoutMs: HANG_TIMEOUT_MS }, async ({ h, run, later }) => {
            h.proxies.retail.inject({ path: RETAIL_ENDPOINTS[endpoint], times: 1, fault: { kind: 'hang' } });
            const report = await run();
            expectAllSent(report);
            expect(report.retries[endpoint]).toBe(1);
            expect(h.logs.some((r) => r.message === RETRY_LOG && String(r.fields.reason).includes('timed out'))).toBe(true);
            expectNothingLeft(await later());
          });
        });

        test('a slow answer within the timeout: no retry', async () => {
          await faultScenario({ dependency: 'retail', name: `${endpoint}: slow answer` }, {}, async ({ h, run }) => {
            h.proxies.retail.inject({ path: RETAIL_ENDPOINTS[endpoint], times: 2, fault: { kind: 'slow', delayMs: 40 } });
            const report = await run();
            expectAllSent(report);
            expect(report.retries[endpoint]).toBe(0);
          });
        });
      });
    }

    test('down for good (503 on every cart search): the run fails after 4 attempts, the checkpoint stays, the next run completes', async () => {
      await faultScenario({ dependency: 'retail', name: 'cartSearch: down for good' }, {}, async ({ h, run, later }) => {
        h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.cartSearch, fault: { kind: 'status', status: 503 } });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/POST Carts\/Search failed with HTTP 503.*\(4 attempts\)/);
        // Bounded: each search in flight (the survey reads time slices in parallel) tried MaxAttempts times.
        const searches = report.calls.cartSearch ?? 0;
        expect(searches % MAX_ATTEMPTS).toBe(0);
        expect(searches).toBeLessThanOrEqual(16 * MAX_ATTEMPTS);
        expect(report.retries.cartSearch).toBe((searches / MAX_ATTEMPTS) * (MAX_ATTEMPTS - 1));
        expect(report.checkpoint).toBeUndefined();
        expect(h.emarsys.deliveries).toHaveLength(0);
        expectAllSent(await later());
      });
    });

    test('customers fail for good from the second page on: the first page is sent, the run fails, the next run sends the rest', async () => {
      await faultScenario({ dependency: 'retail', name: 'customers: down for good from page 2' }, {}, async ({ h, run, later }) => {
        h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, skip: 1, fault: { kind: 'reset' } });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/Customers\/GetByAccountNumbers .*could not complete.*\(4 attempts\)/);
        // Bounded: a call per page that completed, then each page that failed (each holds one of the
        // carts not sent, and is the next run's, not counted in this report's pages) tried MaxAttempts times.
        expect(report.calls.customers).toBeLessThanOrEqual(report.pages + (10 - report.carts.notified) * MAX_ATTEMPTS);
        // The first page was sent (it holds less than a page when the survey cut the window there).
        expect(report.carts.notified).toBeGreaterThanOrEqual(PAGE_SIZE - 1);
        const sentFirst = report.carts.notified;
        const rest = await later();
        expect(rest.status).toBe('completed');
        expect(rest.carts.notified + sentFirst).toBe(10);
      });
    });

    test('a 400 is not retried: the run fails at once with the status, the next run completes', async () => {
      await faultScenario({ dependency: 'retail', name: 'products: 400 (not retryable)' }, {}, async ({ h, run, later }) => {
        h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.products, fault: { kind: 'status', status: 400 } });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/POST Products\/Search failed with HTTP 400/);
        expect(report.retries.products).toBe(0);
        expect(h.proxies.retail.stats().injected.status).toBe(report.calls.products);
        expectAllSent(await later());
      });
    });

    test('faults at random (seeded): 30% of the cart searches fail with 503 or a reset; retried, nothing lost or sent twice', async () => {
      // One page at a time: the cart searches are then sequential, and the seeded draws meet the same requests on every run.
      const env = { RetailServerClientOptions__PageConcurrency: '1' };
      await faultScenario({ dependency: 'retail', name: 'cartSearch: 30% 503 or reset, seeded' }, { seed: 20261123, env }, async ({ h, run, later }) => {
        h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.cartSearch, probability: 0.15, fault: { kind: 'status', status: 503 } });
        h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.cartSearch, probability: 0.15, fault: { kind: 'reset' } });
        const report = await run();
        const injected = h.proxies.retail.stats().injectedTotal;
        expect(injected).toBeGreaterThan(0);
        expect(report.retries.cartSearch).toBe(injected);
        expectAllSent(report);
        expectNothingLeft(await later());
      });
    });
  });
}
