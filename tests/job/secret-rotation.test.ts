import { ClientSecretCredential } from '@azure/identity';
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import { createJobDependencies } from '../../src/runtime/create-dependencies';
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

/**
 * The composition root used to keep the Retail Server client (and the secrets it was
 * built from) for the life of the process, also after Entra refused those credentials. The
 * operator does what the error says (puts the new client secret in Key Vault), and every timer
 * run of the warm Function App keeps failing with the old one until the app is restarted.
 */
describe('a rotated Retail Server client secret', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('after Entra refuses the client secret, the next invocation reads the secret again and completes', async () => {
    h = await startHarness({
      now: '2026-11-23T12:00:00Z',
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'a', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] })],
      }),
    });
    const vault = await startKeyVaultStandIn({
      tls: testTls(),
      authorityUrl: `${h.tokens.authorityHost}/${TENANT_ID}`,
      isValidToken: (token) => h.tokens.isValidToken(token, 'https://vault.azure.net'),
      // The secret in the vault has expired in Entra (or was replaced there first).
      secrets: { 'retail-app-id': RETAIL_CLIENT_ID, 'retail-app-secret': 'the-expired-secret', 'emarsys-user': EMARSYS_USER, 'emarsys-secret': EMARSYS_SECRET },
    });
    try {
      const options = {
        settings: h.settings({ KeyVaultOptions__KeyVaultURI: vault.vaultUrl }),
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
      const first = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect(first.status).toBe('failed');
      expect(first.error).toContain('has not expired');

      // The operator follows the message: the new client secret goes into Key Vault.
      vault.secrets.set('retail-app-secret', RETAIL_CLIENT_SECRET);
      h.clock.advanceMinutes(30);
      const next = await runAbandonedCartJob(await createJobDependencies(options), { trigger: 'timer' });
      expect({ status: next.status, error: next.error }).toEqual({ status: 'completed', error: undefined });
      expect(next.carts.notified).toBe(1);
    } finally {
      await vault.close();
    }
  });
});
