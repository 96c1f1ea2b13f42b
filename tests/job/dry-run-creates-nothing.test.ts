import { CosmosClient } from '@azure/cosmos';
import { EXIT, runCli } from '../../src/cli/main';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { fastRetry, startHarness, type Harness } from '../support/harness';

/**
 * A dry run "sends and records nothing". Against an account where the ledger's database and
 * container do not exist yet (the first thing an engineer tries before going live), it reads an
 * empty ledger and creates neither (once, it created both: a billed container, made by a run meant
 * to be harmless). The real run after it creates them.
 */
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('a dry run against an account without the ledger', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('creates no database or container in Cosmos DB; the real run after it does', async () => {
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'a', customerId: 'C1', modifiedDateTime: minutesAgo(60), lines: [{ productId: 1 }] })],
      }),
    });
    const cli = async (args: string[]) => {
      let stdout = '';
      const code = await runCli(args, {
        stdout: (text) => (stdout += text),
        stderr: () => undefined,
        env: { ...h.env, ...h.secretsEnv },
        runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
      });
      return { code, report: JSON.parse(stdout) as { status: string; dryRun: boolean; carts: { eligible: number; notified: number } } };
    };
    const client = new CosmosClient({ endpoint: h.cosmos.endpoint, key: h.cosmos.key });
    const databases = async () => (await client.databases.readAll().fetchAll()).resources.map((database) => database.id);
    try {
      const dry = await cli(['run', '--dry-run', '--json']);
      expect(dry).toMatchObject({ code: EXIT.ok, report: { status: 'completed', dryRun: true, carts: { eligible: 1, notified: 0 } } });
      expect(h.emarsys.deliveries).toHaveLength(0);
      expect(await databases()).not.toContain(h.env.AzureCosmosOptions__DatabaseId);

      const real = await cli(['run', '--json']);
      expect(real).toMatchObject({ code: EXIT.ok, report: { status: 'completed', carts: { notified: 1 } } });
      expect(await databases()).toContain(h.env.AzureCosmosOptions__DatabaseId);
      // With the ledger there, a dry run reads it (from its checkpoint): nothing left to remind.
      const again = await cli(['run', '--dry-run', '--json']);
      expect(again.report.carts).toMatchObject({ eligible: 0 });
    } finally {
      client.dispose();
    }
  });
});
