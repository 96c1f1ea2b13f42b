import type { RunReport } from '../../../src/job/report';
import type { ProxiedRequest } from '../../../src/simulators/fault-proxy';
import { CART_COUNT, expectAllSent, expectNothingLeft, faultScenario, MAX_ATTEMPTS } from '../support/fault-scenario';

/**
 * The Cosmos DB ledger, through a TLS-terminating proxy in front of the embedded server (and the
 * server's own hooks for what only it can do: throttle single operations of a bulk request). The
 * dangerous faults are the ambiguous ones: a write that landed while its answer was lost, and a
 * claim another run took over while this one was still sending.
 */

interface BulkOperation {
  operationType: string;
  resourceBody?: { status?: string };
}

function isBulk(request: ProxiedRequest): boolean {
  return String(request.headers['x-ms-cosmos-is-batch-request']).toLowerCase() === 'true';
}

function operations(request: ProxiedRequest): BulkOperation[] {
  return isBulk(request) ? (JSON.parse(request.text()) as BulkOperation[]) : [];
}

/** The bulk create that claims new carts. */
const claimWrites = (request: ProxiedRequest) => operations(request).some((op) => op.operationType === 'Create' && op.resourceBody?.status === 'claimed');
/** The bulk replace that records what happened to each send. */
const outcomeWrites = (request: ProxiedRequest) =>
  operations(request).some((op) => op.operationType === 'Replace' && (op.resourceBody?.status === 'sent' || op.resourceBody?.status === 'failed'));
/** A point operation on one document (lease, checkpoint, run record): not a bulk request. */
const pointOperation = (request: ProxiedRequest) => /\/docs/.test(request.path) && !isBulk(request);

const TRIGGER = /\/event\/[^/]+\/trigger(\?|$)/;

export function cosmosFaults(): void {
  describe('Cosmos DB', () => {
    test('429 on single operations of a bulk request (a hot partition): only those are retried, the run completes', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'bulk: 429 per operation (server hook)' }, {}, async ({ h, run, later, countInjected }) => {
        h.cosmos.throttleOperations(3);
        countInjected('cosmos-429-per-operation', 3);
        const report = await run();
        expectAllSent(report);
        expect(report.retries.store).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('claims throttled on every attempt while nothing else is written: failed for the run after MaxAttempts, unsent; the next run sends them', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'bulk: 2 claims throttled on every attempt' }, {}, async ({ h, run, later, countInjected }) => {
        // The first two notifications the run writes, whatever their ids, refused on each attempt.
        const victims = new Set<string>();
        let refused = 0;
        h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => {
          if (!documentId.startsWith('cart-')) return false;
          if (victims.size < 2) victims.add(documentId);
          if (victims.has(documentId)) refused++;
          return victims.has(documentId);
        });
        // One page at a time, so no other write goes through while they are retried: a round in
        // which the container took nothing counts as an attempt (tests/store/throttled-container.test.ts
        // has a container that takes writes at its own pace).
        const report = await run({}, { RetailServerClientOptions__PageConcurrency: '1' });
        expect(refused).toBe(2 * MAX_ATTEMPTS);
        countInjected('cosmos-429-per-operation', refused);
        expect(report.status).toBe('completed');
        expect(report.carts).toMatchObject({ notified: CART_COUNT - 2, failed: 2 });
        expect(report.failures).toEqual([{ reason: `ledger: cosmos HTTP 429 after ${MAX_ATTEMPTS} attempts: the container needs more throughput (RU/s), or autoscale`, count: 2 }]);
        expect(report.failuresByDependency).toEqual({ store: 2 });
        expect(h.emarsys.deliveries).toHaveLength(CART_COUNT - 2);
        // The checkpoint waited for them: the next run claims and sends exactly those two.
        const next = await later();
        expect(next.carts).toMatchObject({ notified: 2, failed: 0 });
        expectNothingLeft(await later());
      });
    });

    test.each<{ label: string; status: number; headers: Record<string, string> }>([
      { label: '429 with x-ms-retry-after-ms', status: 429, headers: { 'x-ms-retry-after-ms': '1' } },
      { label: '503', status: 503, headers: {} },
    ])('a whole bulk request answered $label, twice: retried, the run completes', async ({ label, status, headers }) => {
      await faultScenario({ dependency: 'cosmos', name: `bulk: ${label} x2` }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ match: isBulk, times: 2, fault: { kind: 'status', status, headers, body: JSON.stringify({ code: String(status), message: 'injected' }) } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.store).toBeGreaterThanOrEqual(1);
        expect(h.proxies.cosmos.stats().injectedTotal).toBe(2);
        expectNothingLeft(await later());
      });
    });

    test('503 on point operations (lease, checkpoint), twice: retried, the run completes', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'point: 503 x2' }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ match: pointOperation, times: 2, fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.store).toBe(2);
        expectNothingLeft(await later());
      });
    });

    test.each([
      { label: 'a truncated bulk answer', match: isBulk, fault: { kind: 'truncate' as const } },
      { label: 'a bulk answer cut in the middle', match: isBulk, fault: { kind: 'reset' as const, when: 'mid-body' as const } },
      { label: 'a point answer cut in the middle (the lease create landed)', match: pointOperation, fault: { kind: 'reset' as const, when: 'mid-body' as const } },
      { label: 'malformed JSON with 200 on a point read', match: pointOperation, fault: { kind: 'malformed-json' as const } },
    ])('$label: retried as passing, the run completes', async ({ label, match, fault }) => {
      await faultScenario({ dependency: 'cosmos', name: `${label}` }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ match, times: 1, fault });
        const report = await run();
        expectAllSent(report);
        expect(report.retries.store).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('the claims land but their answer is lost: the retry meets 409 from itself, reads back its own claim, sends once', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'bulk: claim answer lost after the write' }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ match: claimWrites, times: 1, fault: { kind: 'reset', when: 'after-forward' } });
        const report = await run();
        expectAllSent(report);
        expect(h.logs.filter((r) => r.message === 'Cosmos DB write applied by an earlier, timed-out try').length).toBeGreaterThanOrEqual(1);
        expect(h.emarsys.duplicatesDropped).toBe(0);
        expectNothingLeft(await later());
      });
    });

    test('the outcomes land but their answer is lost: the retry meets 412 from itself, reads back, the run completes', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'bulk: outcome answer lost after the write' }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ match: outcomeWrites, times: 1, fault: { kind: 'reset', when: 'after-forward' } });
        const report = await run();
        expectAllSent(report);
        expect(h.logs.filter((r) => r.message === 'Cosmos DB write applied by an earlier, timed-out try').length).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('the server cuts the connection after serving a bulk request (its own hook, behind the proxy): retried, the run completes', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'bulk: dropped response (server hook)' }, {}, async ({ h, run, later, countInjected }) => {
        h.cosmos.dropResponses(2, (request) => request.batch);
        countInjected('cosmos-dropped-response', 2);
        const report = await run();
        expectAllSent(report);
        expect(report.retries.store).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('a slower ledger (15 ms on every request): no retry, the run completes', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'latency 15 ms' }, {}, async ({ h, run }) => {
        h.proxies.cosmos.setLatency(15);
        const report = await run();
        expectAllSent(report);
        expect(report.retries.store).toBe(0);
        h.proxies.cosmos.setLatency(0);
      });
    });

    test('a 412 race: while run A waits on Emarsys past the claim timeout, run B takes over its lease and claims and sends; A\u2019s outcome write meets 412 and A stops', async () => {
      // OAuth 2.0: a bearer token outlives the stall, where a WSSE header signed 16 minutes earlier
      // would be refused for its age and the race would not reach the ledger.
      await faultScenario({ dependency: 'cosmos', name: '412 race: claims taken over during a send' }, { emarsysAuth: 'oauth2' }, async ({ h, run, later, countInjected }) => {
        let raced: RunReport | undefined;
        let held = 0;
        h.proxies.emarsys.inject({
          path: TRIGGER,
          times: 1,
          before: async (request) => {
            held = (JSON.parse(request.text()) as { contacts: unknown[] }).contacts.length;
            h.clock.advanceMinutes(16); // run A is now older than ClaimTimeoutMinutes (15)
            raced = await run();
            countInjected('cosmos-412-race');
          },
        });
        const a = await run();
        // B sent at least the batch A was holding (pages A finished meanwhile are already-notified).
        expect(raced?.carts.notified).toBeGreaterThanOrEqual(held);
        expect((raced?.carts.notified ?? 0) + (raced?.carts.skippedByReason['already-notified'] ?? 0)).toBe(CART_COUNT);
        expect(a.status).toBe('failed');
        expect(a.error).toMatch(/lost the lease/);
        const lostWrites = h.logs.filter((r) => r.message === 'Cosmos DB did not record the outcomes of reminders; a later run will settle them');
        expect(lostWrites.length).toBeGreaterThanOrEqual(1);
        expect(lostWrites.every((r) => r.fields.reason === 'conflict' && r.fields.byReason === undefined)).toBe(true);
        // A's send reached Emarsys after B's: the same trigger ids, dropped.
        expect(h.emarsys.duplicatesDropped).toBeGreaterThanOrEqual(1);
        expectNothingLeft(await later());
      });
    });

    test('a run longer than its lease renews it as it goes: a run started after the first lease would have run out finds the unit busy', async () => {
      // One page at a time, and each send takes 6 of the lease's 15 minutes (OAuth 2.0: a bearer
      // token outlives the stalls, where a WSSE header would be refused for its age).
      await faultScenario({ dependency: 'cosmos', name: 'lease: renewed during a long run' }, { emarsysAuth: 'oauth2' }, async ({ h, run, later }) => {
        let sends = 0;
        let raced: RunReport | undefined;
        h.proxies.emarsys.inject({
          path: TRIGGER,
          before: async () => {
            sends++;
            h.clock.advanceMinutes(6);
            // 18 minutes in: the lease taken at the start would have expired at 15.
            if (sends === 3) raced = await run();
          },
        });
        // Its time limit raised past the run's length: this is about the lease, not MaxRunMinutes.
        const a = await run({}, { RetailServerClientOptions__PageConcurrency: '1', RetailServerClientOptions__MaxRunMinutes: '120' });
        expect(sends).toBeGreaterThanOrEqual(3);
        expect(raced?.status).toBe('unit-busy');
        expectAllSent(a);
        expectNothingLeft(await later());
      });
    });

    test('the outcome writes fail for good after the sends: claims stay, a run within the claim timeout leaves them alone, a run after it takes them over and Emarsys drops the repeats', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'bulk: outcome writes down for good' }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ match: outcomeWrites, fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
        const report = await run();
        expect(report.status).toBe('completed');
        expect(h.emarsys.deliveries).toHaveLength(CART_COUNT);
        // Sent but not recorded: not final, so the checkpoint does not move past them.
        expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T05:00:00.000Z');
        // Bounded: each outcome bulk request tried MaxAttempts times.
        const outcomeRequests = h.proxies.cosmos.stats().injected.status;
        expect(outcomeRequests).toBeLessThanOrEqual(report.pages * MAX_ATTEMPTS);
        const soon = await later(5);
        expect(soon.carts).toMatchObject({ notified: 0, skippedByReason: { 'claimed-by-another-run': CART_COUNT } });
        const after = await later(30);
        expect(after.carts).toMatchObject({ notified: CART_COUNT, failed: 0 });
        expect(h.emarsys.duplicatesDropped).toBe(CART_COUNT);
        expectNothingLeft(await later());
      });
    });

    test('down for good (503 on every request): the run fails within a bounded number of requests, the next run completes', async () => {
      await faultScenario({ dependency: 'cosmos', name: 'everything: down for good' }, {}, async ({ h, run, later }) => {
        h.proxies.cosmos.inject({ fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
        const report = await run();
        expect(report.status).toBe('failed');
        expect(report.error).toMatch(/Cosmos DB .* failed \(HTTP 503/);
        expect(h.proxies.cosmos.stats().requests).toBeLessThanOrEqual(4 * MAX_ATTEMPTS);
        expect(h.emarsys.deliveries).toHaveLength(0);
        expectAllSent(await later());
      });
    });
  });
}
