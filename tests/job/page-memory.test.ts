import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RetailServerClient } from '../../src/retail/retail-client';
import type { IEmailProvider } from '../../src/providers/email-provider';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { surveyLatestCarts } from '../../src/job/survey';
import { directCartSearch } from '../support/direct-cart-search';
import { startHarness, type Harness } from '../support/harness';

/**
 * What a page holds while it waits on Retail Server, the store and Emarsys: its parsed carts, not
 * the records Retail Server sent. A real Commerce cart carries far more than the fields the
 * connector reads, and a page lives for several round trips; the records must be collectable as
 * soon as they are parsed. Checked with the collector itself: weak references to every record
 * Retail Server's search returned, and a full collection just before each send.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');

/** A full collection on the next turn: a weak reference holds its target until the current job ends. */
async function collectSoon(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
}

const alive = (records: readonly WeakRef<object>[]) => records.filter((record) => record.deref() !== undefined).length;

function seed() {
  const carts = Array.from({ length: 40 }, (_, i) =>
    cartRecord({ id: `cart-${String(i).padStart(2, '0')}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }, { productId: 2 }] }),
  );
  return buildSimulatorData({ customers: Array.from({ length: 40 }, (_, i) => customerRecord(`C${i}`)), products: [productRecord(1), productRecord(2)], carts });
}

describe('a page in flight', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ data: seed(), now: NOW });
  });
  afterEach(() => h.close());

  test.each<[string, Record<string, string>, { strategy?: 'sequential' }]>([
    ['one page at a time, the survey keeping the first page', { RetailServerClientOptions__PageSize: '10', RetailServerClientOptions__PageConcurrency: '1' }, {}],
    ['pages in parallel, searched again by the pass', { RetailServerClientOptions__PageSize: '5', RetailServerClientOptions__PageConcurrency: '2' }, {}],
    // The strategy is the job's option (the benchmark's), not a setting.
    ['the sequential strategy', { RetailServerClientOptions__PageSize: '10' }, { strategy: 'sequential' }],
  ])('holds none of the records Retail Server sent while it waits for its send: %s', async (_name, env, options) => {
    const records: WeakRef<object>[] = [];
    const aliveAtSends: number[] = [];
    const report = await h.run({}, env, options, (built) => {
      const retail: RetailServerClient = {
        ...built.retail,
        searchCarts: async (query) => {
          const found = await built.retail.searchCarts(query);
          for (const record of found) if (typeof record === 'object' && record !== null) records.push(new WeakRef(record));
          return found;
        },
      };
      const provider: IEmailProvider = {
        ...built.provider,
        name: built.provider.name,
        send: async (batch) => {
          await collectSoon();
          aliveAtSends.push(alive(records));
          return built.provider.send(batch);
        },
        stats: () => built.provider.stats(),
      };
      return { retail, provider };
    });

    expect(report.status).toBe('completed');
    expect(report.carts.notified).toBe(40);
    expect(records.length).toBeGreaterThanOrEqual(40);
    expect(aliveAtSends.length).toBeGreaterThan(1);
    expect(aliveAtSends).toEqual(aliveAtSends.map(() => 0));
  });

  test("the survey's copy of a small window holds the parsed carts, not the records", async () => {
    const search = directCartSearch(seed());
    const records: WeakRef<object>[] = [];
    const retail = {
      // Fresh objects per answer, as an HTTP client's JSON parse makes them.
      searchCarts: async (query: Parameters<typeof search.searchCarts>[0]) => {
        const found = JSON.parse(JSON.stringify(await search.searchCarts(query))) as object[];
        for (const record of found) records.push(new WeakRef(record));
        return found;
      },
    };
    const window = { from: new Date(START - 60_000), to: new Date(Date.parse(NOW) - 600_000), source: 'include-minutes' as const, cartIdsDoneAtFrom: [] };
    const survey = await surveyLatestCarts(retail, window, { pageSize: 10, includeAnonymous: false, slices: 4, keepCarts: 1000 }, () => undefined);

    const kept = survey.ranges.flatMap((range) => range.carts ?? []);
    expect(kept).toHaveLength(40);
    expect(kept.every(({ cart }) => cart.ok && cart.value.CartLines.length === 2)).toBe(true);
    expect(records.length).toBeGreaterThanOrEqual(40);
    await collectSoon();
    expect(alive(records)).toBe(0);
  });
});
