import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CosmosClient } from '@azure/cosmos';
import { LOCAL_OPERATING_UNIT, runLocal, type LocalRunOptions } from '../../src/local/run-local';
import { silentLogger } from '../../src/shared/logger';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { buildSimulatorData, cartRecord, customerRecord, DEFAULT_CHANNEL_ID, productRecord } from '../../src/simulators/retail-server';
import { startCosmosServer } from '../support/cosmos-server';
import { startHarness } from '../support/harness';
import { testTls } from '../support/test-tls';

/** What `npm run local` keeps between runs, and what `--reset` forgets. */
const options = (dir: string, extra: Partial<LocalRunOptions> = {}): LocalRunOptions => ({
  stateDir: join(dir, 'state'),
  outDir: join(dir, 'emails'),
  reset: false,
  provider: 'preview',
  env: {},
  tls: testTls(),
  logger: silentLogger,
  announce: () => undefined,
  ...extra,
});

test('--reset forgets the previews, not everything else in the --out folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-reset-'));
  // --out names a folder that already holds the user's own files (--out . would be the project).
  const out = join(dir, 'my-documents');
  mkdirSync(join(out, 'project'), { recursive: true });
  mkdirSync(join(out, 'images'), { recursive: true });
  writeFileSync(join(out, 'notes.txt'), 'not a preview');
  writeFileSync(join(out, 'settings.json'), '{ "mine": true }');
  writeFileSync(join(out, 'project', 'main.c'), 'int main(void) { return 0; }');
  writeFileSync(join(out, 'images', 'holiday.jpg'), 'a photo');
  const first = await runLocal(options(dir, { outDir: out }));
  expect(first.report.carts.notified).toBeGreaterThan(0);
  const previews = readdirSync(out).filter((name) => name.endsWith('.html'));
  expect(previews.length).toBe(first.report.carts.notified + 1);

  await runLocal(options(dir, { outDir: out, reset: true }));
  expect(readdirSync(out).sort()).toEqual(expect.arrayContaining(['images', 'notes.txt', 'project', 'settings.json']));
  expect(existsSync(join(out, 'project', 'main.c'))).toBe(true);
  expect(readdirSync(join(out, 'images'))).toContain('holiday.jpg');
}, 60_000);

describe('npm run local against a Cosmos DB of the user\'s (--cosmos-endpoint)', () => {
  let cosmos: Awaited<ReturnType<typeof startCosmosServer>>;
  beforeEach(async () => {
    cosmos = await startCosmosServer();
  });
  afterEach(async () => {
    await cosmos.close();
  });

  test('--reset starts over: the store seeded anew is not read from the old checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-reset-cosmos-'));
    const extra = { cosmosEndpoint: cosmos.endpoint, cosmosKey: cosmos.key };
    const first = await runLocal(options(dir, extra));
    expect(first.report.carts.notified).toBeGreaterThan(0);
    expect((await runLocal(options(dir, extra))).report.carts.notified).toBe(0);
    const reset = await runLocal(options(dir, { ...extra, reset: true }));
    expect(reset.report.carts.notified).toBe(first.report.carts.notified);
  }, 60_000);

  test('a lease a stopped run left behind (it never runs out on the local clock) goes with --reset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-lease-'));
    const base = options(dir, { cosmosEndpoint: cosmos.endpoint, cosmosKey: cosmos.key });
    const first = await runLocal(base);
    expect(first.report.status).toBe('completed');
    // A later run was stopped a few seconds in, holding the unit's lease, stamped with the local clock.
    const client = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key });
    try {
      const ledger = new CosmosLedger({ container: client.database('AbandonedCartDB').container('AbandonedCarts') });
      const at = new Date(Date.parse(first.report.startedAt) + 5_000);
      expect((await ledger.acquireLease(LOCAL_OPERATING_UNIT, 'stopped-run', at, 15 * 60_000)).acquired).toBe(true);
    } finally {
      client.dispose();
    }
    expect((await runLocal(base)).report.status).toBe('unit-busy');
    const reset = await runLocal({ ...base, reset: true });
    expect({ status: reset.report.status, notified: reset.report.carts.notified }).toEqual({ status: 'completed', notified: first.report.carts.notified });
  }, 60_000);
});

test('npm run local against the account of a deployment leaves its unit alone: its lease and checkpoint outlive a local run and --reset', async () => {
  // A test deployment on Commerce demo data: unit 128, the channel the local store has too, its
  // ledger in the default database and container, which --cosmos-endpoint points the local run at.
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
  const h = await startHarness({
    now: 'live',
    env: { AzureCosmosOptions__DatabaseId: 'AbandonedCartDB' },
    data: buildSimulatorData({
      customers: [customerRecord('C1')],
      products: [productRecord(1)],
      carts: [cartRecord({ id: 'cart-1', customerId: 'C1', modifiedDateTime: minutesAgo(60), lines: [{ productId: 1 }] })],
    }),
  });
  try {
    expect(await h.run()).toMatchObject({ status: 'completed', channelId: DEFAULT_CHANNEL_ID, carts: { notified: 1 } });
    const ledger = await h.ledger();
    const checkpoint = await ledger.getCheckpoint('128', DEFAULT_CHANNEL_ID);
    expect(checkpoint).toBeDefined();
    // The deployment's next run is working when the developer tries the local run.
    const held = await ledger.acquireLease('128', 'deployment-run', h.clock.now(), 15 * 60_000);
    if (!held.acquired) throw new Error('the deployment could not take its lease');

    const dir = mkdtempSync(join(tmpdir(), 'local-beside-deployment-'));
    const base = options(dir, { cosmosEndpoint: h.cosmos.endpoint, cosmosKey: h.cosmos.key });
    const first = await runLocal(base);
    expect({ status: first.report.status, notified: first.report.carts.notified > 0 }).toEqual({ status: 'completed', notified: true });
    const reset = await runLocal({ ...base, reset: true });
    expect(reset.report.carts.notified).toBe(first.report.carts.notified);

    expect(await ledger.getCheckpoint('128', DEFAULT_CHANNEL_ID)).toEqual(checkpoint);
    await expect(ledger.renewLease(held.lease, h.clock.now(), 15 * 60_000)).resolves.toMatchObject({ runId: 'deployment-run' });
  } finally {
    await h.close();
  }
}, 60_000);
