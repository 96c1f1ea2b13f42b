import { ClientSecretCredential } from '@azure/identity';
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies, createLedger, disposeRuntimes } from '../../src/runtime/create-dependencies';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startKeyVaultStandIn } from '../support/key-vault-stand-in';
import {
  EMARSYS_SECRET,
  EMARSYS_USER,
  fastRetry,
  RETAIL_CLIENT_ID,
  RETAIL_CLIENT_SECRET,
  startHarness,
  TENANT_ID,
  VAULT_READER_ID,
  VAULT_READER_SECRET,
  type Harness,
} from '../support/harness';
import { testTls } from '../support/test-tls';

const NOW = '2026-11-23T12:00:00Z';
const data = () =>
  buildSimulatorData({
    customers: [customerRecord('C1'), customerRecord('C2')],
    products: [productRecord(1)],
    carts: [
      cartRecord({ id: 'a', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'b', customerId: 'C2', modifiedDateTime: '2026-11-23T09:30:00Z', lines: [{ productId: 1 }] }),
    ],
  });

describe('the composition root wires settings to real clients', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('Emarsys over OAuth 2.0: one token for the run, the v3 trigger endpoint', async () => {
    h = await startHarness({ now: NOW, data: data(), emarsysAuth: 'oauth2' });
    const report = await h.run();
    expect(report.carts.notified).toBe(2);
    expect(h.emarsys.tokensIssued).toBe(1);
    const triggers = h.emarsys.requests.filter((r) => r.kind === 'trigger');
    expect(triggers.every((r) => r.path.includes('/api/v3/event/4711/trigger') && r.headerNames.includes('authorization'))).toBe(true);
    expect(triggers.some((r) => r.headerNames.includes('x-wsse'))).toBe(false);
  });

  /** A Key Vault stand-in holding `retailSecret` (and the other secrets), and the runtime options that read from it. */
  async function vaultRuntime(retailSecret: string, emarsysSecret = EMARSYS_SECRET) {
    const vault = await startKeyVaultStandIn({
      tls: testTls(),
      authorityUrl: `${h.tokens.authorityHost}/${TENANT_ID}`,
      isValidToken: (token) => h.tokens.isValidToken(token, 'https://vault.azure.net'),
      secrets: { 'retail-app-id': RETAIL_CLIENT_ID, 'retail-app-secret': retailSecret, 'emarsys-user': EMARSYS_USER, 'emarsys-secret': emarsysSecret },
    });
    const options = {
      settings: h.settings({ KeyVaultOptions__KeyVaultURI: vault.vaultUrl }),
      // No secret in the environment: everything comes from the vault.
      env: {},
      logger: silentLogger,
      clock: h.clock,
      retryPolicy: fastRetry,
      sleep: async () => undefined,
      credential: new ClientSecretCredential(TENANT_ID, VAULT_READER_ID, VAULT_READER_SECRET, {
        authorityHost: h.tokens.authorityHost,
        disableInstanceDiscovery: true,
      }),
      keyVaultClientOptions: { disableChallengeResourceVerification: true },
    };
    return { vault, options };
  }

  test('secrets from Key Vault with the configured credential, read once per process', async () => {
    h = await startHarness({ now: NOW, data: data() });
    const { vault, options } = await vaultRuntime(RETAIL_CLIENT_SECRET);
    try {
      const deps = await createJobDependencies(options);
      await createJobDependencies(options);
      expect(vault.reads.sort()).toEqual(['emarsys-secret', 'emarsys-user', 'retail-app-id', 'retail-app-secret']);
      const report = await runAbandonedCartJob(deps, { trigger: 'cli' });
      expect(report.carts.notified).toBe(2);
    } finally {
      await vault.close();
    }
  });

  test('a dry run in a warm process reuses the runs\' secrets, Retail Server token and Cosmos DB client', async () => {
    h = await startHarness({ now: NOW, data: data() });
    const { vault, options } = await vaultRuntime(RETAIL_CLIENT_SECRET);
    const retailTokens = () => h.tokens.requests.filter((r) => r.method === 'POST' && (r.form.scope ?? '').includes('commerce.dynamics.com')).length;
    try {
      await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect(vault.reads).toHaveLength(4);
      expect(retailTokens()).toBe(1);
      const cosmosBefore = h.cosmos.requests().length;

      // As runJobFromSettings builds a dry rerun's dependencies.
      const dry = await runAbandonedCartJob(await createJobDependencies({ ...options, readOnly: true }), { trigger: 'http', dryRun: true });
      expect(dry.status).toBe('completed');
      expect(vault.reads).toHaveLength(4);
      expect(retailTokens()).toBe(1);
      // No second Cosmos client: neither the account nor the container is read again.
      expect(h.cosmos.requests().slice(cosmosBefore).filter((r) => r.method === 'GET' && !r.path.includes('/docs'))).toEqual([]);
    } finally {
      await vault.close();
    }
  });

  // A read-only use built clients of its own when no run had built them yet, and kept them: a
  // report read before a process's first run meant every later dry run read the secrets again and
  // asked Entra for a token of its own, beside a second Cosmos DB client.
  test('a report read before the first run of a warm process: the dry runs after it still reuse the runs\' clients', async () => {
    h = await startHarness({ now: NOW, data: data() });
    const { vault, options } = await vaultRuntime(RETAIL_CLIENT_SECRET);
    const retailTokens = () => h.tokens.requests.filter((r) => r.method === 'POST' && (r.form.scope ?? '').includes('commerce.dynamics.com')).length;
    try {
      // An earlier process made the ledger's container; this one starts cold.
      await createLedger(options);
      await disposeRuntimes();

      // As readRunReport reads a report (GET /runs/{runId}) before the timer's first run.
      await (await createLedger({ ...options, readOnly: true })).getRun('00000000-0000-4000-8000-000000000000');
      const timer = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect(timer.carts.notified).toBe(2);
      expect([vault.reads.length, retailTokens()]).toEqual([4, 1]);

      const dry = await runAbandonedCartJob(await createJobDependencies({ ...options, readOnly: true }), { trigger: 'http', dryRun: true });
      expect(dry.status).toBe('completed');
      expect([vault.reads.length, retailTokens()]).toEqual([4, 1]);
    } finally {
      await vault.close();
    }
  });

  // The composition root used to keep the Retail Server client (and the secrets it was built
  // from) for the life of the process, also after Entra refused those credentials: every timer run
  // of a warm Function App failed with the old secret until the app was restarted.
  test('after Entra refuses the client secret, the next invocation reads the secret again and completes', async () => {
    h = await startHarness({ now: NOW, data: data() });
    // The secret in the vault has expired in Entra (or was replaced there first).
    const { vault, options } = await vaultRuntime('the-expired-secret');
    try {
      const first = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect(first.status).toBe('failed');
      expect(first.error).toContain('has not expired');

      // The operator follows the message: the new client secret goes into Key Vault.
      vault.secrets.set('retail-app-secret', RETAIL_CLIENT_SECRET);
      h.clock.advanceMinutes(30);
      const next = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect({ status: next.status, error: next.error }).toEqual({ status: 'completed', error: undefined });
      expect(next.carts.notified).toBe(2);
    } finally {
      await vault.close();
    }
  });
  // The same for Emarsys: its reminders failed retryably so that a later run would send them once
  // the secret was fixed, but the provider kept the old secret until the app restarted, and after
  // MaxSendAttempts runs they failed for good.
  test('after Emarsys refuses the API secret, the next invocation reads it again and sends', async () => {
    h = await startHarness({ now: NOW, data: data() });
    // The API secret in the vault is not the one Emarsys has (it was regenerated there).
    const { vault, options } = await vaultRuntime(RETAIL_CLIENT_SECRET, 'the-old-secret');
    const refused = () => h.emarsys.requests.filter((r) => r.kind === 'trigger' && r.status === 401).length;
    try {
      const first = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect([first.carts.notified, first.carts.failed, refused() > 0]).toEqual([0, 2, true]);

      vault.secrets.set('emarsys-secret', EMARSYS_SECRET);
      h.clock.advanceMinutes(30);
      const refusedBefore = refused();
      const next = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect({ notified: next.carts.notified, refusedAgain: refused() - refusedBefore }).toEqual({ notified: 2, refusedAgain: 0 });
      expect(h.emarsys.deliveries).toHaveLength(2);
    } finally {
      await vault.close();
    }
  });
});
