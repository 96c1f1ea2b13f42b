import type { JobRequest } from '../../../src/job/run-abandoned-cart-job';
import type { RunReport } from '../../../src/job/report';
import type { FaultKind } from '../../../src/simulators/fault-proxy';
import { buildSimulatorData, cartRecord, customerRecord, productRecord, type SimulatorData } from '../../../src/simulators/retail-server';
import { fastRetry } from '../../support/harness';
import { startFaultHarness, type Dependency, type FaultHarness, type FaultHarnessOptions } from '../../support/fault-harness';
import { recordScenario, retriesByDependency, type InjectedKind } from './fault-figures';

/**
 * One fault scenario from start to finish: a store of ten carts over three pages, the harness
 * with a proxy in front of every dependency, a warm-up run (so the faults meet a run in full
 * flight, not the creation of the database), the faulted run(s) the test drives, and then the
 * promise checked on what Emarsys received: every cart that should reach a customer did, exactly
 * once, whatever the faults did to the runs in between.
 */

export const NOW = '2026-11-23T12:00:00Z';
export const PAGE_SIZE = 4;
export const CART_COUNT = 10;
export const BASE_ENV: Record<string, string> = { RetailServerClientOptions__PageSize: String(PAGE_SIZE) };

/** Ten carts, ten minutes apart from 05:00, one customer each; with pages of 4 that is 4 + 4 + 2. */
export function storeData(): SimulatorData {
  return buildSimulatorData({
    customers: Array.from({ length: CART_COUNT }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1), productRecord(2)],
    carts: Array.from({ length: CART_COUNT }, (_, i) =>
      cartRecord({
        id: `cart-${i}`,
        customerId: `C${i}`,
        modifiedDateTime: new Date(Date.parse('2026-11-23T05:00:00Z') + i * 10 * 60_000).toISOString(),
        lines: [{ productId: 1 + (i % 2), quantity: 1 + i }],
      }),
    ),
  });
}

export const ALL_CARTS: readonly string[] = Array.from({ length: CART_COUNT }, (_, i) => `cart-${i}`);
/** The email of cart i's customer (customerRecord's default). */
export const emailOf = (i: number): string => `c${i}@example.com`;

/** A window before every cart: the warm-up run creates the database and warms the clients, and touches no cart. */
const WARM_UP: Partial<JobRequest> = { from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-23T00:10:00Z') };

export interface ScenarioContext {
  h: FaultHarness;
  /** Every report of the scenario's runs, in order (the warm-up excluded). */
  reports: RunReport[];
  run(request?: Partial<JobRequest>, extraEnv?: Record<string, string>): Promise<RunReport>;
  /** The later run: faults cleared, the clock moved on (30 minutes by default, more than a claim's timeout). */
  later(minutes?: number): Promise<RunReport>;
  /** Faults that no proxy counts (the Cosmos server's own hooks, token revocation). */
  countInjected(kind: InjectedKind, count?: number): void;
  /** Carts whose eligible reminder ended failed for good, with a reason: not expected at Emarsys. */
  failedForGood(...cartIds: string[]): void;
}

export interface ScenarioOptions extends FaultHarnessOptions {
  /** Skip the warm-up (for faults that must meet the first contact with a dependency). */
  cold?: boolean;
}

export async function faultScenario(
  meta: { dependency: Dependency; name: string },
  options: ScenarioOptions,
  body: (context: ScenarioContext) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  const h = await startFaultHarness({ now: NOW, data: storeData(), ...options, env: { ...BASE_ENV, ...options.env } });
  const reports: RunReport[] = [];
  const extra: Partial<Record<InjectedKind, number>> = {};
  const givenUp = new Set<string>();
  try {
    if (!options.cold) {
      const warmUp = await h.run(WARM_UP);
      expect(warmUp.status).toBe('completed');
      for (const proxy of Object.values(h.proxies)) proxy.resetStats();
      h.cosmos.resetRequests();
    }
    const context: ScenarioContext = {
      h,
      reports,
      async run(request = {}, extraEnv = {}) {
        const report = await h.run(request, extraEnv);
        reports.push(report);
        return report;
      },
      async later(minutes = 30) {
        h.clearFaults();
        h.clock.advanceMinutes(minutes);
        return context.run();
      },
      countInjected(kind, count = 1) {
        extra[kind] = (extra[kind] ?? 0) + count;
      },
      failedForGood(...cartIds) {
        for (const id of cartIds) givenUp.add(id);
      },
    };
    await body(context);
    const outcome = checkDeliveries(h, givenUp);
    const injected: Partial<Record<InjectedKind, number>> = { ...extra };
    for (const proxy of Object.values(h.proxies)) {
      for (const [kind, count] of Object.entries(proxy.stats().injected) as [FaultKind, number][]) {
        if (count > 0) injected[kind] = (injected[kind] ?? 0) + count;
      }
    }
    recordScenario({
      dependency: meta.dependency,
      scenario: meta.name,
      injected,
      runs: reports.length,
      failedRuns: reports.filter((r) => r.status === 'failed').length,
      retries: retriesByDependency(reports),
      cartFailures: reports.reduce((sum, r) => sum + r.carts.failed, 0),
      ...outcome,
      durationMs: Date.now() - started,
    });
  } finally {
    await h.close();
  }
}

/**
 * The promise, checked on Emarsys' side: each expected cart delivered exactly once, no other cart
 * delivered, nothing delivered twice. Returns the tallies for the figures.
 */
function checkDeliveries(h: FaultHarness, givenUp: ReadonlySet<string>) {
  const perTrigger = new Map<string, number>();
  const deliveredCarts = new Set<string>();
  for (const delivery of h.emarsys.deliveries) {
    perTrigger.set(delivery.triggerId, (perTrigger.get(delivery.triggerId) ?? 0) + 1);
    deliveredCarts.add(String(delivery.data.cartId));
  }
  const expected = ALL_CARTS.filter((id) => !givenUp.has(id));
  const duplicates = [...perTrigger.values()].reduce((sum, count) => sum + count - 1, 0);
  const lost = expected.filter((id) => !deliveredCarts.has(id));
  expect({ duplicates, lost, unexpected: [...deliveredCarts].filter((id) => !expected.includes(id)).sort() }).toEqual({
    duplicates: 0,
    lost: [],
    unexpected: [],
  });
  return {
    expected: expected.length,
    delivered: deliveredCarts.size,
    duplicates,
    lost: lost.length,
    failedForGood: givenUp.size,
    duplicatesDropped: h.emarsys.duplicatesDropped,
  };
}

/** The run finished everything: every cart sent, nothing failed. */
export function expectAllSent(report: RunReport, notified = CART_COUNT): void {
  expect({ status: report.status, error: report.error, failures: report.failures }).toEqual({ status: 'completed', error: undefined, failures: [] });
  expect(report.carts.notified).toBe(notified);
}

/** A later run that found nothing left to do. */
export function expectNothingLeft(report: RunReport): void {
  expect(report.status).toBe('completed');
  expect(report.carts).toMatchObject({ notified: 0, failed: 0 });
}

/**
 * The delays the clients waited before their retries, from their log lines: each within the
 * policy, and the server's own hint used when it gave one (capped at maxServerDelayMs).
 */
export function retryDelays(h: FaultHarness, message: string): number[] {
  return h.logs.filter((record) => record.message === message).map((record) => Number(record.fields?.delayMs));
}

export const MAX_BACKOFF_MS = fastRetry.maxDelayMs;
export const MAX_SERVER_DELAY_MS = fastRetry.maxServerDelayMs;
export const MAX_ATTEMPTS = fastRetry.maxAttempts;
/**
 * The clients' timeout in the scenarios that hang: every other request of the run (through a
 * proxy, over TLS twice) must be answered within it. At 250 ms a loaded CI worker timed out
 * requests the proxy had answered, and the runs counted retries the fault did not cause. A hung
 * request still ends only by this timeout, so each hang costs the scenario 2 s.
 */
export const HANG_TIMEOUT_MS = 2_000;
