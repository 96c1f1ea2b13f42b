import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { atLevels, NOW, store } from '../support/bad-day-store';

/**
 * A dependency that fails every cart of a run must say so at warn or error, as Emarsys failures
 * (error 'emarsys trigger request failed') and Retail Server lookup failures (warn) do. Cosmos DB
 * refusing the claims leaves the run 'completed' (its report logged at info), so the pages say it.
 */
describe('Cosmos DB refusing the claims', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('every claim throttled past its retries: 300 of 300 carts fail, and a warn line per page names Cosmos DB, the count and why', async () => {
    h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
    h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => documentId.startsWith('cart-'));
    const report = await h.run();

    const reason = 'cosmos HTTP 429 after 4 attempts: the container needs more throughput (RU/s), or autoscale';
    expect(report.status).toBe('completed');
    expect(report.carts).toMatchObject({ seen: 300, notified: 0, failed: 300 });
    expect(report.failures).toEqual([{ reason: `ledger: ${reason}`, count: 300 }]);
    const [closing, ...pages] = atLevels(h.logs, 'warn', 'error').reverse();
    // The run's closing line is a warn too: it completed with failed carts.
    expect(closing?.message).toBe('Abandoned cart run finished');
    const loud = pages.reverse();
    expect(loud.map((log) => log.message)).toEqual(Array(report.pages).fill('Cosmos DB failed the claims of carts; they fail for this run, and a later run tries them again'));
    expect(loud.map((log) => log.fields)).toEqual(loud.map(() => expect.objectContaining({ reason, runId: report.runId })));
    expect(loud.reduce((sum, log) => sum + Number(log.fields.count), 0)).toBe(300);
  });
});

describe('Cosmos DB refusing a dry run\'s reads', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('the carts whose records it cannot read fail, and a warn line per page says so', async () => {
    h = await startFaultHarness({ now: NOW, data: store({ good: 30 }) });
    const first = await h.run();
    expect(first.carts.notified).toBe(30);
    // A dry rerun over the same window reads the records the first run wrote: throttled past its retries.
    h.cosmos.throttleOperations(Number.MAX_SAFE_INTEGER, (documentId) => documentId.startsWith('cart-'));
    const dry = await h.run({ dryRun: true, from: new Date(first.window.from), to: new Date(first.window.to) });

    expect(dry.status).toBe('completed');
    expect(dry.carts).toMatchObject({ seen: 30, failed: 30 });
    const loud = atLevels(h.logs, 'warn', 'error').filter((log) => log.fields.runId === dry.runId);
    expect(loud.map((log) => log.message)).toEqual(expect.arrayContaining(["Cosmos DB failed the reads of carts' records; the dry run counts them as failed"]));
    expect(loud.filter((log) => log.message.startsWith('Cosmos DB failed the reads')).reduce((sum, log) => sum + Number(log.fields.count), 0)).toBe(30);
  });
});
