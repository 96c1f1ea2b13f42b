import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunReport } from '../../src/job/report';
import { seededRandom, type Fault, type ProxiedRequest, type RuleHandle } from '../../src/simulators/fault-rules';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { startFaultHarness, type Dependency, type FaultHarness } from '../support/fault-harness';
import { RETAIL_ENDPOINTS } from './faults/retail';

/**
 * Schedule fuzzing of the pipelined run. The other suites answer every request after a fixed time,
 * so the pages, the survey's slices, the shared product lookups, the claims and the sends finish
 * in nearly the same order on every run. Here every request to Retail Server, Emarsys and Cosmos DB
 * waits a seeded random 0-50 ms at the fault proxy before it is forwarded, one in 20 meets a fault
 * the clients retry (503, 429), and the run's clock moves while pages are in flight (the lease is
 * renewed meanwhile), so answers come back in orders the fixed latencies never give, with random
 * PageSize, PageConcurrency, MaxConcurrency and BatchSize.
 *
 * For a generated store (several pages, customers with carts on different pages and at shared
 * instants, more than a page at one instant too, told apart below the millisecond or not, account
 * numbers spelled differently, shared products, guests with several anonymous carts, anonymous carts
 * without email, customers missing, without email or unknown to Emarsys, customers and products
 * Retail Server fails every lookup of or whose records do not parse, carts that do not parse or
 * have no Id), two runs of the real job (the second 30 minutes later,
 * when the bad records' carts are tried again) must end exactly as the same store's two runs with
 * `strategy: 'sequential'` and no delays do: the same reminders, each (cart, ModifiedDateTime)
 * with the same payload and none twice; the same window, tallies by reason, failures and
 * checkpoint; the same ledger record for every cart; and every report's counts add up.
 *
 * Seeded (SCHEDULE_FUZZ_SEED, SCHEDULE_FUZZ_RUNS), so the stores and settings are deterministic;
 * the schedules are as random as the delays make them. SCHEDULE_FUZZ_STATS=1 prints what each
 * case exercised; SCHEDULE_FUZZ_NO_DELAY=1 runs the pipelined side without delays or faults, to
 * tell a difference of the strategies from one of the schedule.
 */

const SEED = Number(process.env.SCHEDULE_FUZZ_SEED ?? 20261208);
const RUNS = Number(process.env.SCHEDULE_FUZZ_RUNS ?? 5);
const START = Date.parse('2026-11-23T09:00:00Z');
const NOW = '2026-11-23T12:00:00Z';

const criticalStorageError = JSON.stringify({
  error: { code: 'Microsoft_Dynamics_Commerce_Runtime_CriticalStorageError', message: 'An error occurred while loading the record.' },
});

interface Cart {
  /** Minutes after START; carts share instants. */
  minute: number;
  /** 100 ns ticks below the millisecond, in thousands (0: none); they order a customer's carts at one instant. */
  ticks: number;
  /** C<n>; -1 anonymous with a receipt email, -2 anonymous without, -3 an account no customer has. */
  customer: number;
  /** An anonymous cart's receipt email: guest-<n> (guests have several carts too). */
  guest: number;
  /** How the cart spells its customer's account number (Retail Server matches them ignoring case; carts may carry padding). */
  spelling: 'C' | 'c' | ' C';
  lines: { productId: number; voided: boolean }[];
  /**
   * A bad record: a field that does not parse, or no Id. (Not the same cart twice: whether the
   * second copy counts as `duplicate-record` or is dropped unseen depends on whether a page
   * boundary falls between the copies, so the strategies' counts differ by design.)
   */
  record: 'ok' | 'bad-field' | 'no-id';
}

interface Store {
  carts: Cart[];
  customers: number;
  /** Customers without an email. */
  noEmail: number[];
  products: number;
  badCustomers: number[];
  badProducts: number[];
  customerStatus: 400 | 500;
  /** Customers and products whose records do not parse. */
  invalidCustomers: number[];
  invalidProducts: number[];
  /** Customers Emarsys has no contact for: it fails their reminders one by one. */
  unknownToEmarsys: number[];
}

interface Schedule {
  pageSize: number;
  pageConcurrency: number;
  maxConcurrency: number;
  batchSize: number;
  delaySeed: number;
}

const storeArbitrary: fc.Arbitrary<Store> = fc
  .record({
    cartCount: fc.integer({ min: 6, max: 48 }),
    customers: fc.integer({ min: 1, max: 10 }),
    products: fc.integer({ min: 3, max: 10 }),
    // How many minutes the carts spread over: few makes many carts share an instant, more than a page.
    spread: fc.constantFrom(2, 6, 48),
  })
  .chain(({ cartCount, customers, products, spread }) =>
    fc.record({
      carts: fc.array(
        fc.record({
          minute: fc.integer({ min: 0, max: spread }),
          ticks: fc.integer({ min: 0, max: 3 }),
          customer: fc.integer({ min: -3, max: customers - 1 }),
          guest: fc.integer({ min: 0, max: 2 }),
          spelling: fc.constantFrom('C', 'c', ' C'),
          record: fc.oneof(
            { weight: 12, arbitrary: fc.constant('ok' as const) },
            { weight: 1, arbitrary: fc.constantFrom('bad-field' as const, 'no-id' as const) },
          ),
          lines: fc.array(fc.record({ productId: fc.integer({ min: 1, max: products }), voided: fc.integer({ min: 0, max: 5 }).map((n) => n === 0) }), { minLength: 1, maxLength: 4 }),
        }),
        { minLength: cartCount, maxLength: cartCount },
      ),
      customers: fc.constant(customers),
      noEmail: fc.uniqueArray(fc.integer({ min: 0, max: customers - 1 }), { maxLength: 2 }),
      products: fc.constant(products),
      badCustomers: fc.uniqueArray(fc.integer({ min: 0, max: customers - 1 }), { maxLength: 2 }),
      badProducts: fc.uniqueArray(fc.integer({ min: 1, max: products }), { maxLength: 1 }),
      customerStatus: fc.constantFrom(400 as const, 500 as const),
      invalidCustomers: fc.uniqueArray(fc.integer({ min: 0, max: customers - 1 }), { maxLength: 1 }),
      invalidProducts: fc.uniqueArray(fc.integer({ min: 1, max: products }), { maxLength: 1 }),
      unknownToEmarsys: fc.uniqueArray(fc.integer({ min: 0, max: customers - 1 }), { maxLength: 2 }),
    }),
  );

const scheduleArbitrary: fc.Arbitrary<Schedule> = fc.record({
  pageSize: fc.integer({ min: 2, max: 6 }),
  pageConcurrency: fc.integer({ min: 1, max: 6 }),
  maxConcurrency: fc.integer({ min: 1, max: 6 }),
  batchSize: fc.integer({ min: 1, max: 4 }),
  delaySeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

const cartId = (i: number) => `cart-${String(i).padStart(2, '0')}`;
const cartAt = (store: Store, i: number) => new Date(START + (store.carts[i]?.minute ?? 0) * 60_000);
function modifiedDateTime(store: Store, i: number): string {
  const ticks = store.carts[i]?.ticks ?? 0;
  const iso = cartAt(store, i).toISOString();
  return ticks > 0 ? iso.replace('Z', `${String(ticks * 1000).padStart(4, '0')}Z`) : iso;
}

function simulatorData(store: Store) {
  return buildSimulatorData({
    customers: Array.from({ length: store.customers }, (_, i) =>
      customerRecord(`C${i}`, { ...(store.noEmail.includes(i) ? { Email: null } : {}), ...(store.invalidCustomers.includes(i) ? { CustomerTypeValue: 'person' } : {}) }),
    ),
    products: Array.from({ length: store.products }, (_, i) => productRecord(i + 1, store.invalidProducts.includes(i + 1) ? { RecordId: 'x' } : {})),
    carts: store.carts.flatMap((cart, i) => {
      const who =
        cart.customer === -1 ? { receiptEmail: `guest-${cart.guest}@example.com` } : cart.customer === -2 ? {} : cart.customer === -3 ? { customerId: 'C99' } : { customerId: `${cart.spelling}${cart.customer}` };
      const record = cartRecord({ id: cartId(i), ...who, modifiedDateTime: modifiedDateTime(store, i), lines: cart.lines.map((line) => ({ productId: line.productId, isVoided: line.voided })) });
      if (cart.record === 'bad-field') return [{ ...record, CartLines: 'none' }];
      if (cart.record === 'no-id') return [{ ...record, Id: null }];
      return [record];
    }),
  });
}

/** What one run's report must repeat whatever the schedule (its pages and calls may differ). */
function outcome(report: RunReport) {
  return {
    status: report.status,
    error: report.error,
    window: report.window,
    carts: report.carts,
    lines: report.lines,
    invalidRecords: report.invalidRecords,
    failures: [...report.failures].sort((a, b) => a.reason.localeCompare(b.reason)),
    failuresByDependency: report.failuresByDependency,
    checkpoint: report.checkpoint,
    remaining: report.remaining,
  };
}

function tallyProblems(report: RunReport): string[] {
  const { carts } = report;
  const problems: string[] = [];
  if (report.status !== 'completed') problems.push(`run ${report.status}: ${report.error ?? ''}`);
  if (carts.seen !== carts.eligible + carts.skipped) problems.push(`seen ${carts.seen} != eligible ${carts.eligible} + skipped ${carts.skipped}`);
  if (carts.eligible !== carts.notified + carts.failed) problems.push(`eligible ${carts.eligible} != notified ${carts.notified} + failed ${carts.failed}`);
  const byReason = Object.values(carts.skippedByReason).reduce((sum, count) => sum + (count ?? 0), 0);
  if (byReason !== carts.skipped) problems.push(`skippedByReason adds up to ${byReason}, skipped ${carts.skipped}`);
  return problems;
}

interface Result {
  reports: ReturnType<typeof outcome>[];
  /** Trigger id -> the reminder's contact and data, as Emarsys received it. */
  reminders: Map<string, string>;
  /** Cart -> its ledger record's outcome. */
  records: Map<string, string>;
  problems: string[];
}

/** A seeded random wait of 0-50 ms, for a proxy's rules to make before they act. */
function randomDelay(seed: number): () => Promise<void> {
  const random = seededRandom(seed);
  return () => sleep(Math.floor(random() * 51)).then(() => undefined);
}

/**
 * Now and then a fault the clients retry (throttling, an unavailable Retail Server): one in 20
 * requests, so that four in a row, past the retries, do not happen. They change the order of the
 * answers further, and must change nothing else.
 */
const TRANSIENT_FAULTS: Record<Dependency, Fault | undefined> = {
  retail: { kind: 'status', status: 503 },
  emarsys: { kind: 'status', status: 429 },
  cosmos: { kind: 'status', status: 429, headers: { 'x-ms-retry-after-ms': '1' }, body: JSON.stringify({ code: 'TooManyRequests', message: 'Request rate is large.' }) },
  token: undefined,
};

/**
 * Every request to Retail Server, Emarsys and Cosmos DB waits a random 0-50 ms before the proxy
 * forwards (or spoils) it, and once the run has fixed its window (its first cart search), each
 * Cosmos DB request moves the run's clock by up to a second, so that the lease
 * (ClaimTimeoutMinutes 0.5) falls due and is renewed while pages are in flight.
 */
function jitter(h: FaultHarness, delays: Record<Dependency, () => Promise<void>>, seed: number): RuleHandle[] {
  const rules: RuleHandle[] = [];
  const clockSteps = seededRandom(seed + 3);
  let searching = false;
  for (const dependency of ['retail', 'emarsys', 'cosmos'] as const) {
    const fault = TRANSIENT_FAULTS[dependency];
    const before = async (request: ProxiedRequest) => {
      if (dependency === 'retail' && RETAIL_ENDPOINTS.cartSearch.test(request.path)) searching = true;
      if (dependency === 'cosmos' && searching) h.clock.set(new Date(h.clock.now().getTime() + Math.floor(clockSteps() * 1000)));
      await delays[dependency]();
    };
    if (fault) rules.push(h.proxies[dependency].inject({ name: 'transient', probability: 0.05, before, fault }));
    rules.push(h.proxies[dependency].inject({ name: 'jitter', before }));
  }
  return rules;
}

async function runStore(store: Store, schedule: Schedule, mode: 'reference' | 'fuzzed'): Promise<Result> {
  // Retail Server requests in flight at the stand-in, which holds each for 20 ms in the fuzzed run
  // so that they overlap there: never more than MaxConcurrency, whatever order the answers come in.
  let inFlight = 0;
  let mostInFlight = 0;
  const h = await startFaultHarness({
    ...(mode === 'fuzzed' ? { retailLatencyMs: 20 } : {}),
    onRetailRequest: ({ phase }) => {
      inFlight += phase === 'start' ? 1 : -1;
      mostInFlight = Math.max(mostInFlight, inFlight);
    },
    now: NOW,
    seed: schedule.delaySeed,
    data: simulatorData(store),
    knownContacts: [
      ...Array.from({ length: store.customers }, (_, i) => i).filter((i) => !store.unknownToEmarsys.includes(i)).map((i) => `c${i}@example.com`),
      'guest-0@example.com',
      'guest-1@example.com',
      'guest-2@example.com',
    ],
    env: {
      RetailServerClientOptions__PageSize: String(schedule.pageSize),
      RetailServerClientOptions__IncludeAnonymous: 'true',
      RetailServerClientOptions__PageConcurrency: String(schedule.pageConcurrency),
      RetailServerClientOptions__MaxConcurrency: String(schedule.maxConcurrency),
      EmarsysClientOptions__MaxSendAttempts: '2',
      AzureCosmosOptions__ClaimTimeoutMinutes: '0.5',
      EmarsysClientOptions__BatchSize: String(schedule.batchSize),
    },
  });
  try {
    const delays: Record<Dependency, () => Promise<void>> = {
      retail: randomDelay(schedule.delaySeed),
      emarsys: randomDelay(schedule.delaySeed + 1),
      cosmos: randomDelay(schedule.delaySeed + 2),
      token: async () => undefined,
    };
    // The first rule that matches a request is the one that acts: the bad records' rules wait too.
    const before = mode === 'fuzzed' ? { before: delays.retail } : {};
    const badAccounts = new Set(store.badCustomers.map((i) => `C${i}`));
    const badProducts = new Set(store.badProducts);
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.customers,
      match: (request) => (JSON.parse(request.text()) as { accountNumbers: string[] }).accountNumbers.some((account) => badAccounts.has(account.trim().toUpperCase())),
      fault: { kind: 'status', status: store.customerStatus, body: criticalStorageError },
      ...before,
    });
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.products,
      match: (request) => (JSON.parse(request.text()) as { productSearchCriteria: { Ids: number[] } }).productSearchCriteria.Ids.some((id) => badProducts.has(id)),
      fault: { kind: 'status', status: 500, body: criticalStorageError },
      ...before,
    });

    const problems: string[] = [];
    const reports: ReturnType<typeof outcome>[] = [];
    for (let run = 0; run < 2; run++) {
      // Each run its own clock moves (from the window's start) and its own delays.
      const rules = mode === 'fuzzed' && process.env.SCHEDULE_FUZZ_NO_DELAY !== '1' ? jitter(h, delays, schedule.delaySeed + run) : [];
      // Half an hour after the first run started, whatever the clock did during it.
      if (run > 0) h.clock.set(new Date(Date.parse(NOW) + 30 * 60_000));
      const report = await h.run({}, {}, { strategy: mode === 'reference' ? 'sequential' : 'pipelined' });
      reports.push(outcome(report));
      for (const rule of rules) rule.remove();
      problems.push(...tallyProblems(report).map((problem) => `${mode} run ${run + 1}: ${problem}`));
    }

    if (mostInFlight > schedule.maxConcurrency) problems.push(`${mode}: ${mostInFlight} Retail Server requests in flight at once, MaxConcurrency ${schedule.maxConcurrency}`);
    const reminders = new Map<string, string>();
    for (const delivery of h.emarsys.deliveries) {
      if (reminders.has(delivery.triggerId)) problems.push(`${mode}: trigger id ${delivery.triggerId} delivered twice`);
      reminders.set(delivery.triggerId, canonical({ to: delivery.externalId, data: delivery.data }));
    }
    const ids = store.carts.map((_, i) => notificationId(cartId(i), cartAt(store, i)));
    const found = await (await h.ledger()).getNotifications(ids);
    const records = new Map<string, string>();
    ids.forEach((id, i) => {
      const record = found.get(id)?.record;
      records.set(cartId(i), record ? JSON.stringify({ status: record.status, reason: record.reason, retryable: record.retryable, attempts: record.attempts }) : 'none');
    });
    if (process.env.SCHEDULE_FUZZ_STATS === '1' && mode === 'fuzzed') console.log(JSON.stringify({ mostInFlight, byRule: (['retail', 'emarsys', 'cosmos'] as const).map((d) => h.proxies[d].stats().byRule) }));
    return { reports, reminders, records, problems };
  } finally {
    await h.close();
  }
}

/** JSON with every object's keys sorted: tallies filled in another order are the same tallies. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}

function differences(reference: Result, fuzzed: Result): string[] {
  const problems = [...reference.problems, ...fuzzed.problems];
  reference.reports.forEach((report, run) => {
    const expected = canonical(report);
    const actual = canonical(fuzzed.reports[run]);
    if (expected !== actual) problems.push(`run ${run + 1} reports differ:\n  sequential ${expected}\n  fuzzed     ${actual}`);
  });
  for (const [id, reminder] of reference.reminders) {
    const fuzzedReminder = fuzzed.reminders.get(id);
    if (fuzzedReminder !== reminder) problems.push(`reminder ${id}: sequential ${reminder}, fuzzed ${fuzzedReminder ?? 'none'}`);
  }
  for (const [id, reminder] of fuzzed.reminders) if (!reference.reminders.has(id)) problems.push(`reminder ${id} only in the fuzzed run: ${reminder}`);
  for (const [cart, record] of reference.records) {
    if (fuzzed.records.get(cart) !== record) problems.push(`${cart} recorded: sequential ${record}, fuzzed ${fuzzed.records.get(cart) ?? 'none'}`);
  }
  return problems;
}

describe('schedule fuzzing: random delays on every request', () => {
  test('the pipelined run under random answer orders ends exactly as the sequential run without delays', async () => {
    const details = await fc.check(
      fc.asyncProperty(storeArbitrary, scheduleArbitrary, async (store, schedule) => {
        const reference = await runStore(store, schedule, 'reference');
        const fuzzed = await runStore(store, schedule, 'fuzzed');
        const problems = differences(reference, fuzzed);
        if (process.env.SCHEDULE_FUZZ_STATS === '1') console.log(JSON.stringify({ schedule, carts: store.carts.length, runs: reference.reports.map((report) => ({ carts: report.carts, failures: report.failures, checkpoint: report.checkpoint })) }));
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    if (details.failed) {
      throw new Error(`failed after ${details.numRuns} run(s); replay with SCHEDULE_FUZZ_SEED=${details.seed}, path "${details.counterexamplePath ?? ''}":\n${String(details.errorInstance)}\n${JSON.stringify(details.counterexample)}`);
    }
  }, RUNS * 15_000 + 30_000);
});
