import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/main';
import { abandonedCartsRun } from '../../src/functions/abandoned-carts-run';
import { abandonedCartsTimer } from '../../src/functions/abandoned-carts-timer';
import type { RunReport } from '../../src/job/report';
import { disposeRuntimes } from '../../src/runtime/create-dependencies';
import { sleep } from '../../src/shared/clock';
import { buildSimulatorData, cartRecord, customerRecord, productRecord, type SimulatorData } from '../../src/simulators/retail-server';
import { writeArtifact } from '../support/artifacts';
import { buildCli, type BuiltCli } from '../support/cli-build';
import { startCli } from '../support/cli-process';
import { capturedContext, rerunRequest, timerInfo, useAppSettings, type CapturedContext } from '../support/functions-host';
import { startHarness, type Harness } from '../support/harness';

/**
 * Overlap (issue 5): runs on the same operating unit at the same time — four at once, in this
 * process and as four CLI processes, and the timer against a manual rerun. The unit's lease lets
 * one run in; the others end at once with status `unit-busy` and say which run holds the unit
 * (HTTP 409 for the rerun). Whatever the interleaving, each cart is delivered exactly once.
 *
 * The first Emarsys answer is held back for a while, so the run that wins the lease is certainly
 * still working when the others ask for it: the outcome does not depend on scheduling luck.
 */

const CUSTOMERS = 60;
const HOLD_MS = 1_500;

/** Customer Ci has 1 to 3 carts in the window; only the newest of each may be reminded. */
function store(newestAt: number): { data: SimulatorData; expectedCartIds: string[] } {
  const carts = [];
  const expectedCartIds: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const count = (i % 3) + 1;
    for (let k = 0; k < count; k++) {
      const id = `cart-${i}-${k}`;
      // Newer carts of a customer sit later, often pages after the older ones.
      const at = new Date(newestAt - (count - k) * 3_600_000 - i * 60_000).toISOString();
      carts.push(cartRecord({ id, customerId: `C${i}`, modifiedDateTime: at, lines: [{ productId: (i % 5) + 1, quantity: k + 1 }] }));
      if (k === count - 1) expectedCartIds.push(id);
    }
  }
  return {
    data: buildSimulatorData({
      customers: Array.from({ length: CUSTOMERS }, (_, i) => customerRecord(`C${i}`)),
      products: Array.from({ length: 5 }, (_, i) => productRecord(i + 1)),
      carts,
    }),
    expectedCartIds: expectedCartIds.sort(),
  };
}

const BUSY_MESSAGE = /^Operating unit 128 is being processed by run [0-9a-f-]{36} \(lease until .*\); this run did nothing\. Try again after that run ends\.$/;

function deliveredCartIds(h: Harness): string[] {
  return h.emarsys.deliveries.map((d) => String(d.data.cartId)).sort();
}

/** What a run that found the unit leased must look like: nothing read, nothing sent, a clear reason. */
function expectBusy(report: RunReport, holderRunId?: string) {
  expect(report).toMatchObject({ status: 'unit-busy', pages: 0, carts: { seen: 0, notified: 0 } });
  expect(report.error).toMatch(BUSY_MESSAGE);
  if (holderRunId) expect(report.error).toContain(holderRunId);
}

const figures: Record<string, unknown> = {};

describe('overlapping runs on one operating unit', () => {
  let h: Harness;
  afterEach(async () => {
    await disposeRuntimes();
    await h.close();
  });

  test('four runs started together in one process: one works the unit, three report it busy, each cart sent once', async () => {
    const { data, expectedCartIds } = store(Date.parse('2026-11-23T11:00:00Z'));
    h = await startHarness({ now: '2026-11-23T12:00:00Z', data, env: { RetailServerClientOptions__PageSize: '20' } });
    h.emarsys.failNext([{ status: 200, deliver: true, delayMs: HOLD_MS }]);

    const reports = await Promise.all([h.run({ trigger: 'timer' }), h.run({ trigger: 'cli' }), h.run({ trigger: 'cli' }), h.run({ trigger: 'http' })]);

    const completed = reports.filter((r) => r.status === 'completed');
    expect(completed).toHaveLength(1);
    const holder = completed[0] as RunReport;
    for (const report of reports.filter((r) => r !== holder)) expectBusy(report, holder.runId);
    expect(holder.carts).toMatchObject({ eligible: CUSTOMERS, notified: CUSTOMERS, skippedByReason: { superseded: CUSTOMERS } });
    expect(deliveredCartIds(h)).toEqual(expectedCartIds);
    expect(h.emarsys.duplicatesDropped).toBe(0);

    // Once the unit is free, a run finds nothing left to send.
    const after = await h.run();
    expect(after).toMatchObject({ status: 'completed', carts: { notified: 0 } });
    expect(h.emarsys.deliveries).toHaveLength(CUSTOMERS);
    figures.inProcess = { runs: 4, completed: 1, busy: 3, delivered: h.emarsys.deliveries.length, expected: expectedCartIds.length };
  });

  describe('as separate processes', () => {
    let cli: BuiltCli;
    let workDir: string;
    beforeAll(() => {
      cli = buildCli();
      workDir = mkdtempSync(join(tmpdir(), 'overlap-'));
      writeFileSync(join(workDir, 'appSettings.json'), '{}\n');
    });
    afterAll(() => {
      cli.remove();
      rmSync(workDir, { recursive: true, force: true });
    });

    test('four CLI processes started together: one completes, the others exit 3 with unit-busy, each cart sent once', async () => {
      const { data, expectedCartIds } = store(Date.now() - 30 * 60_000);
      h = await startHarness({ now: 'live', data, env: { RetailServerClientOptions__PageSize: '20' } });
      // Start-up of four processes on a small CI machine takes a while: hold the first send longer.
      h.emarsys.failNext([{ status: 200, deliver: true, delayMs: 3 * HOLD_MS }]);
      // The container exists already, as it does after a deployment's first run: four processes
      // creating it at once race in the Cosmos SDK's createIfNotExists (reported separately).
      await h.ledger();
      await disposeRuntimes();
      const env = { ...h.env, ...h.secretsEnv };
      const children = Array.from({ length: 4 }, () => startCli(cli, ['run', '--json', '--settings', join(workDir, 'appSettings.json')], { env, cwd: workDir }));
      const exits = await Promise.all(children.map((child) => child.exited));

      expect(exits.map((exit) => exit.stderr.slice(0, 2000))).toEqual(Array(4).fill(''));
      const reports = exits.map((exit) => JSON.parse(exit.stdout) as RunReport);
      // Busy is its own exit code, so a scripted rerun does not take "nothing done" for done.
      expect(exits.map((exit) => exit.code)).toEqual(reports.map((r) => (r.status === 'unit-busy' ? EXIT.busy : EXIT.ok)));
      const workers = reports.filter((r) => r.status === 'completed' && r.carts.notified > 0);
      expect(workers).toHaveLength(1);
      const holder = workers[0] as RunReport;
      const busy = reports.filter((r) => r.status === 'unit-busy');
      for (const report of busy) expectBusy(report, holder.runId);
      // A process that started only after the holder had finished (a very slow start) finds nothing left to send.
      for (const report of reports.filter((r) => r !== holder && r.status !== 'unit-busy')) expect(report).toMatchObject({ status: 'completed', carts: { notified: 0 } });
      expect(busy.length).toBeGreaterThanOrEqual(1);
      expect(deliveredCartIds(h)).toEqual(expectedCartIds);
      figures.processes = { runs: 4, completed: 4 - busy.length, busy: busy.length, delivered: h.emarsys.deliveries.length, expected: expectedCartIds.length };
    });
  });

  describe('the timer and a manual rerun (the real Functions handlers)', () => {
    let restore: () => void;
    let expectedCartIds: string[];
    let window: { from: string; to: string };

    beforeEach(async () => {
      const now = Date.now();
      const built = store(now - 30 * 60_000);
      expectedCartIds = built.expectedCartIds;
      h = await startHarness({ now: 'live', data: built.data, env: { RetailServerClientOptions__PageSize: '20' } });
      restore = useAppSettings({ ...h.env, ...h.secretsEnv, AbandonedCartSchedule: '0 */30 * * * *' });
      window = { from: new Date(now - 9 * 3_600_000).toISOString(), to: new Date(now - 15 * 60_000).toISOString() };
    });
    afterEach(() => restore());

    /** Holds the first trigger, starts `first`, waits until it holds the lease (its send is in flight), then starts `second`. */
    async function oneAfterTheOther<A, B>(first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
      h.emarsys.failNext([{ status: 200, deliver: true, delayMs: HOLD_MS }]);
      const a = first();
      while (h.emarsys.requests.length === 0) await sleep(5);
      const b = second();
      return [await a, await b];
    }

    test('started together: one of them works the unit, the other ends cleanly; each cart sent once', async () => {
      h.emarsys.failNext([{ status: 200, deliver: true, delayMs: HOLD_MS }]);
      const timer = capturedContext('abandonedCartsTimer');
      const rerun = capturedContext('abandonedCartsRun');
      const [, response] = await Promise.all([abandonedCartsTimer(timerInfo, timer.context), abandonedCartsRun(rerunRequest(window), rerun.context)]);

      const timerBusy = timer.lines.some((line) => line.includes('"status":"unit-busy"'));
      expect([200, 409]).toContain(response.status);
      // Exactly one of the two found the unit busy.
      expect(timerBusy).toBe(response.status === 200);
      if (response.status === 409) expectBusy(response.jsonBody as RunReport);
      expect(deliveredCartIds(h)).toEqual(expectedCartIds);
      figures.timerAndRerunTogether = { winner: timerBusy ? 'rerun' : 'timer', delivered: h.emarsys.deliveries.length, expected: expectedCartIds.length };
    });

    test('a manual rerun while the timer works the unit: HTTP 409 with the report, naming the timer run', async () => {
      const timer = capturedContext('abandonedCartsTimer');
      const [, response] = await oneAfterTheOther(
        () => abandonedCartsTimer(timerInfo, timer.context),
        () => abandonedCartsRun(rerunRequest(window), capturedContext('abandonedCartsRun').context),
      );
      expect(response.status).toBe(409);
      const finished = timer.lines.find((line) => line.startsWith('Abandoned cart run finished')) ?? '';
      const timerRunId = /"runId":"([0-9a-f-]{36})"/.exec(finished)?.[1];
      expect(finished).toContain('"status":"completed"');
      expectBusy(response.jsonBody as RunReport, timerRunId);
      expect(deliveredCartIds(h)).toEqual(expectedCartIds);

      // The rerun, tried again once the timer is done, finds every cart already notified.
      const again = await abandonedCartsRun(rerunRequest(window), capturedContext('abandonedCartsRun').context);
      expect(again.status).toBe(200);
      expect(again.jsonBody).toMatchObject({ status: 'completed', carts: { notified: 0, skippedByReason: { 'already-notified': CUSTOMERS } } });
      expect(h.emarsys.deliveries).toHaveLength(CUSTOMERS);
    });

    /** The rerun holds the unit; the timer fires meanwhile. */
    async function timerDuringRerun() {
      const timer = capturedContext('abandonedCartsTimer');
      const rerun = capturedContext('abandonedCartsRun');
      const [response] = await oneAfterTheOther(
        () => abandonedCartsRun(rerunRequest(window), rerun.context),
        () => abandonedCartsTimer(timerInfo, timer.context),
      );
      return { response, holder: response.jsonBody as RunReport, timer, rerun };
    }

    test('the timer while a manual rerun works the unit: it ends without an error and sends nothing', async () => {
      const { response } = await timerDuringRerun();
      expect(response.status).toBe(200);
      expect(deliveredCartIds(h)).toEqual(expectedCartIds);

      // The next timer run sends nothing new: the rerun's carts are all in the ledger.
      await abandonedCartsTimer(timerInfo, capturedContext('abandonedCartsTimer').context);
      expect(h.emarsys.deliveries).toHaveLength(CUSTOMERS);
    });

    // A busy run is logged and stored like any run: for the timer, which has no HTTP answer,
    // that line is its only trace.
    test('the busy timer run leaves a report entry in its invocation log', async () => {
      const { holder, timer } = await timerDuringRerun();
      const finished = timer.lines.find((line) => line.startsWith('Abandoned cart run finished')) ?? '';
      expect(finished).toContain('"status":"unit-busy"');
      expect(finished).toContain(`being processed by run ${holder.runId}`);
    });

    // The cached clients are shared by overlapping invocations, but each line they log goes to the
    // invocation whose call made it. The clients are built by an earlier invocation (a rerun of a
    // window without carts), as after a Function App's first call: a client logging to whichever
    // invocation built it would write every line into that one's log.
    function sentLines(lines: string[]): string[] {
      return lines.filter((line) => line.startsWith('emarsys trigger sent'));
    }

    /**
     * Each line of an invocation's run carries that run's id, the clients' lines too: the run id
     * is what the report gives an operator to find the run's lines by.
     */
    function expectOwnRunId(lines: string[]) {
      const runId = /"runId":"([0-9a-f-]{36})"/.exec(lines.find((line) => line.startsWith('Abandoned cart run finished')) ?? '')?.[1];
      expect(runId).toBeDefined();
      expect(lines.filter((line) => !line.includes(`"runId":"${runId}"`))).toEqual([]);
    }

    async function clientsBuiltByAnEarlierInvocation(): Promise<CapturedContext> {
      const earlier = capturedContext('abandonedCartsRun', 'earlier-invocation');
      const empty = { from: new Date(Date.parse(window.from) - 48 * 3_600_000).toISOString(), to: new Date(Date.parse(window.from) - 47 * 3_600_000).toISOString() };
      const response = await abandonedCartsRun(rerunRequest(empty), earlier.context);
      expect(response).toMatchObject({ status: 200, jsonBody: { status: 'completed', carts: { seen: 0 } } });
      return earlier;
    }

    test("the rerun's client logs stay in the rerun's invocation log, with the rerun's run id", async () => {
      const earlier = await clientsBuiltByAnEarlierInvocation();
      const { holder, timer, rerun } = await timerDuringRerun();
      expect(holder).toMatchObject({ status: 'completed', carts: { notified: CUSTOMERS } });
      expect(sentLines(rerun.lines).length).toBeGreaterThanOrEqual(1);
      expect(sentLines(timer.lines)).toEqual([]);
      expect(sentLines(earlier.lines)).toEqual([]);
      expectOwnRunId(rerun.lines);
      expectOwnRunId(timer.lines);
    });

    test("the timer's client logs stay in the timer's invocation log, with the timer's run id", async () => {
      const earlier = await clientsBuiltByAnEarlierInvocation();
      const timer = capturedContext('abandonedCartsTimer');
      const rerun = capturedContext('abandonedCartsRun');
      const [, response] = await oneAfterTheOther(
        () => abandonedCartsTimer(timerInfo, timer.context),
        () => abandonedCartsRun(rerunRequest(window), rerun.context),
      );
      expect(response.status).toBe(409);
      expect(sentLines(timer.lines).length).toBeGreaterThanOrEqual(1);
      expect(sentLines(rerun.lines)).toEqual([]);
      expect(sentLines(earlier.lines)).toEqual([]);
      expectOwnRunId(timer.lines);
      expectOwnRunId(rerun.lines);
    });
  });

  afterAll(() => {
    writeArtifact('reliability-overlap', figures);
  });
});
