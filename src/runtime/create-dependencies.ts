import type { Container } from '@azure/cosmos';
import type { TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { createSecretResolver, type SecretRequest, type SecretResolver } from '../config/secrets';
import type { Settings } from '../config/settings';
import type { JobDependencies, JobSettings } from '../job/run-abandoned-cart-job';
import { createEmarsysProvider } from '../providers/emarsys';
import type { IEmailProvider } from '../providers/email-provider';
import { createRetailServerClient, type RetailServerClient } from '../retail/retail-client';
import { createRetailTokenProvider, type RetailTokenProvider } from '../retail/token-provider';
import { systemClock, type Clock } from '../shared/clock';
import { RemoteServiceError } from '../shared/errors';
import { contextLogger, silentLogger, type Logger } from '../shared/logger';
import type { RetryPolicy } from '../shared/retry';
import { createCosmosContainer } from '../store/cosmos-client';
import { CosmosLedger } from '../store/cosmos-ledger';
import { ModeledLedger } from '../store/modeled-ledger';
import type { NotificationLedger } from '../store/ledger';

// The composition root: turns validated settings into the job's real dependencies (MSAL and the
// Retail Server client, the Cosmos ledger, the Emarsys provider). Clients are built once per
// settings and reused, so MSAL's token cache, the Emarsys OAuth token and Cosmos connections
// survive from one Functions invocation to the next.

export interface RuntimeOptions {
  settings: Settings;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Key Vault and Cosmos DB (without a key) authenticate with this; default DefaultAzureCredential. */
  credential?: TokenCredential;
  keyVaultClientOptions?: SecretClientOptions;
  /** Overrides the retry policy of every client (tests shorten the waits). */
  retryPolicy?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  /** Per HTTP request to Retail Server, the token endpoint and Emarsys (default 30 s). */
  timeoutMs?: number;
  /**
   * An email provider to use instead of Emarsys (the local run's preview). Its credentials are
   * then not read. Only its name keys the cache (see `cacheKey`).
   */
  provider?: IEmailProvider;
  /**
   * A dry run's, and a run report read's: the ledger's database and container are not created when
   * missing; without them the ledger reads as empty (nothing was ever reminded or reported there).
   */
  readOnly?: boolean;
}

/** The clients a run is given besides its ledger, clock, logger and settings. */
type JobClients = Omit<JobDependencies, 'clock' | 'logger' | 'ledger' | 'settings'>;

interface CachedRuntime {
  /** Every client's: each line goes to the invocation, and carries the fields of the run, that made the call. */
  logger: Logger;
  container: Promise<Container>;
  ledger: Promise<NotificationLedger>;
  job: Promise<JobClients> | undefined;
  /** Which build of `job` is current: a refused credential drops only the build that met it. */
  generation: object | undefined;
  secrets: SecretResolver;
  newSecretResolver: () => SecretResolver;
}

const cache = new Map<string, CachedRuntime>();

/**
 * What keys the clients: the settings, whether a credential was given, the provider's name, the
 * timeout and read-only (a read-only use takes the writable entry when there is one, `entry`). The other options (credential and provider objects, clock, retry policy,
 * sleep, env, Key Vault client options) are taken from the call that built the clients: a process
 * gives the same ones on every call (the Functions host and the CLI do; each test file has its own
 * module cache, and `disposeRuntimes` forgets every client).
 */
function cacheKey(options: RuntimeOptions): string {
  return JSON.stringify([options.settings, options.credential ? 'custom-credential' : 'default', options.provider?.name ?? 'emarsys', options.timeoutMs ?? 0, options.readOnly === true]);
}

function entry(options: RuntimeOptions): CachedRuntime {
  const key = cacheKey(options);
  if (options.readOnly === true) {
    // A dry run or a report read in a process whose runs built their clients: the secrets, the
    // MSAL client and the Cosmos DB client are those (SPEC 3, 4: once per process), and the
    // ledger they opened exists, so reading it creates nothing. Also when a read came first.
    const writable = cache.get(cacheKey({ ...options, readOnly: false }));
    if (writable) return writable;
  }
  let cached = cache.get(key);
  if (cached) return cached;
  if (options.readOnly !== true) {
    // The process's first run after a read: from now on the reads use the run's clients, and the
    // read's Cosmos DB client stops refreshing its endpoints (a read still using it finishes).
    const readKey = cacheKey({ ...options, readOnly: true });
    const read = cache.get(readKey);
    cache.delete(readKey);
    void read?.container.then((container) => container.database.client.dispose(), () => undefined);
  }
  const logger = contextLogger(options.logger);
  const { settings } = options;
  const container = createCosmosContainer({
    endpoint: settings.cosmos.endpoint,
    key: settings.cosmos.primaryKey,
    databaseId: settings.cosmos.databaseId,
    containerId: settings.cosmos.containerId,
    credential: options.credential,
    logger,
    createIfMissing: options.readOnly !== true,
  });
  const ledger: Promise<NotificationLedger> = container.then(
    (created) =>
      new CosmosLedger({
        container: created,
        ttlDays: settings.cosmos.ttlDays,
        logger,
        clock: options.clock,
        retryPolicy: options.retryPolicy,
        retryHooks: options.sleep ? { sleep: options.sleep } : undefined,
      }),
    (error: unknown) => {
      if (!(options.readOnly === true && isMissingLedger(error))) throw error;
      // Not kept: once a run has created the container, the next read-only use reads it.
      cache.delete(key);
      logger.info('The ledger does not exist yet; it is read as empty and nothing is created', {
        databaseId: settings.cosmos.databaseId,
        containerId: settings.cosmos.containerId,
      });
      return new ModeledLedger({ latencyMs: 0 });
    },
  );
  // A failed start (wrong endpoint, no permission) is not kept: the next invocation tries again.
  ledger.catch(() => cache.delete(key));
  const newSecretResolver = () =>
    createSecretResolver({
      vaultUrl: settings.keyVault.uri,
      env: options.env,
      credential: options.credential,
      keyVaultClientOptions: options.keyVaultClientOptions,
    });
  cached = {
    logger,
    container,
    ledger,
    job: undefined,
    generation: undefined,
    secrets: newSecretResolver(),
    newSecretResolver,
  };
  cache.set(key, cached);
  return cached;
}

export function secretRequests(settings: Settings): { retail: SecretRequest[]; emarsys: SecretRequest[] } {
  const e = settings.emarsys;
  const named = (name: string | undefined, setting: string): SecretRequest[] => (name ? [{ name, setting }] : []);
  return {
    retail: [
      { name: settings.retail.appIdSecretName, setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' },
      { name: settings.retail.appSecretSecretName, setting: 'RetailServerClientOptions.AppSecretKeyVaultSecretName' },
    ],
    emarsys:
      e.authMode === 'wsse'
        ? [
            ...named(e.userNameSecretName, 'EmarsysClientOptions.ApiUserNameKeyVaultSecretName'),
            ...named(e.secretSecretName, 'EmarsysClientOptions.ApiSecretKeyVaultSecretName'),
          ]
        : [
            ...named(e.clientIdSecretName, 'EmarsysClientOptions.ClientIdKeyVaultSecretName'),
            ...named(e.clientSecretSecretName, 'EmarsysClientOptions.ClientSecretKeyVaultSecretName'),
          ],
  };
}

/** What the clients need besides settings and secrets; all optional. */
export interface ClientExtras {
  logger?: Logger;
  clock?: Clock;
  retryPolicy?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  timeoutMs?: number;
  /** Called when Microsoft Entra refuses the Retail Server app's credentials for good. */
  onRetailCredentialsRefused?: () => void;
  /** Called when Emarsys (or its token endpoint) refuses the credentials for good. */
  onEmarsysCredentialsRefused?: () => void;
}

/** The MSAL token provider for Retail Server, for these settings and resolved secrets. */
export function retailTokenProviderFor(settings: Settings, secrets: ReadonlyMap<string, string>, extras: ClientExtras = {}): RetailTokenProvider {
  return createRetailTokenProvider({
    tenantId: settings.retail.tenantId,
    clientId: secrets.get(settings.retail.appIdSecretName) ?? '',
    clientSecret: secrets.get(settings.retail.appSecretSecretName) ?? '',
    authorityHost: settings.retail.authorityHost,
    audience: settings.retail.audience,
    logger: extras.logger,
    ...(extras.timeoutMs ? { timeoutMs: extras.timeoutMs } : {}),
    ...(extras.onRetailCredentialsRefused ? { onRefused: extras.onRetailCredentialsRefused } : {}),
  });
}

/** The Retail Server client for these settings and resolved secrets (with its own token provider unless given one). */
export function retailClientFor(
  settings: Settings,
  secrets: ReadonlyMap<string, string>,
  extras: ClientExtras = {},
  tokenProvider: RetailTokenProvider = retailTokenProviderFor(settings, secrets, extras),
): RetailServerClient {
  return createRetailServerClient({
    baseUrl: settings.retail.baseUrl,
    operatingUnitNumber: settings.retail.operatingUnitNumber,
    apiVersion: settings.retail.apiVersion,
    tokenProvider,
    maxConcurrency: settings.retail.maxConcurrency,
    logger: extras.logger,
    ...(extras.retryPolicy ? { retry: extras.retryPolicy } : {}),
    ...(extras.sleep ? { sleep: extras.sleep } : {}),
    ...(extras.timeoutMs ? { timeoutMs: extras.timeoutMs } : {}),
  });
}

/** Whether creating the container failed because the ledger's database or container does not exist. */
function isMissingLedger(error: unknown): boolean {
  return error instanceof RemoteServiceError && error.service === 'CosmosDB' && error.operation === 'read container' && error.statusCode === 404;
}

/** The Emarsys provider for these settings and resolved secrets. */
export function emarsysProviderFor(settings: Settings, secrets: ReadonlyMap<string, string>, extras: ClientExtras = {}): IEmailProvider {
  const secret = (name: string | undefined) => secrets.get(name ?? '') ?? '';
  const e = settings.emarsys;
  return createEmarsysProvider({
    apiUrl: e.apiUrl,
    externalEventId: e.externalEventId,
    contactKeyId: e.contactKeyId,
    batchSize: e.batchSize,
    auth:
      e.authMode === 'wsse'
        ? { mode: 'wsse', userName: secret(e.userNameSecretName), secret: secret(e.secretSecretName) }
        : { mode: 'oauth2', tokenUrl: e.tokenUrl, clientId: secret(e.clientIdSecretName), clientSecret: secret(e.clientSecretSecretName) },
    clock: extras.clock,
    logger: extras.logger ?? silentLogger,
    retry: extras.retryPolicy,
    sleep: extras.sleep,
    timeoutMs: extras.timeoutMs,
    onCredentialsRefused: extras.onEmarsysCredentialsRefused,
  });
}

async function buildClients(options: RuntimeOptions, cached: CachedRuntime, generation: object): Promise<JobClients> {
  const { settings } = options;
  const requests = secretRequests(settings);
  const resolver = cached.secrets;
  const secrets = await resolver.resolveAll([...requests.retail, ...(options.provider ? [] : requests.emarsys)]);
  // Entra or Emarsys refused credentials (expired, or rotated in Key Vault since they were read):
  // the next invocation reads the secrets again and builds new clients, instead of failing with
  // the old ones until the Function App restarts.
  const readSecretsAgain = () => {
    if (cached.generation !== generation) return;
    cached.job = undefined;
    cached.generation = undefined;
    if (cached.secrets === resolver) cached.secrets = cached.newSecretResolver();
  };
  const extras: ClientExtras = {
    logger: cached.logger,
    clock: options.clock,
    retryPolicy: options.retryPolicy,
    sleep: options.sleep,
    timeoutMs: options.timeoutMs,
    onRetailCredentialsRefused: readSecretsAgain,
    onEmarsysCredentialsRefused: readSecretsAgain,
  };
  return {
    retail: retailClientFor(settings, secrets, extras),
    provider: options.provider ?? emarsysProviderFor(settings, secrets, extras),
  };
}

export function jobSettings(settings: Settings): JobSettings {
  return {
    operatingUnitNumber: settings.retail.operatingUnitNumber,
    includeMinutes: settings.retail.includeMinutes,
    excludeMinutes: settings.retail.excludeMinutes,
    pageSize: settings.retail.pageSize,
    includeAnonymous: settings.retail.includeAnonymous,
    returnToCartUrl: settings.retail.returnToCartUrl,
    imageServerUrl: settings.media.imageServerUrl,
    viewPorts: settings.media.viewPorts,
    claimTimeoutMinutes: settings.cosmos.claimTimeoutMinutes,
    maxSendAttempts: settings.emarsys.maxSendAttempts,
    recordTtlDays: settings.cosmos.ttlDays,
    pageConcurrency: settings.retail.pageConcurrency,
    maxRunMinutes: settings.retail.maxRunMinutes,
    surveySlices: 2 * settings.retail.maxConcurrency,
  };
}

/** The job's dependencies for these settings (secrets resolved, clients reused). */
export async function createJobDependencies(options: RuntimeOptions): Promise<JobDependencies> {
  const cached = entry(options);
  if (!cached.job) {
    const generation = {};
    cached.generation = generation;
    cached.job = buildClients(options, cached, generation);
    cached.job.catch(() => {
      if (cached.generation !== generation) return;
      cached.job = undefined;
      cached.generation = undefined;
    });
  }
  const [clients, ledger] = await Promise.all([cached.job, cached.ledger]);
  return { ...clients, ledger, clock: options.clock ?? systemClock, logger: options.logger, settings: jobSettings(options.settings) };
}

/** Only the ledger, for reading stored run reports. */
export async function createLedger(options: RuntimeOptions): Promise<NotificationLedger> {
  return entry(options).ledger;
}

/** Closes the Cosmos clients built so far and forgets every cached client. */
export async function disposeRuntimes(): Promise<void> {
  const entries = [...cache.values()];
  cache.clear();
  await Promise.all(
    entries.map(async (cached) => {
      const container = await cached.container.catch(() => undefined);
      container?.database.client.dispose();
    }),
  );
}
