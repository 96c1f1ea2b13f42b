import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SHAPE, generateStore } from '../../bench/data';
import { figuresOf, type Figures } from '../../bench/figures';
import { jobHeapFlags, parseBenchOptions, RECOMMENDED_HEAP_GROWING_PERCENT, scenarioConfigs } from '../../bench/options';
import { runJob } from '../../bench/job-runner';
import { canonicalJson, startStandIns } from '../../bench/stand-ins';
import type { ScenarioConfig, StoreShape, Strategy } from '../../bench/types';
import { DEFAULT_PAGE_CONCURRENCY } from '../../src/config/schema';
import { parseCart } from '../../src/retail/models';
import type { NotificationRecord } from '../../src/store/ledger';
import { testTls } from '../support/test-tls';

/**
 * The benchmark at a small size, so that it runs in CI and cannot rot: the real job against the
 * benchmark's stand-ins and the modeled store, both strategies. What the targets say about
 * correctness is checked here by counting; the speed targets need the full size (`npm run bench`).
 */

const ROOT = join(__dirname, '..', '..');

interface Run {
  figures: Figures;
  /** Per trigger id: the contact and the data Emarsys received. */
  payloads: Map<string, string>;
  stored: NotificationRecord[];
}

function config(strategy: Strategy, carts: number, shape: StoreShape = DEFAULT_SHAPE): ScenarioConfig {
  return {
    strategy,
    store: 'modeled',
    carts,
    latencyMs: 5,
    pageSize: 200,
    concurrency: 4,
    pageConcurrency: DEFAULT_PAGE_CONCURRENCY,
    storeLatencyMs: 2,
    seed: 7,
    now: '2026-11-23T12:00:00.000Z',
    shape,
  };
}

async function run(scenario: ScenarioConfig): Promise<Run> {
  const standIns = await startStandIns(scenario, testTls());
  try {
    const ledger = standIns.ledger;
    if (!ledger) throw new Error('the modeled store did not start');
    const job = await runJob({ endpoints: standIns.endpoints, config: scenario, ledger });
    const figures = figuresOf({ config: scenario, cartsInWindow: standIns.cartsInWindow, job, standIns: standIns.summary() });
    const payloads = new Map(standIns.deliveries().map((d) => [d.triggerId, canonicalJson({ to: d.externalId, data: d.data })]));
    return { figures, payloads, stored: ledger.notificationRecords() };
  } finally {
    await standIns.close();
  }
}

const perPage = (figures: Figures) => ({
  retail: (figures.calls.channel + figures.calls.cartSearch + figures.calls.customers + figures.calls.products) / figures.pages,
  provider: figures.calls.provider / figures.pages,
  store: figures.storeCost.requests / figures.pages,
});

describe('the benchmark, small', () => {
  let pipelined: Run;
  let sequential: Run;
  beforeAll(async () => {
    pipelined = await run(config('pipelined', 2000));
    sequential = await run(config('sequential', 2000));
  });

  test('both strategies complete and notify the same carts with the same data', () => {
    for (const { figures } of [pipelined, sequential]) {
      expect(figures.status).toBe('completed');
      expect(figures.seen).toBe(2000);
      expect(figures.failed).toBe(0);
    }
    expect(pipelined.figures.notified).toBeGreaterThan(1700);
    expect(pipelined.payloads.size).toBe(pipelined.figures.notified);
    expect([...pipelined.payloads.keys()].sort()).toEqual([...sequential.payloads.keys()].sort());
    for (const [triggerId, payload] of pipelined.payloads) expect(sequential.payloads.get(triggerId)).toBe(payload);
    expect(pipelined.figures.payloadDigest).toBe(sequential.figures.payloadDigest);
    expect(pipelined.figures.skippedByReason).toEqual(sequential.figures.skippedByReason);
  });

  test('the store costs at most 2 writes and 1 read per notified cart, and nothing for a cart skipped as ineligible', () => {
    for (const { figures, stored } of [pipelined, sequential]) {
      const reasons = figures.skippedByReason;
      const superseded = reasons.superseded ?? 0;
      // The generated store takes every path: these carts must cost no store operation.
      expect(reasons).toMatchObject({ 'no-active-lines': expect.any(Number), 'customer-not-found': expect.any(Number), 'customer-without-email': expect.any(Number), 'no-products-found': expect.any(Number) });
      expect(superseded).toBeGreaterThan(0);

      // Per page: the checkpoint. Per run: lease, release, the last checkpoint, the run report (a
      // run this short never needs to renew its lease).
      const perPageWrites = figures.pages + 4;
      expect(figures.storeCost.writes).toBeLessThanOrEqual(2 * figures.notified + superseded + perPageWrites);
      // Every cart is new to the ledger, so nothing is read but the checkpoint, once: a page reads
      // only the carts whose claim met an existing record, and here there are none.
      expect(figures.storeCost.reads).toBe(1);

      // What the store holds: a sent record per notified cart and a skipped one per superseded cart, nothing else.
      expect(stored.filter((r) => r.status === 'sent')).toHaveLength(figures.notified);
      expect(stored.filter((r) => r.status === 'skipped' && r.reason === 'superseded')).toHaveLength(superseded);
      expect(stored).toHaveLength(figures.notified + superseded);
    }
  });

  test('the lower bound is a bound, and the figures add up', () => {
    for (const { figures } of [pipelined, sequential]) {
      expect(figures.bound.ms).toBeGreaterThan(0);
      expect(figures.wallOverBound).toBeGreaterThanOrEqual(1);
      expect(figures.searchChain.survey + figures.searchChain.pass).toBeLessThanOrEqual(figures.calls.cartSearch);
      // Retail Server never sees more than MaxConcurrency requests at once.
      expect(figures.peakInFlight.retail).toBeLessThanOrEqual(4);
      expect(figures.deliveries).toBe(figures.notified);
    }
    // The sequential pass follows one keyset chain: each page once, and once more when the last page was full.
    expect(sequential.figures.searchChain.pass - sequential.figures.pages).toBeGreaterThanOrEqual(0);
    expect(sequential.figures.searchChain.pass - sequential.figures.pages).toBeLessThanOrEqual(1);
    // The pipelined pass searches the survey's ranges all at once: its chain is one search long.
    expect(pipelined.figures.searchChain.pass).toBe(1);
    expect(pipelined.figures.searchChain.survey).toBeLessThan(sequential.figures.searchChain.survey);
  });
});

describe('calls per page', () => {
  test('do not grow with the carts or the lines on a page', async () => {
    // A catalogue of 150 products: a page of 200 carts names at most 150 distinct products either way.
    const few = await run(config('pipelined', 1000, { linesPerCart: { min: 1, max: 2 }, catalogue: 150 }));
    const many = await run(config('pipelined', 2400, { linesPerCart: { min: 3, max: 6 }, catalogue: 150 }));
    for (const { figures } of [few, many]) {
      expect(figures.status).toBe('completed');
      const { pages } = figures;
      // 200 carts a page: 1 customer call, 2 product calls (100 ids each), 1 provider call (1,000 contacts).
      expect(figures.calls.customers).toBeLessThanOrEqual(pages);
      expect(figures.calls.products).toBeLessThanOrEqual(2 * pages);
      expect(figures.calls.provider).toBeLessThanOrEqual(pages);
      // Each pass searches each page once; the survey's slices add at most one closing search each.
      expect(figures.calls.cartSearch).toBeLessThanOrEqual(2 * pages + 4);
      // Reads, creates and replaces of at most 200 records (2 requests each), checkpoint, lease renewal.
      expect(figures.storeCost.requests).toBeLessThanOrEqual(8 * pages + 6);
    }
    const a = perPage(few.figures);
    const b = perPage(many.figures);
    expect(Math.abs(a.retail - b.retail)).toBeLessThan(1);
    expect(Math.abs(a.provider - b.provider)).toBeLessThan(0.5);
    expect(Math.abs(a.store - b.store)).toBeLessThan(1);
  });
});

function npmRunBench(...options: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'bench', '--silent', '--', ...options], { cwd: ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
}

describe('npm run bench', () => {
  test('runs from the command line: both strategies, both stores, one JSON line', async () => {
    const { code, stdout, stderr } = await npmRunBench('--carts', '300', '--latency-ms', '1', '--page-size', '100', '--store', 'both', '--json');
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] as string) as { scenarios: Figures[]; comparisons: { store: string; sameNotifications: boolean }[] };
    expect(result.scenarios.map((s) => s.scenario)).toEqual(['pipelined/modeled', 'sequential/modeled', 'pipelined/embedded', 'sequential/embedded']);
    for (const scenario of result.scenarios) {
      expect(scenario.status).toBe('completed');
      expect(scenario.notified).toBeGreaterThan(250);
      expect(scenario.peakRssMb).toBeGreaterThan(0);
      expect(scenario.cpuSeconds).toBeGreaterThan(0);
      expect(scenario.cpuReferenceMs).toBeGreaterThan(0);
      expect(scenario.jobHeapFlags).toEqual([`--heap-growing-percent=${RECOMMENDED_HEAP_GROWING_PERCENT}`]);
      // The job thread is busy for part of the run; the CPU floor is a floor, so the run takes longer.
      expect(scenario.jobThreadBusySeconds).toBeGreaterThan(0);
      expect(scenario.jobThreadBusySeconds).toBeLessThanOrEqual(scenario.wallSeconds);
      expect(scenario.cpuFloor).toEqual({ ms: expect.any(Number), limitedBy: expect.stringMatching(/^(job thread|cores)$/), cores: expect.any(Number) });
      // In seconds, as jobThreadBusySeconds is computed (ms / 1000): seconds * 1000 may round past the ms.
      expect((scenario.cpuFloor?.ms ?? 0) / 1000).toBeGreaterThanOrEqual(scenario.jobThreadBusySeconds);
      // The survey ends within the run, and the thread's busy time in it is part of the run's.
      expect(scenario.survey?.endedSeconds).toBeGreaterThan(0);
      expect(scenario.survey?.endedSeconds).toBeLessThan(scenario.wallSeconds);
      expect(scenario.survey?.threadBusySeconds).toBeGreaterThan(0);
      expect(scenario.survey?.threadBusySeconds).toBeLessThanOrEqual(scenario.survey?.endedSeconds ?? 0);
      expect(scenario.survey?.threadBusySeconds).toBeLessThanOrEqual(scenario.jobThreadBusySeconds);
    }
    expect(result.scenarios[2]?.capacity?.operationsPerSecond).toBeGreaterThan(0);
    expect(result.scenarios[2]?.capacity?.clientThreadBusy).toBeGreaterThan(0);
    expect(result.scenarios[2]?.capacity?.clientThreadBusy).toBeLessThanOrEqual(1);
    expect(result.comparisons).toEqual([expect.objectContaining({ store: 'modeled', sameNotifications: true }), expect.objectContaining({ store: 'embedded', sameNotifications: true })]);
    expect(new Set(result.scenarios.map((s) => s.payloadDigest)).size).toBe(1);
  }, 120_000);

  test('with --store-ops-per-second, the embedded store refuses what is over its limit, and the run goes at that pace', async () => {
    const { code, stdout, stderr } = await npmRunBench(
      '--carts', '300', '--latency-ms', '1', '--page-size', '100', '--store', 'embedded', '--strategy', 'pipelined', '--store-ops-per-second', '300',
      '--heap-growing-percent', '0', '--heap-limit-mb', '1024', '--json',
    );
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const [scenario] = (JSON.parse(stdout.trim()) as { scenarios: Figures[] }).scenarios;
    expect(scenario).toMatchObject({ status: 'completed', failed: 0, storeOpsPerSecond: 300, jobHeapFlags: ['--max-old-space-size=1024'] });
    expect(scenario?.storeRefused).toBeGreaterThan(0);
    // The store term is the operations that ran at the limit, not at what the server could do.
    const ran = (scenario?.storeCost.reads ?? 0) + (scenario?.storeCost.writes ?? 0);
    expect(scenario?.storeCost.operationsPerNotifiedCart).toBeLessThanOrEqual(2.1);
    expect(scenario?.bound.limitedBy).toBe('storeCapacity');
    expect(scenario?.bound.terms.storeCapacity).toBeCloseTo((ran / 300) * 1000, 0);
    expect(scenario?.wallOverBound).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test('--store-ops-per-second is for the embedded store', async () => {
    const parsed = (...argv: string[]) => parseBenchOptions(argv);
    expect(parsed('--store', 'embedded', '--store-ops-per-second', '400')).toMatchObject({ ok: true, options: { storeOpsPerSecond: 400 } });
    expect(parsed()).toMatchObject({ ok: true, options: { storeOpsPerSecond: undefined } });
    expect(parsed('--store-ops-per-second', '400')).toMatchObject({ ok: false, problems: ['--store-ops-per-second limits the embedded store: use it with --store embedded'] });
    expect(parsed('--store', 'embedded', '--store-ops-per-second', '0')).toMatchObject({ ok: false });
  });
});

describe('the job heap options', () => {
  test('become the job process\'s V8 flags: by default the growing factor the Functions worker is given', () => {
    const flags = (...argv: string[]) => {
      const parsed = parseBenchOptions(argv);
      if (!parsed.ok) throw new Error(`expected options for ${argv.join(' ')}`);
      return jobHeapFlags(parsed.options);
    };
    const sample = JSON.parse(readFileSync(join(ROOT, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    expect(flags()).toEqual(sample.Values.languageWorkers__node__arguments?.split(' '));
    expect(flags('--heap-growing-percent', '0')).toEqual([]);
    expect(flags('--heap-limit-mb', '512', '--heap-growing-percent', '0')).toEqual(['--max-old-space-size=512']);
    expect(flags('--heap-growing-percent', '50', '--heap-limit-mb', '2048')).toEqual(['--max-old-space-size=2048', '--heap-growing-percent=50']);
    expect(parseBenchOptions(['--heap-growing-percent', '-1'])).toMatchObject({ ok: false });
  });
});

describe('--cart-unread-kb', () => {
  test('gives each cart about that many KB of fields the connector does not read, and changes nothing it reads', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const lean = generateStore({ carts: 200, seed: 7, now }).data.carts;
    const fat = generateStore({ carts: 200, seed: 7, now, shape: { ...DEFAULT_SHAPE, unreadKb: 6 } }).data.carts;
    const sizes = fat.map((cart, i) => JSON.stringify(cart).length - JSON.stringify(lean[i]).length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(6 * 1024 * 0.9);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6 * 1024 * 1.1);
    fat.forEach((cart, i) => expect(parseCart(cart)).toEqual(parseCart(lean[i])));
  });

  test('is an option of npm run bench, 0 by default', () => {
    const parsed = (...argv: string[]) => parseBenchOptions(argv);
    expect(parsed()).toMatchObject({ ok: true, options: { cartUnreadKb: 0 } });
    expect(parsed('--cart-unread-kb', '6')).toMatchObject({ ok: true, options: { cartUnreadKb: 6 } });
    expect(parsed('--cart-unread-kb', '-1')).toMatchObject({ ok: false });
    const options = parsed('--cart-unread-kb', '6');
    if (!options.ok) throw new Error('expected options');
    expect(scenarioConfigs(options.options, new Date()).map((scenario) => scenario.shape.unreadKb)).toEqual([6, 6]);
  });
});
