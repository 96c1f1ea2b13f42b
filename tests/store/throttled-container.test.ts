import { randomUUID } from 'node:crypto';
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies } from '../../src/runtime/create-dependencies';
import { AdaptiveConcurrency } from '../../src/shared/adaptive-concurrency';
import type { Clock } from '../../src/shared/clock';
import { createLogger } from '../../src/shared/logger';
import { OperationsPerSecond } from '../../src/simulators/cosmos-throttle';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { MAX_STARVED_ROUNDS } from '../../src/store/cosmos-bulk';
import { notificationId } from '../../src/store/ledger';
import { startHarness, type Harness } from '../support/harness';
import { claim, fastRetries, openLedger, startCosmosServer } from './fixture';

describe('AdaptiveConcurrency', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  test('lets `limit` calls in at once; the others wait and start in arrival order', async () => {
    const limit = new AdaptiveConcurrency({ initial: 2, min: 1, max: 8 });
    const started: number[] = [];
    const slots = [0, 1, 2, 3].map((i) => limit.acquire().then((slot) => (started.push(i), slot)));
    await tick();
    expect(started).toEqual([0, 1]);
    limit.release(await (slots[0] as Promise<{ generation: number }>), false);
    await tick();
    expect(started).toEqual([0, 1, 2]);
  });

  test('grows by about one per round of unthrottled calls, and halves once per round of throttled ones', async () => {
    const limit = new AdaptiveConcurrency({ initial: 8, min: 1, max: 64 });
    for (let i = 0; i < 8; i++) limit.release(await limit.acquire(), false);
    expect(limit.limit).toBe(8); // 8 + 8 x 1/8.x: just under 9
    for (let i = 0; i < 9; i++) limit.release(await limit.acquire(), false);
    expect(limit.limit).toBe(9);

    // Nine calls in flight, all throttled: one cut, since they were all sent under the old limit.
    const inFlight = await Promise.all(Array.from({ length: 9 }, () => limit.acquire()));
    for (const slot of inFlight) limit.release(slot, true);
    expect(limit.limit).toBe(4);
    expect(limit.decreases).toBe(1);
    // A call sent after the cut and throttled again cuts again: 4.9 -> 2.5 -> 1.2 -> 1, the minimum.
    for (let i = 0; i < 5; i++) limit.release(await limit.acquire(), true);
    expect(limit.limit).toBe(1);
    expect(limit.decreases).toBe(4);
  });

  test('a throttled call holds its place a while, so the next call waits that long', async () => {
    const limit = new AdaptiveConcurrency({ initial: 1, min: 1, max: 4 });
    const first = await limit.acquire();
    let secondStarted = false;
    const second = limit.acquire().then(() => (secondStarted = true));
    limit.release(first, true, 40);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(secondStarted).toBe(false);
    await second;
    expect(secondStarted).toBe(true);
  });

  test('refuses limits that cannot work', () => {
    expect(() => new AdaptiveConcurrency({ initial: 0, min: 1, max: 4 })).toThrow(/1 <= min <= initial <= max/);
  });
});

/**
 * A container short of throughput: the Cosmos stand-in refuses, with 429, every notification
 * operation beyond `rate` a second (a token bucket holding one second's worth, as a provisioned
 * container's RU/s). The run must go at the container's pace and finish the window, not fail carts
 * whose claims ran out of attempts and leave them, and all the carts after them, to later runs.
 */
describe('a container that takes fewer operations a second than the run asks', () => {
  const CARTS = 500;
  const RATE = 300;
  const START = Date.parse('2026-11-23T04:00:00Z');
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      now: '2026-11-23T12:00:00Z',
      data: buildSimulatorData({
        customers: Array.from({ length: CARTS }, (_, i) => customerRecord(`C${i}`)),
        products: [productRecord(1)],
        carts: Array.from({ length: CARTS }, (_, i) =>
          cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 30_000).toISOString(), lines: [{ productId: 1 }] }),
        ),
      }),
    });
  });
  afterEach(() => h.close());

  /** The stand-in takes `rate` notification operations a second, a second's worth saved up at most. */
  function limitContainer(rate: number): OperationsPerSecond {
    const limit = new OperationsPerSecond(rate);
    h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => documentId.startsWith('cart-') && !limit.take());
    return limit;
  }

  /** Real waits, the pace being what is under test; retries ten times quicker than production's,
   * so that five attempts pass within these small runs (they do within a real backlog). */
  function dependencies(clock: Clock = h.clock, env: Record<string, string> = {}) {
    return createJobDependencies({
      settings: h.settings({ RetailServerClientOptions__PageSize: '50', ...env }),
      env: h.secretsEnv,
      logger: createLogger(() => undefined, 'error'),
      clock,
      retryPolicy: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1_500, maxServerDelayMs: 6_000 },
    });
  }

  test('one run notifies every cart with exactly two writes each; the next run finds nothing', async () => {
    const counts = limitContainer(RATE);
    const started = performance.now();
    const report = await runAbandonedCartJob(await dependencies(), { trigger: 'cli' });
    const seconds = (performance.now() - started) / 1000;

    expect(report.status).toBe('completed');
    expect(report.carts).toMatchObject({ seen: CARTS, notified: CARTS, failed: 0 });
    expect(report.checkpoint?.lastModifiedAt).toBe(report.window.to);
    expect(h.emarsys.deliveries).toHaveLength(CARTS);
    // The container was the limit: it refused operations, and took each claim and outcome once.
    expect(counts.refused).toBeGreaterThan(0);
    expect(counts.accepted).toBe(2 * CARTS);
    expect(report.retries.store).toBeGreaterThan(0);
    // At its pace: 1,000 operations at 300 a second take 3.3 s at least (the bucket starts empty,
    // so this is a true minimum, whatever the machine's load).
    expect(seconds).toBeGreaterThanOrEqual(3.3);

    h.clock.advanceMinutes(30);
    const next = await h.run();
    expect(next.carts.seen).toBe(0);
    expect(h.emarsys.deliveries).toHaveLength(CARTS);
    // The figures README's Deploying section quotes.
    console.log(
      `throttled-container: ${CARTS} carts, a container taking ${RATE} operations a second: one run of ${seconds.toFixed(1)} s, ` +
        `${report.carts.notified} notified, ${report.carts.failed} failed, ${counts.accepted} writes taken, ${counts.refused} refused with 429`,
    );
  });

  test('a run past its time limit and the minute after it stops waiting on the container; the next run finishes the window', async () => {
    // 40 operations a second: the whole window would take 25 s. Past the first reminder the clock
    // is 10 minutes on, beyond MaxRunMinutes (8) and the minute the pages in flight are given.
    limitContainer(40);
    const clock: Clock = { now: () => new Date(h.clock.now().getTime() + (h.emarsys.deliveries.length > 0 ? 10 * 60_000 : 0)) };
    const report = await runAbandonedCartJob(await dependencies(clock, { RetailServerClientOptions__PageConcurrency: '2' }), { trigger: 'cli' });

    expect(report.status).toBe('completed');
    expect(report.remaining).toBeDefined();
    // The pages in flight gave up on what the container still refused, instead of waiting for it
    // (about 3 s here, against the 25 s waiting would take; no clock is read for that).
    expect(report.failures.some(({ reason }) => /cosmos HTTP 429/.test(reason))).toBe(true);
    const sentFirst = new Set(h.emarsys.deliveries.map((d) => d.triggerId)).size;
    expect(sentFirst).toBeLessThan(CARTS);

    // The container recovers; later runs (past the claim timeout) send the rest, nobody twice.
    h.cosmos.clearFaults();
    for (let run = 0; run < 3 && new Set(h.emarsys.deliveries.map((d) => d.triggerId)).size < CARTS; run++) {
      h.clock.advanceMinutes(30);
      await h.run({}, { RetailServerClientOptions__MaxRunMinutes: '60' });
    }
    const delivered = h.emarsys.deliveries.map((d) => String(d.data.cartId));
    expect(new Set(delivered).size).toBe(CARTS);
    expect(delivered).toHaveLength(CARTS);
  });
});

describe('an operation the container refuses every time while it takes others (a partition that never cools)', () => {
  test('is retried while others go through, without using up its attempts, and given up on after MAX_STARVED_ROUNDS', async () => {
    const server = await startCosmosServer();
    const fixture = await openLedger(server);
    try {
      const victim = claim();
      let refused = 0;
      server.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => {
        if (documentId !== victim.id) return false;
        refused++;
        return true;
      });
      let done = false;
      const starved = fixture.ledger.createNotifications([victim]).finally(() => (done = true));
      // Another run's writes keep going through meanwhile.
      const others: string[] = [];
      while (!done) {
        const [result] = await fixture.ledger.createNotifications([claim()]);
        others.push(result?.status ?? 'none');
      }
      const [outcome] = await starved;

      expect(outcome).toMatchObject({ status: 'error', retryable: true });
      expect(outcome?.status === 'error' && outcome.reason).toMatch(/cosmos HTTP 429/);
      // More tries than its attempts allow (rounds in which others went through did not count), and bounded.
      expect(refused).toBeGreaterThan(fastRetries.maxAttempts);
      expect(refused).toBeLessThanOrEqual(1 + MAX_STARVED_ROUNDS + fastRetries.maxAttempts);
      expect(others.length).toBeGreaterThan(0);
      expect(others.every((status) => status === 'ok')).toBe(true);
    } finally {
      await fixture.close();
      await server.close();
    }
  }, 30_000);
});

describe('a claim that meets a record whose read stays throttled past its retries', () => {
  let h: Harness;
  afterEach(() => h.close());

  /** C2 already has a retryable failure from an earlier run; every read of its record after the run's create (when it makes one) is throttled. */
  async function setUp(creates = 1): Promise<{ c2: string; refused: () => number }> {
    h = await startHarness({
      now: '2026-11-23T12:00:00Z',
      data: buildSimulatorData({
        customers: [customerRecord('C1'), customerRecord('C2'), customerRecord('C3')],
        products: [productRecord(1)],
        carts: ['C1', 'C2', 'C3'].map((customer, i) => cartRecord({ id: `cart-${customer}`, customerId: customer, modifiedDateTime: `2026-11-23T0${5 + i}:00:00Z`, lines: [{ productId: 1 }] })),
      }),
    });
    const c2 = notificationId('cart-C2', new Date('2026-11-23T06:00:00Z'));
    const ledger = await h.ledger();
    const [written] = await ledger.createNotifications([
      {
        id: c2,
        type: 'notification',
        operatingUnitNumber: '128',
        cartId: 'cart-C2',
        cartModifiedAt: '2026-11-23T06:00:00.000Z',
        customerId: 'C2',
        status: 'failed',
        reason: 'Emarsys: timed out',
        retryable: true,
        runId: randomUUID(),
        attempts: 1,
        claimedAt: '2026-11-23T10:00:00.000Z',
        updatedAt: '2026-11-23T10:00:00.000Z',
      },
    ]);
    expect(written).toMatchObject({ status: 'ok' });
    let seen = 0;
    let refused = 0;
    h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (id) => {
      if (id !== c2 || ++seen <= creates) return false;
      refused++;
      return true;
    });
    return { c2, refused: () => refused };
  }

  test('that cart fails for the run (not for good); the page\'s other carts are sent, and the next run sends it', async () => {
    const { c2, refused } = await setUp();
    const report = await h.run();
    expect(refused()).toBeGreaterThan(0);
    expect({ status: report.status, notified: report.carts.notified, failed: report.carts.failed }).toEqual({ status: 'completed', notified: 2, failed: 1 });
    expect(JSON.stringify(report)).toContain('ledger: record not read (cosmos HTTP 429');
    expect(h.emarsys.deliveries).toHaveLength(2);

    // Once the container takes the read, the next run takes the record over and sends it.
    h.cosmos.clearFaults();
    h.clock.advanceMinutes(30);
    const next = await h.run();
    expect(next.carts.notified).toBe(1);
    expect(h.emarsys.deliveries).toHaveLength(3);
    const stored = await (await h.ledger()).getNotifications([c2]);
    expect(stored.get(c2)?.record).toMatchObject({ status: 'sent', attempts: 2 });
  });

  test('a dry run counts that cart as failed, not as one it would send', async () => {
    await setUp(0);
    const report = await h.run({ dryRun: true });
    expect({ status: report.status, failed: report.carts.failed }).toEqual({ status: 'completed', failed: 1 });
    expect(JSON.stringify(report)).toContain('ledger: record not read (cosmos HTTP 429');
  });
});
