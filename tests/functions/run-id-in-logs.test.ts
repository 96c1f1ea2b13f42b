import { InvocationContext } from '@azure/functions';
import { abandonedCartsTimer } from '../../src/functions/abandoned-carts-timer';
import { disposeRuntimes } from '../../src/runtime/create-dependencies';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { timerInfo } from '../support/functions-host';
import { startHarness, type Harness } from '../support/harness';

/**
 * The run's id is what the report, the stored run record and GET /runs/{runId} give an operator, so
 * every line of the run carries it: the job's own lines and those of the clients (Retail Server,
 * Emarsys, Cosmos DB), which outlive the run. Through the timer handler, as Application Insights
 * gets the lines: 200 carts that do not parse, and Emarsys refusing 50 contacts ('contact not
 * found'). These runs use the real clock (the handler builds its own dependencies), so carts sit
 * relative to now.
 */
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function data() {
  const customers = Array.from({ length: 100 }, (_, i) => customerRecord(`C${i}`));
  const good = customers.map((_, i) => cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: minutesAgo(300 - i), lines: [{ productId: 1 }] }));
  const bad = Array.from({ length: 200 }, (_, i) =>
    cartRecord({ id: `bad-${i}`, customerId: `C${i % 100}`, modifiedDateTime: minutesAgo(100 + i / 10), lines: [{ productId: 1 }], overrides: { CartLines: 'not-a-list' } }),
  );
  return buildSimulatorData({ customers, products: [productRecord(1)], carts: [...good, ...bad] });
}

describe('the log lines of a run', () => {
  let h: Harness;
  const savedEnv = { ...process.env };
  afterEach(async () => {
    process.env = { ...savedEnv };
    await disposeRuntimes();
    await h.close();
  });

  test('a timer run with bad carts and refused contacts: every line of the run carries its runId', async () => {
    // Emarsys knows only the first 50 customers: the other 50 are refused with 2008.
    h = await startHarness({ now: 'live', data: data(), knownContacts: Array.from({ length: 50 }, (_, i) => `c${i}@example.com`) });
    process.env = { ...savedEnv, ...h.env, ...h.secretsEnv, AbandonedCartSchedule: '0 */30 * * * *' };
    const lines: { level: string; text: string }[] = [];
    const context = new InvocationContext({
      functionName: 'abandonedCartsTimer',
      invocationId: 'review-invocation',
      logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
    });

    await abandonedCartsTimer(timerInfo, context);

    const finished = lines.find((line) => line.text.startsWith('Abandoned cart run finished'));
    const runId = /"runId":"([^"]+)"/.exec(finished?.text ?? '')?.[1];
    expect(runId).toBeDefined();
    const report = JSON.parse((finished as { text: string }).text.slice('Abandoned cart run finished '.length)) as { report: { carts: { failed: number; skippedByReason: Record<string, number> } } };
    expect(report.report.carts.skippedByReason['invalid-record']).toBe(200);
    expect(report.report.carts.failed).toBe(50);
    // A completed run that failed carts closes at warn.
    expect(finished?.level).toBe('warning');

    // Every level: a debug line of a client is as much the run's. The container is made ready when
    // the dependencies are built, before the run (and its id) exists.
    const ofRun = lines.filter((line) => !line.text.startsWith('Cosmos DB container ready'));
    const withoutRunId = ofRun.filter((line) => !line.text.includes(`"runId":"${runId as string}"`));
    expect(withoutRunId.map((line) => `${line.level}: ${line.text.split(' {')[0] ?? ''}`)).toEqual([]);
  });
});
