import { STANDARD_VIEW_PORTS_ENV } from '../../src/config/standard-viewports';
import { randomUUID } from 'node:crypto';
import { parseSettings, type Settings } from '../../src/config/settings';
import type { JobDependencies, JobRequest, JobSettings } from '../../src/job/run-abandoned-cart-job';
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import type { RunReport } from '../../src/job/report';
import { createJobDependencies, createLedger, disposeRuntimes } from '../../src/runtime/create-dependencies';
import type { NotificationLedger } from '../../src/store/ledger';
import { applyEnvironmentOverrides } from '../../src/config/sources';
import { startEmarsysStandIn, type EmarsysStandIn } from '../../src/simulators/emarsys';
import { buildSimulatorData, startRetailServerSimulator, type RetailServerSimulator, type RetailServerSimulatorOptions, type SimulatorData } from '../../src/simulators/retail-server';
import { startTokenServer, type TokenServer, type TokenServerOptions } from '../../src/simulators/token-server';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import type { RetryPolicy } from '../../src/shared/retry';
import { EMULATOR_KEY, startCosmosServer, type CosmosTestServer } from './cosmos-server';
import { TestClock } from './test-clock';
import { testTls } from './test-tls';

export const TENANT_ID = '72f988bf-0000-4000-8000-000000000001';
export const RETAIL_CLIENT_ID = 'retail-app-client-id';
export const RETAIL_CLIENT_SECRET = 'retail-app-client-secret-value';
export const EMARSYS_USER = 'contoso_api_user';
export const EMARSYS_SECRET = 'emarsys-api-secret-value';
export const EVENT_ID = '4711';
/** An identity allowed to read the Key Vault stand-in (what a managed identity is in Azure). */
export const VAULT_READER_ID = 'vault-reader';
export const VAULT_READER_SECRET = 'vault-reader-secret-value';

/** Retries that do not make tests wait. */
export const fastRetry: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5, maxServerDelayMs: 20 };

export interface Harness {
  tokens: TokenServer;
  retail: RetailServerSimulator;
  cosmos: CosmosTestServer;
  emarsys: EmarsysStandIn;
  clock: TestClock;
  /** The app settings a deployment would have, pointing at the stand-ins (no secrets in it). */
  env: Record<string, string>;
  /** The environment-variable secrets. */
  secretsEnv: Record<string, string>;
  logs: LogRecord[];
  settings(extra?: Record<string, string>): Settings;
  /**
   * One run; `deps` replaces the harness's clock or adds a progress callback for this run only, or,
   * as a function, is given the dependencies the harness built and returns the ones to replace
   * (to watch a real client's calls).
   */
  run(request?: Partial<JobRequest>, extraEnv?: Record<string, string>, job?: Partial<JobSettings>, deps?: DepsOverride): Promise<RunReport>;
  /** The same ledger the runs use. */
  ledger(): Promise<NotificationLedger>;
  close(): Promise<void>;
}

export type DepsOverride = Partial<Pick<JobDependencies, 'clock' | 'onProgress'>> | ((built: JobDependencies) => Partial<JobDependencies>);

export interface HarnessOptions {
  data?: SimulatorData;
  /** The stand-ins' and the runs' time; 'live' for tests of entry points that use the real clock. */
  now?: string | 'live';
  knownContacts?: string[];
  env?: Record<string, string>;
  /** Emarsys authentication: the sample's WSSE (default) or OAuth 2.0. */
  emarsysAuth?: 'wsse' | 'oauth2';
  /** Token lifetime and time source of the token endpoint (default: 3599 s by the real clock). */
  tokenServer?: Pick<TokenServerOptions, 'tokenLifetimeSeconds' | 'now'>;
  /** Told when a request reaches the Retail Server stand-in and when it has been answered (to count requests in flight). */
  onRetailRequest?: RetailServerSimulatorOptions['onRequest'];
  /** Added to every Retail Server answer (default none), so that requests sent at once are in flight together. */
  retailLatencyMs?: number;
}

export const EMARSYS_CLIENT_ID = 'emarsys-oauth-client';
export const EMARSYS_CLIENT_SECRET = 'emarsys-oauth-client-secret-value';

/**
 * Every stand-in the job talks to, started on 127.0.0.1 with random ports, and the settings that
 * point the real clients at them: the test equivalent of a deployed Function App.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const tls = testTls();
  const clock = new TestClock(options.now ?? '2026-11-23T12:00:00Z');
  // A stand-in that fails to start must not leave those started before it running: they are
  // closed, then the failure is thrown.
  const running: { close(): Promise<void> }[] = [];
  const started = async <T extends { close(): Promise<void> }>(start: () => Promise<T>): Promise<T> => {
    try {
      const server = await start();
      running.push(server);
      return server;
    } catch (error) {
      await Promise.allSettled(running.map((server) => server.close()));
      throw error;
    }
  };
  const tokens = await started(() => startTokenServer({
    tls,
    tenantId: TENANT_ID,
    clients: { [RETAIL_CLIENT_ID]: RETAIL_CLIENT_SECRET, [VAULT_READER_ID]: VAULT_READER_SECRET },
    ...options.tokenServer,
  }));
  const retail = await started(() => startRetailServerSimulator({
    data: options.data ?? buildSimulatorData(),
    authorize: (token) => tokens.isValidToken(token, 'https://commerce.dynamics.com'),
    tls,
    operatingUnitNumber: '128',
    onRequest: options.onRetailRequest,
    latencyMs: options.retailLatencyMs,
  }));
  const cosmos = await started(() => startCosmosServer());
  const oauth2 = options.emarsysAuth === 'oauth2';
  const emarsys = await started(() => startEmarsysStandIn({
    auth: oauth2
      ? { mode: 'oauth2', clientId: EMARSYS_CLIENT_ID, clientSecret: EMARSYS_CLIENT_SECRET }
      : { mode: 'wsse', userName: EMARSYS_USER, secret: EMARSYS_SECRET },
    knownContacts: options.knownContacts,
    knownEventIds: [EVENT_ID],
    clock,
  }));
  const env: Record<string, string> = {
    RetailServerClientOptions__TenantId: TENANT_ID,
    RetailServerClientOptions__AuthorityHost: tokens.authorityHost,
    RetailServerClientOptions__RetailServerUrl: retail.baseUrl,
    RetailServerClientOptions__OperatingUnitNumber: '128',
    RetailServerClientOptions__ReturnToCartUrl: 'https://shop.contoso.com/cart?cartId={cartId}',
    RetailServerClientOptions__AppIdKeyVaultSecretName: 'retail-app-id',
    RetailServerClientOptions__AppSecretKeyVaultSecretName: 'retail-app-secret',
    AzureCosmosOptions__EndPointUri: cosmos.endpoint,
    AzureCosmosOptions__PrimaryKey: EMULATOR_KEY,
    AzureCosmosOptions__DatabaseId: `test-${randomUUID()}`,
    EmarsysClientOptions__ApiUrl: emarsys.apiUrlTemplate,
    EmarsysClientOptions__ExternalEventId: EVENT_ID,
    EmarsysClientOptions__ApiUserNameKeyVaultSecretName: 'emarsys-user',
    EmarsysClientOptions__ApiSecretKeyVaultSecretName: 'emarsys-secret',
    ...(oauth2
      ? {
          EmarsysClientOptions__AuthMode: 'oauth2',
          EmarsysClientOptions__TokenUrl: emarsys.tokenUrl,
          EmarsysClientOptions__ClientIdKeyVaultSecretName: 'emarsys-client-id',
          EmarsysClientOptions__ClientSecretKeyVaultSecretName: 'emarsys-client-secret',
        }
      : {}),
    MediaOptions__ImageServerUrl: 'https://images.contoso.com/cms/imageFileData/search?fileName=',
    ...STANDARD_VIEW_PORTS_ENV,
    ...options.env,
  };
  const secretsEnv = {
    'retail_app_id': RETAIL_CLIENT_ID,
    'retail_app_secret': RETAIL_CLIENT_SECRET,
    'emarsys_user': EMARSYS_USER,
    'emarsys_secret': EMARSYS_SECRET,
    ...(oauth2 ? { emarsys_client_id: EMARSYS_CLIENT_ID, emarsys_client_secret: EMARSYS_CLIENT_SECRET } : {}),
  };
  const logs: LogRecord[] = [];
  const logger = createLogger((record) => logs.push(record), 'debug');
  const settings = (extra: Record<string, string> = {}) => parseSettings(applyEnvironmentOverrides({}, { ...env, ...extra }));

  return {
    tokens,
    retail,
    cosmos,
    emarsys,
    clock,
    env,
    secretsEnv,
    logs,
    settings,
    async run(request = {}, extraEnv = {}, job = {}, extraDeps = {}) {
      const deps = await createJobDependencies({
        settings: settings(extraEnv),
        env: secretsEnv,
        logger,
        clock,
        retryPolicy: fastRetry,
        sleep: async () => undefined,
        // As the entry points do (run-from-settings.ts).
        readOnly: request.dryRun === true,
      });
      const replaced = typeof extraDeps === 'function' ? extraDeps(deps) : extraDeps;
      return runAbandonedCartJob({ ...deps, ...replaced, settings: { ...deps.settings, ...job } }, { trigger: 'cli', ...request });
    },
    ledger() {
      return createLedger({ settings: settings(), env: secretsEnv, logger, clock, retryPolicy: fastRetry, sleep: async () => undefined });
    },
    async close() {
      await disposeRuntimes();
      await Promise.all([tokens.close(), retail.close(), cosmos.close(), emarsys.close()]);
    },
  };
}
