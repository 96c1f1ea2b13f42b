import {
  CosmosClient,
  IndexingMode,
  PartitionKeyDefinitionVersion,
  type Container,
  type ContainerDefinition,
  type IndexingPolicy,
  type PartitionKeyDefinition,
} from '@azure/cosmos';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { ConfigurationError, isCredentialError, RemoteServiceError } from '../shared/errors';
import { silentLogger, type Logger } from '../shared/logger';
import { COSMOS_REQUEST_TIMEOUT_MS, cosmosStatus, describeCosmosError, isTransientError, withinRequestTimeout } from './cosmos-errors';

/**
 * Connecting to the ledger's container, and making it when it is missing. Failures become errors
 * that tell the operator what to check (endpoint, key, role assignment), because a first run
 * against a misconfigured account is where most people meet this code. The key never appears in
 * an error or a log line.
 */

export const DEFAULT_DATABASE_ID = 'AbandonedCartDB';
export const DEFAULT_CONTAINER_ID = 'AbandonedCarts';
/** Every ledger document's partition key is its own id (see documents.ts). */
export const PARTITION_KEY_PATH = '/pk';
/**
 * Hash version 2 ("large partition keys"), which Microsoft recommends for every new container and
 * the Azure portal and the .NET SDK v3 create by default: version 1 hashes only a key's first 101
 * bytes. It also costs the client less CPU: it hashes every operation of a bulk request in
 * JavaScript to route it, and version 2 takes about a third less of the client's time (measured
 * with `npm run bench -- --store embedded`). A container made with version 1 works as before: the
 * client reads the container's version and hashes accordingly.
 */
const PARTITION_KEY_DEFINITION: PartitionKeyDefinition = { paths: [PARTITION_KEY_PATH], version: PartitionKeyDefinitionVersion.V2 };

/**
 * What a container the connector creates indexes: only the fields an operator filters on when
 * looking at the ledger (in Data Explorer: failed notifications of a unit, a cart's records, a
 * run's records), not every property of every document. The connector itself never queries (every
 * access is by id, see documents.ts), and Cosmos DB charges each create and replace for every
 * path it indexes: the default policy indexes each of a notification's 17 properties and every
 * field of a run report, its failure list included. Microsoft's advice for a write-heavy container
 * is this one: exclude everything, include what queries filter on.
 */
export const INDEXING_POLICY: IndexingPolicy = {
  indexingMode: IndexingMode.consistent,
  automatic: true,
  includedPaths: ['/type/?', '/status/?', '/operatingUnitNumber/?', '/cartId/?', '/customerId/?', '/runId/?', '/updatedAt/?'].map((path) => ({ path })),
  excludedPaths: [{ path: '/*' }],
};

/** Whether a container indexes every property of every document (Cosmos DB's default policy). */
export function indexesEveryProperty(definition: Pick<ContainerDefinition, 'indexingPolicy'> | undefined): boolean {
  const policy = definition?.indexingPolicy;
  return policy?.indexingMode !== IndexingMode.none && (policy?.includedPaths ?? []).some(({ path }) => path === '/*');
}

export interface CosmosContainerOptions {
  /** `AzureCosmosOptions.EndPointUri`, e.g. `https://<account>.documents.azure.com:443/`. */
  endpoint: string;
  /** `AzureCosmosOptions.PrimaryKey`. Empty or absent: Microsoft Entra auth. */
  key?: string | undefined;
  databaseId?: string | undefined;
  containerId?: string | undefined;
  /** Create the database and the container when they do not exist (default true). */
  createIfMissing?: boolean | undefined;
  /** The Entra credential when there is no key; defaults to `DefaultAzureCredential`. */
  credential?: TokenCredential | undefined;
  logger?: Logger | undefined;
  /** The SDK's request timeout, and the most each set-up call may take (default 60 s, the SDK's own). */
  requestTimeoutMs?: number | undefined;
}

type AuthMode = 'key' | 'entra';

interface SetupContext {
  endpoint: string;
  auth: AuthMode;
  databaseId: string;
  containerId: string;
  requestTimeoutMs: number;
}

/**
 * Returns the ledger's container, creating the database and the container (partition key `/pk`,
 * `defaultTtl: -1` so each document's own `ttl` applies) when `createIfMissing` allows. Dispose of
 * the client with `container.database.client.dispose()` when done.
 */
export async function createCosmosContainer(options: CosmosContainerOptions): Promise<Container> {
  const endpoint = parseEndpoint(options.endpoint);
  const auth: AuthMode = options.key ? 'key' : 'entra';
  const context: SetupContext = {
    endpoint,
    auth,
    databaseId: options.databaseId || DEFAULT_DATABASE_ID,
    containerId: options.containerId || DEFAULT_CONTAINER_ID,
    requestTimeoutMs: options.requestTimeoutMs ?? COSMOS_REQUEST_TIMEOUT_MS,
  };
  const logger = options.logger ?? silentLogger;
  const client = new CosmosClient({
    endpoint,
    ...(options.key ? { key: options.key } : { aadCredentials: options.credential ?? new DefaultAzureCredential() }),
    userAgentSuffix: 'abandoned-cart-connector',
    connectionPolicy: { requestTimeout: context.requestTimeoutMs },
  });

  try {
    const database = client.database(context.databaseId);
    const existing = await readContainer(database.container(context.containerId), context);
    let definition = existing;
    if (!definition) {
      if (options.createIfMissing === false) {
        throw await missingError(client, context);
      }
      // createIfNotExists reads, then creates: two processes starting together can both find
      // nothing and one of them gets 409. That one lost a race, not its way: read what won.
      await withinRequestTimeout(context.requestTimeoutMs, (bound) => client.databases.createIfNotExists({ id: context.databaseId }, bound)).catch((error: unknown) => {
        if (cosmosStatus(error) !== 409) throw error;
      });
      definition = await withinRequestTimeout(context.requestTimeoutMs, (bound) =>
        database.containers.createIfNotExists({ id: context.containerId, partitionKey: PARTITION_KEY_DEFINITION, defaultTtl: -1, indexingPolicy: INDEXING_POLICY }, bound),
      )
        .then(({ resource }) => resource)
        .catch(async (error: unknown) => {
          if (cosmosStatus(error) !== 409) throw error;
          return readContainer(database.container(context.containerId), context);
        });
      logger.info('Cosmos DB container ready', { databaseId: context.databaseId, containerId: context.containerId, created: true });
    }
    checkDefinition(definition, context, logger);
    return database.container(context.containerId);
  } catch (error) {
    client.dispose();
    throw setupError(error, context);
  }
}

function parseEndpoint(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigurationError([
      `AzureCosmosOptions.EndPointUri: expected an absolute URL such as https://<account>.documents.azure.com:443/, got "${value}"`,
    ]);
  }
  return url.toString();
}

/** The container's definition, or undefined when it (or its database) does not exist. */
async function readContainer(container: Container, context: SetupContext): Promise<ContainerDefinition | undefined> {
  try {
    const { resource, statusCode } = await withinRequestTimeout(context.requestTimeoutMs, (bound) => container.read(bound));
    if (statusCode === 404) return undefined;
    return resource;
  } catch (error) {
    if (cosmosStatus(error) === 404) return undefined;
    throw setupError(error, context);
  }
}

async function missingError(client: CosmosClient, context: SetupContext): Promise<RemoteServiceError> {
  let databaseExists = true;
  try {
    await withinRequestTimeout(context.requestTimeoutMs, (bound) => client.database(context.databaseId).read(bound));
  } catch (error) {
    if (cosmosStatus(error) !== 404) throw error;
    databaseExists = false;
  }
  const what = databaseExists
    ? `container "${context.containerId}" does not exist in database "${context.databaseId}"`
    : `database "${context.databaseId}" does not exist`;
  return new RemoteServiceError(
    `Cosmos DB at ${context.endpoint}: ${what}. Check AzureCosmosOptions.DatabaseId and ContainerId, or create ` +
      `the container with partition key ${PARTITION_KEY_PATH} and time to live "On (no default)".`,
    { service: 'CosmosDB', operation: 'read container', statusCode: 404, retryable: false },
  );
}

function checkDefinition(definition: ContainerDefinition | undefined, context: SetupContext, logger: Logger): void {
  const paths = definition?.partitionKey?.paths ?? [];
  if (paths.length !== 1 || paths[0] !== PARTITION_KEY_PATH) {
    throw new RemoteServiceError(
      `Cosmos DB container "${context.containerId}" has partition key ${paths.join(',') || '(none)'}; the connector needs ` +
        `${PARTITION_KEY_PATH}. A partition key cannot change: point AzureCosmosOptions.ContainerId at a new container.`,
      { service: 'CosmosDB', operation: 'read container', retryable: false },
    );
  }
  if (definition?.defaultTtl === undefined || definition.defaultTtl === null) {
    logger.warn('Cosmos DB container has time to live off: ledger records will not expire', {
      databaseId: context.databaseId,
      containerId: context.containerId,
      fix: 'set the container time to live to "On (no default)" (defaultTtl -1)',
    });
  } else if (definition.defaultTtl > 0) {
    // Checkpoints and leases carry no ttl of their own: they would take this default and expire,
    // a checkpoint after that long without a run (the next run then starts at now - Include).
    logger.warn('Cosmos DB container has a default time to live: checkpoints and leases will expire', {
      databaseId: context.databaseId,
      containerId: context.containerId,
      defaultTtlSeconds: definition.defaultTtl,
      fix: 'set the container time to live to "On (no default)" (defaultTtl -1); notification and run records carry their own ttl (AzureCosmosOptions.TimeToLiveDays)',
    });
  }
  if (indexesEveryProperty(definition)) {
    logger.info('Cosmos DB container indexes every property: each ledger write pays for indexes the connector never uses', {
      databaseId: context.databaseId,
      containerId: context.containerId,
      fix: `replace the container's indexing policy with ${JSON.stringify(INDEXING_POLICY)} (it applies online)`,
    });
  }
}

/** Turns a set-up failure into an error that says what to check. */
function setupError(error: unknown, context: SetupContext): Error {
  if (error instanceof RemoteServiceError || error instanceof ConfigurationError) return error;
  const status = cosmosStatus(error);
  const where = `Cosmos DB at ${context.endpoint}`;
  let advice: string;
  if (isCredentialError(error)) {
    advice = isEmulator(context.endpoint)
      ? 'the emulator takes its key, not Microsoft Entra sign-in: set AzureCosmosOptions.PrimaryKey to the key the emulator shows.'
      : 'no Microsoft Entra credential could get a token. Sign in (az login), give the Function App a managed ' +
        'identity, or set AzureCosmosOptions.PrimaryKey to use key auth.';
  } else if (status === 401) {
    advice =
      context.auth === 'key'
        ? 'the key was rejected. Check that AzureCosmosOptions.PrimaryKey is a read-write key of this account.'
        : 'the Microsoft Entra token was rejected. Check that the identity belongs to the tenant of the Cosmos DB account.';
  } else if (status === 403) {
    advice =
      context.auth === 'entra'
        ? 'the identity is not allowed. Assign it the Cosmos DB data-plane role "Cosmos DB Built-in Data Contributor" ' +
          '(az cosmosdb sql role assignment create); Azure RBAC roles such as Contributor do not grant data access. ' +
          'Data-plane roles cannot create databases or containers: create them beforehand (partition key /pk). ' +
          'Also check the account firewall.'
        : 'the request was refused. The account may have key auth disabled (then leave PrimaryKey empty and use ' +
          'Microsoft Entra auth) or its firewall may block this address.';
  } else if (status === undefined) {
    advice =
      'the service could not be reached. Check AzureCosmosOptions.EndPointUri, DNS and network access; for the ' +
      'emulator, check that it is running and that its certificate is trusted (NODE_EXTRA_CA_CERTS).';
  } else {
    advice = 'the request failed.';
  }
  return new RemoteServiceError(`${where}: ${advice} (${describeCosmosError(error)})`, {
    service: 'CosmosDB',
    operation: 'connect',
    ...(status === undefined ? {} : { statusCode: status }),
    retryable: isTransientError(error),
    cause: error,
  });
}

/** The Cosmos DB emulator's usual address. */
function isEmulator(endpoint: string): boolean {
  return /^https?:\/\/(localhost|127\.0\.0\.1):8081(\/|$)/i.test(endpoint);
}
