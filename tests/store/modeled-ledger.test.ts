import { randomUUID } from 'node:crypto';
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies } from '../../src/runtime/create-dependencies';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { ModeledLedger } from '../../src/store/modeled-ledger';
import {
  LeaseLostError,
  type Lease,
  type LeaseResult,
  type LedgerStats,
  type NotificationLedger,
  type NotificationRecord,
  type StoredNotification,
  type WriteResult,
} from '../../src/store/ledger';
import { fastRetry, startHarness } from '../support/harness';
import { claim, openLedger, runReport, startCosmosServer, type LedgerFixture } from './fixture';
import type { CosmosTestServer } from '../support/cosmos-server';

/**
 * The modeled ledger stands in for Cosmos DB in the benchmark, so it must cost what CosmosLedger
 * costs: the same requests, reads and writes for the same calls, and the same answers. Each
 * scenario below runs against both and compares them step by step.
 */

let server: CosmosTestServer;
beforeAll(async () => {
  server = await startCosmosServer();
});
afterAll(async () => {
  await server.close();
});

const MINUTE = 60_000;
const T0 = new Date('2024-05-01T10:00:00.000Z');

interface Step {
  name: string;
  /** What the call answered, without etags or anything else that differs by implementation. */
  answer: unknown;
  cost: Omit<LedgerStats, 'retries'>;
}

function cost(before: LedgerStats, after: LedgerStats): Step['cost'] {
  return { requests: after.requests - before.requests, reads: after.reads - before.reads, writes: after.writes - before.writes };
}

const statuses = (results: readonly WriteResult[]) => results.map((r) => r.status);
const etags = (results: readonly WriteResult[]) => results.map((r) => (r.status === 'ok' ? r.etag : 'none'));
const leaseAnswer = (result: LeaseResult) => (result.acquired ? { acquired: true, runId: result.lease.runId } : { acquired: false, heldBy: result.heldByRunId });
const held = (result: LeaseResult): Lease => {
  if (!result.acquired) throw new Error(`expected the lease, held by ${result.heldByRunId}`);
  return result.lease;
};
const recordsOf = (found: Map<string, StoredNotification>) => [...found.values()].map(({ record }) => record);

/**
 * Two pages of a run and what overlapping runs do to it, against one ledger: the lease taken and
 * refused, reads of ids stored and not, claims with conflicts and refused records, outcomes with
 * fresh and stale etags, 1,000-operation bulks, a renewal after a lost answer, a lease taken over
 * when expired, checkpoints and runs.
 */
interface ScriptInput {
  records: NotificationRecord[];
  pageTwo: NotificationRecord[];
  runA: string;
  runB: string;
}

async function script(ledger: NotificationLedger, { records, pageTwo, runA, runB }: ScriptInput): Promise<Step[]> {
  const steps: Step[] = [];
  const step = async <T>(name: string, call: () => Promise<T>, answer: (value: T) => unknown): Promise<T> => {
    const before = ledger.stats();
    const value = await call();
    steps.push({ name, answer: answer(value), cost: cost(before, ledger.stats()) });
    return value;
  };

  await step('checkpoint before any run', () => ledger.getCheckpoint('128', 1), (c) => c ?? 'absent');
  const leaseA = held(await step('run A takes the lease', () => ledger.acquireLease('128', runA, T0, 15 * MINUTE), leaseAnswer));
  await step('run B finds it held', () => ledger.acquireLease('128', runB, T0, 15 * MINUTE), leaseAnswer);

  const ids = records.map((r) => r.id);
  await step('page 1: read 250 ids, none stored', () => ledger.getNotifications(ids), (found) => found.size);
  const claims = records.slice(0, 230);
  const created = await step('page 1: claim 230', () => ledger.createNotifications(claims), statuses);
  await step('a second claim of 5 of them, and 2 new', () => ledger.createNotifications([...claims.slice(0, 5), ...records.slice(230, 232)]), statuses);
  await step(
    'refused before sending: an id Cosmos forbids, a record that does not parse; one valid',
    () =>
      ledger.createNotifications([
        { ...records[240]!, id: 'bad/id' },
        { ...records[241]!, attempts: -1 },
        records[242]!,
      ]),
    statuses,
  );
  const outcomes: StoredNotification[] = claims.map((record, i) => ({ record: { ...record, status: 'sent', sentAt: record.claimedAt }, etag: etags(created)[i]! }));
  await step('page 1: outcomes of 200, against their claims', () => ledger.replaceNotifications(outcomes.slice(0, 200)), statuses);
  await step(
    'stale etags, and a record never created',
    () => ledger.replaceNotifications([...outcomes.slice(0, 3), { record: records[245]!, etag: etags(created)[0]! }]),
    statuses,
  );
  await step('read back, with repeats and an impossible id', () => ledger.getNotifications([...ids, ...ids.slice(0, 40), 'no/such']), recordsOf);

  const checkpoint = { operatingUnitNumber: '128', channelId: 1, lastModifiedAt: '2024-05-01T09:00:00.000Z', cartIdsAtLastModified: ['c1'], runId: runA, updatedAt: T0.toISOString() };
  await step('save the checkpoint', () => ledger.saveCheckpoint(checkpoint), () => 'saved');
  await step('read it back', () => ledger.getCheckpoint('128', 1), (c) => c);
  await step('renew after page 1', () => ledger.renewLease(leaseA, new Date(T0.getTime() + MINUTE), 15 * MINUTE), (l) => l.runId);

  await step('page 2: read 1,000', () => ledger.getNotifications(pageTwo.map((r) => r.id)), (found) => found.size);
  const createdTwo = await step('page 2: claim 1,000', () => ledger.createNotifications(pageTwo), statuses);
  await step(
    'page 2: 1,000 outcomes',
    () => ledger.replaceNotifications(pageTwo.map((record, i) => ({ record: { ...record, status: 'failed', reason: 'x', retryable: true }, etag: etags(createdTwo)[i]! }))),
    statuses,
  );

  // Renewing with the lease as it was before the last renewal: 412, read, still ours, renew.
  const again = await step('renew on an old etag of our own lease', () => ledger.renewLease(leaseA, new Date(T0.getTime() + 2 * MINUTE), 15 * MINUTE), (l) => l.runId);
  const leaseB = held(await step('run B takes the expired lease over', () => ledger.acquireLease('128', runB, new Date(T0.getTime() + 30 * MINUTE), 15 * MINUTE), leaseAnswer));
  await step(
    'run A has lost it',
    () => ledger.renewLease(again, new Date(T0.getTime() + 31 * MINUTE), 15 * MINUTE).then(() => 'renewed', (error: unknown) => (error instanceof LeaseLostError ? 'lost' : String(error))),
    (outcome) => outcome,
  );
  await step('run A releases what it no longer holds', () => ledger.releaseLease(again), () => 'released');
  await step('run B still holds it', () => ledger.acquireLease('128', runA, new Date(T0.getTime() + 32 * MINUTE), 15 * MINUTE), leaseAnswer);
  await step('run B releases it', () => ledger.releaseLease(leaseB), () => 'released');
  await step('free again', () => ledger.acquireLease('128', runA, new Date(T0.getTime() + 33 * MINUTE), 15 * MINUTE), leaseAnswer);

  const report = runReport({ runId: runA });
  await step('save the run', () => ledger.saveRun(report), () => 'saved');
  await step('read the run', () => ledger.getRun(runA), (r) => r);
  await step('a run id that is not a UUID is not looked up', () => ledger.getRun('not-a-run'), (r) => r ?? 'absent');
  return steps;
}

describe('ModeledLedger costs and answers what CosmosLedger does', () => {
  let fixture: LedgerFixture;
  beforeEach(async () => {
    fixture = await openLedger(server);
  });
  afterEach(() => fixture.close());

  test('the same calls: identical requests, reads, writes and answers, step by step', async () => {
    const input: ScriptInput = {
      records: Array.from({ length: 250 }, () => claim()),
      pageTwo: Array.from({ length: 1000 }, () => claim()),
      runA: randomUUID(),
      runB: randomUUID(),
    };
    const cosmos = await script(fixture.ledger, input);
    const modeled = await script(new ModeledLedger({ latencyMs: 0 }), input);

    expect(modeled).toEqual(cosmos);
    // The scenario is what it says: the first bulk pays the partition key range lookup, 250 ids are 3 requests.
    expect(cosmos.find((s) => s.name.startsWith('page 1: read'))?.cost).toEqual({ requests: 4, reads: 250, writes: 0 });
    expect(cosmos.find((s) => s.name.startsWith('page 2: claim'))?.cost).toEqual({ requests: 10, reads: 0, writes: 1000 });
    expect(cosmos.find((s) => s.name.startsWith('refused'))?.answer).toEqual(['error', 'error', 'ok']);
  });
});

describe('the real job against both ledgers', () => {
  test('on the same carts: the same report, the same requests, reads and writes', async () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const carts = Array.from({ length: 620 }, (_, i) =>
      cartRecord({
        id: `cart-${i}`,
        // Every tenth customer has two carts: the older one is superseded and recorded as such.
        customerId: `C${i % 10 === 9 ? i - 5 : i}`,
        modifiedDateTime: new Date(now.getTime() - 400 * MINUTE + i * 20_000).toISOString(),
        // Some carts have only voided lines: skipped without a write.
        lines: i % 25 === 0 ? [{ productId: 1, isVoided: true }] : [{ productId: 1 + (i % 7) }, { productId: 2 }],
      }),
    );
    const customers = Array.from({ length: 620 }, (_, i) => customerRecord(`C${i}`, i % 40 === 3 ? { Email: '' } : {}));
    const products = Array.from({ length: 8 }, (_, i) => productRecord(i + 1));
    const h = await startHarness({ now: now.toISOString(), data: buildSimulatorData({ carts, customers, products }) });
    try {
      const run = async (choose: (cosmos: NotificationLedger) => NotificationLedger) => {
        const deps = await createJobDependencies({
          settings: h.settings({ RetailServerClientOptions__PageSize: '250' }),
          env: h.secretsEnv,
          logger: silentLogger,
          clock: h.clock,
          retryPolicy: fastRetry,
          sleep: async () => undefined,
        });
        const ledger = choose(deps.ledger);
        const before = ledger.stats();
        const report = await runAbandonedCartJob({ ...deps, ledger }, { trigger: 'cli' });
        return { report, cost: cost(before, ledger.stats()) };
      };
      const cosmos = await run((ledger) => ledger);
      const modeledLedger = new ModeledLedger({ latencyMs: 0 });
      const modeled = await run(() => modeledLedger);

      expect(cosmos.report.status).toBe('completed');
      expect(cosmos.report.carts.notified).toBeGreaterThan(400);
      expect(cosmos.report.carts.skippedByReason).toMatchObject({ superseded: 62, 'no-active-lines': 25, 'customer-without-email': expect.any(Number) });
      expect(modeled.report.carts).toEqual(cosmos.report.carts);
      expect(modeled.report.pages).toBe(cosmos.report.pages);
      expect(modeled.report.calls.store).toBe(cosmos.report.calls.store);
      expect(modeled.cost).toEqual(cosmos.cost);
      // What the modeled ledger holds: a sent record per notified cart, a skipped one per superseded cart.
      const stored = modeledLedger.notificationRecords();
      expect(stored.filter((r) => r.status === 'sent')).toHaveLength(cosmos.report.carts.notified);
      expect(stored.filter((r) => r.status === 'skipped' && r.reason === 'superseded')).toHaveLength(62);
      expect(stored).toHaveLength(cosmos.report.carts.notified + 62);
    } finally {
      await h.close();
    }
  });
});

describe('semantics', () => {
  test('create is atomic: of two concurrent claims of the same carts, each cart goes to exactly one', async () => {
    const ledger = new ModeledLedger({ latencyMs: 1 });
    const records = Array.from({ length: 150 }, () => claim());
    const [a, b] = await Promise.all([
      ledger.createNotifications(records.map((r) => ({ ...r, runId: 'run-a' }))),
      ledger.createNotifications(records.map((r) => ({ ...r, runId: 'run-b' }))),
    ]);
    records.forEach((_, i) => expect([a[i]!.status, b[i]!.status].sort()).toEqual(['conflict', 'ok']));
    const stored = await ledger.getNotifications(records.map((r) => r.id));
    records.forEach((record, i) => expect(stored.get(record.id)?.record.runId).toBe(a[i]!.status === 'ok' ? 'run-a' : 'run-b'));
  });

  test('replace checks the etag; records read back are copies, not the stored objects', async () => {
    const ledger = new ModeledLedger({ latencyMs: 0 });
    const record = claim();
    const [created] = await ledger.createNotifications([record]);
    const etag = created?.status === 'ok' ? created.etag : '';
    const read = (await ledger.getNotifications([record.id])).get(record.id)!;
    read.record.status = 'sent';
    expect((await ledger.getNotifications([record.id])).get(record.id)?.record.status).toBe('claimed');
    expect(read.etag).toBe(etag);

    const [first] = await ledger.replaceNotifications([{ record: { ...record, status: 'sent' }, etag }]);
    const [second] = await ledger.replaceNotifications([{ record: { ...record, status: 'failed' }, etag }]);
    expect(first?.status).toBe('ok');
    expect(second).toEqual({ id: record.id, status: 'conflict' });
    expect((await ledger.getNotifications([record.id])).get(record.id)?.record.status).toBe('sent');
  });

  test('a lease expires: held until then, taken over after, and the old holder cannot renew', async () => {
    const ledger = new ModeledLedger({ latencyMs: 0 });
    const a = held(await ledger.acquireLease('128', 'run-a', T0, 10 * MINUTE));
    expect(await ledger.acquireLease('128', 'run-b', new Date(T0.getTime() + 9 * MINUTE), 10 * MINUTE)).toMatchObject({ acquired: false, heldByRunId: 'run-a' });
    const b = held(await ledger.acquireLease('128', 'run-b', new Date(T0.getTime() + 10 * MINUTE), 10 * MINUTE));
    await expect(ledger.renewLease(a, new Date(T0.getTime() + 11 * MINUTE), 10 * MINUTE)).rejects.toBeInstanceOf(LeaseLostError);
    const renewed = await ledger.renewLease(b, new Date(T0.getTime() + 11 * MINUTE), 10 * MINUTE);
    expect(renewed.expiresAt).toBe(new Date(T0.getTime() + 21 * MINUTE).toISOString());
    await ledger.releaseLease(renewed);
    expect((await ledger.acquireLease('128', 'run-c', new Date(T0.getTime() + 12 * MINUTE), 10 * MINUTE)).acquired).toBe(true);
  });

  test('each request costs its latency; a bulk call runs at most 10 of its requests at once', async () => {
    // The latency is a sleep the test holds: it lets each round of waiting requests go by hand, so
    // the rounds are counted, not timed.
    const waiting: Array<{ ms: number; release: () => void }> = [];
    const ledger = new ModeledLedger({ latencyMs: 25, sleep: (ms) => new Promise<void>((release) => waiting.push({ ms, release })) });
    const settled = () => new Promise<void>((resolve) => setImmediate(resolve));
    /** Lets the waiting requests go a round at a time until the call is done; what each round held. */
    const rounds = async (call: Promise<unknown>): Promise<number[][]> => {
      let done = false;
      const finished = call.then(() => (done = true));
      const held: number[][] = [];
      for (await settled(); !done && held.length < 20; await settled()) {
        const round = waiting.splice(0);
        round.forEach(({ release }) => release());
        held.push(round.map(({ ms }) => ms));
      }
      await finished;
      return held;
    };

    // The first call also learns the partition key ranges: one request, then its read.
    expect(await rounds(ledger.getNotifications(['warm-up']))).toEqual([[25], [25]]);
    const bulk = await rounds(ledger.createNotifications(Array.from({ length: 1500 }, () => claim())));
    // Fifteen requests, ten at a time: two rounds of 25 ms each.
    expect(bulk).toEqual([Array(10).fill(25), Array(5).fill(25)]);
    expect(ledger.peakRequestsInFlight()).toBe(10);
    expect(ledger.stats()).toEqual({ requests: 17, reads: 1, writes: 1500, retries: 0 });
  });

  test('a bad checkpoint or run id is refused before any request, as CosmosLedger refuses it', async () => {
    const ledger = new ModeledLedger({ latencyMs: 0 });
    await expect(ledger.saveRun(runReport({ runId: 'nope' }))).rejects.toBeInstanceOf(TypeError);
    await expect(
      ledger.saveCheckpoint({ operatingUnitNumber: '128', channelId: 1, lastModifiedAt: 'yesterday', cartIdsAtLastModified: [], runId: 'r', updatedAt: T0.toISOString() }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(ledger.stats().requests).toBe(0);
  });
});
