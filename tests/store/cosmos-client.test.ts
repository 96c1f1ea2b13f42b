import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CosmosClient } from '@azure/cosmos';
import { AggregateAuthenticationError, CredentialUnavailableError, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { createCosmosContainer } from '../../src/store/cosmos-client';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { ConfigurationError, RemoteServiceError } from '../../src/shared/errors';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import { startCosmosServer, type CosmosTestServer } from '../support/cosmos-server';
import { claim } from './fixture';
import { startFaultProxy } from '../../src/simulators/fault-proxy';
import { testTls } from '../support/test-tls';

let server: CosmosTestServer;
const clients: CosmosClient[] = [];

beforeAll(async () => {
  server = await startCosmosServer();
});
afterAll(async () => {
  for (const client of clients) client.dispose();
  await server.close();
});
afterEach(() => server.clearFaults());

function rawClient(): CosmosClient {
  const client = new CosmosClient({ endpoint: server.endpoint, key: server.key });
  clients.push(client);
  return client;
}

async function open(options: Partial<Parameters<typeof createCosmosContainer>[0]> = {}) {
  const container = await createCosmosContainer({ endpoint: server.endpoint, key: server.key, databaseId: `db-${randomUUID()}`, ...options });
  clients.push(container.database.client);
  return container;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected a failure');
  return error;
}

/** A stand-in Entra credential: the embedded server does not check tokens, but the client sends them. */
class FakeCredential implements TokenCredential {
  readonly scopes: string[] = [];
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return { token: 'fake-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

test('creates the database and the container with partition key /pk (hash v2), TTL on and a few indexed fields', async () => {
  const databaseId = `db-${randomUUID()}`;
  const logs: LogRecord[] = [];
  const container = await open({ databaseId, logger: createLogger((r) => logs.push(r)) });
  expect(container.id).toBe('AbandonedCarts');
  const { resource } = await rawClient().database(databaseId).container('AbandonedCarts').read();
  expect(resource?.partitionKey?.paths).toEqual(['/pk']);
  expect(resource?.partitionKey?.version).toBe(2);
  expect(resource?.defaultTtl).toBe(-1);
  expect(resource?.indexingPolicy).toMatchObject({
    indexingMode: 'consistent',
    includedPaths: ['/type/?', '/status/?', '/operatingUnitNumber/?', '/cartId/?', '/customerId/?', '/runId/?', '/updatedAt/?'].map((path) => ({ path })),
    excludedPaths: expect.arrayContaining([{ path: '/*' }]),
  });
  // Nothing to say about a container the connector made.
  expect(logs.map((r) => r.message)).toEqual(['Cosmos DB container ready']);
});

test('a container that indexes every property works, with a note on the policy that costs less per write', async () => {
  const databaseId = `db-${randomUUID()}`;
  const { database } = await rawClient().databases.create({ id: databaseId });
  // Cosmos DB's default policy, as the portal or an older connector made it (the embedded server
  // does not fill in the default, so it is spelled out).
  const defaultPolicy = { indexingMode: 'consistent' as const, automatic: true, includedPaths: [{ path: '/*' }], excludedPaths: [{ path: '/"_etag"/?' }] };
  await database.containers.create({ id: 'Indexed', partitionKey: { paths: ['/pk'], version: 2 }, defaultTtl: -1, indexingPolicy: defaultPolicy });
  const logs: LogRecord[] = [];
  const container = await open({ databaseId, containerId: 'Indexed', createIfMissing: false, logger: createLogger((r) => logs.push(r)) });
  expect(logs).toEqual([
    expect.objectContaining({
      level: 'info',
      message: expect.stringContaining('indexes every property'),
      fields: expect.objectContaining({ fix: expect.stringContaining('"excludedPaths":[{"path":"/*"}]') }),
    }),
  ]);
  const ledger = new CosmosLedger({ container });
  expect((await ledger.createNotifications([claim()])).map((result) => result.status)).toEqual(['ok']);
});

test('a container made with hash v1 (older deployments) is used as it is, and the ledger works on it', async () => {
  const databaseId = `db-${randomUUID()}`;
  const { database } = await rawClient().databases.create({ id: databaseId });
  await database.containers.create({ id: 'V1', partitionKey: { paths: ['/pk'], version: 1 }, defaultTtl: -1 });
  const container = await open({ databaseId, containerId: 'V1', createIfMissing: false });
  const ledger = new CosmosLedger({ container });
  const records = [claim(), claim(), claim()];
  expect((await ledger.createNotifications(records)).map((result) => result.status)).toEqual(['ok', 'ok', 'ok']);
  const stored = await ledger.getNotifications(records.map((record) => record.id));
  expect([...stored.values()].map(({ record }) => record)).toEqual(records);
  const sent = { ...records[0]!, status: 'sent' as const, sentAt: records[0]!.updatedAt };
  const [replaced] = await ledger.replaceNotifications([{ record: sent, etag: stored.get(sent.id)!.etag }]);
  expect(replaced?.status).toBe('ok');
  const { resource } = await database.container('V1').read();
  expect(resource?.partitionKey?.version).toBe(1);
});

test('uses an existing container as it is, and a second start changes nothing', async () => {
  const databaseId = `db-${randomUUID()}`;
  await open({ databaseId, containerId: 'Ledger' });
  server.resetRequests();
  await open({ databaseId, containerId: 'Ledger', createIfMissing: false });
  expect(server.requests().filter((r) => r.method === 'POST')).toEqual([]);
});

test('createIfMissing false: a missing database is a 404 that names it', async () => {
  const databaseId = `db-${randomUUID()}`;
  const error = await failure(open({ databaseId, createIfMissing: false }));
  expect(error).toBeInstanceOf(RemoteServiceError);
  expect(error).toMatchObject({ service: 'CosmosDB', statusCode: 404, retryable: false });
  expect(error.message).toContain(`database "${databaseId}" does not exist`);
  expect(error.message).toContain('AzureCosmosOptions.DatabaseId');
});

test('createIfMissing false: a missing container is named too', async () => {
  const databaseId = `db-${randomUUID()}`;
  await rawClient().databases.create({ id: databaseId });
  const error = await failure(open({ databaseId, containerId: 'Nope', createIfMissing: false }));
  expect(error.message).toContain('container "Nope" does not exist');
});

test('a container with another partition key is refused; TTL off is a warning', async () => {
  const databaseId = `db-${randomUUID()}`;
  const { database } = await rawClient().databases.create({ id: databaseId });
  await database.containers.create({ id: 'Other', partitionKey: { paths: ['/cartId'] } });
  await database.containers.create({ id: 'NoTtl', partitionKey: { paths: ['/pk'] } });
  const error = await failure(open({ databaseId, containerId: 'Other' }));
  expect(error.message).toMatch(/partition key \/cartId; the connector needs \/pk/);

  const logs: LogRecord[] = [];
  await open({ databaseId, containerId: 'NoTtl', logger: createLogger((r) => logs.push(r)) });
  expect(logs.filter((r) => r.level === 'warn')).toEqual([expect.objectContaining({ message: expect.stringContaining('time to live off') })]);
});

test('a rejected key says to check the key, and never shows it', async () => {
  server.failNext(1, 401);
  const error = await failure(open());
  expect(error).toBeInstanceOf(RemoteServiceError);
  expect(error).toMatchObject({ statusCode: 401, retryable: false });
  expect(error.message).toContain('AzureCosmosOptions.PrimaryKey');
  expect(error.message).not.toContain(server.key);
  expect(JSON.stringify(error)).not.toContain(server.key);
});

test('Entra auth: no key means a token credential, and 403 points at the data-plane role', async () => {
  const credential = new FakeCredential();
  await open({ key: '', credential });
  // The account's own data-plane scope, for every token asked (at least one).
  expect(credential.scopes.length).toBeGreaterThan(0);
  expect([...new Set(credential.scopes)]).toEqual([new URL('/.default', server.endpoint).href]);

  server.failNext(1, 403);
  const error = await failure(open({ key: '', credential }));
  expect(error).toMatchObject({ service: 'CosmosDB', statusCode: 403 });
  expect(error.message).toContain('Cosmos DB Built-in Data Contributor');
});

test('Entra auth without any usable credential says how to sign in', async () => {
  const credential: TokenCredential = {
    getToken: async () => {
      throw new CredentialUnavailableError('no managed identity endpoint');
    },
  };
  const error = await failure(open({ key: '', credential }));
  expect(error).toBeInstanceOf(RemoteServiceError);
  expect(error.message).toContain('no Microsoft Entra credential');

  // DefaultAzureCredential's chain, every credential of it failed.
  const chain: TokenCredential = {
    getToken: async () => {
      throw new AggregateAuthenticationError([new CredentialUnavailableError('no az login')], 'ChainedTokenCredential authentication failed.');
    },
  };
  expect((await failure(open({ key: '', credential: chain }))).message).toContain('no Microsoft Entra credential');
});

test('an endpoint that is not a URL is a configuration error', async () => {
  const error = await failure(createCosmosContainer({ endpoint: 'localhost:8081', key: 'x' }));
  expect(error).toBeInstanceOf(ConfigurationError);
  expect(error.message).toContain('AzureCosmosOptions.EndPointUri');
});

test('an endpoint nobody listens on says to check the endpoint', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const error = await failure(createCosmosContainer({ endpoint: `https://127.0.0.1:${port}`, key: server.key }));
  expect(error).toBeInstanceOf(RemoteServiceError);
  expect(error.message).toContain('could not be reached');
  expect(error.message).toContain('AzureCosmosOptions.EndPointUri');
});

test("a container read that gets no answer is sent once, not again and again for the SDK's failover of reads, and fails saying what timed out", async () => {
  const tls = testTls();
  const proxy = await startFaultProxy({ upstream: server.endpoint, tls: { key: tls.key, cert: tls.cert } });
  try {
    const databaseId = `db-${randomUUID()}`;
    await open({ databaseId });
    let onWire = 0;
    proxy.inject({ match: (request) => request.method === 'GET' && /\/colls\/AbandonedCarts$/.test(request.path), before: () => void onWire++, fault: { kind: 'hang' } });
    const error = await failure(createCosmosContainer({ endpoint: proxy.url, key: server.key, databaseId, requestTimeoutMs: 200 }));
    expect(onWire).toBe(1);
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('no answer within 200 ms') });
  } finally {
    await proxy.close();
  }
});

test("the account's read that a new client makes first, with no answer, fails the start after one request timeout, not the SDK's 121", async () => {
  const tls = testTls();
  const proxy = await startFaultProxy({ upstream: server.endpoint, tls: { key: tls.key, cert: tls.cert } });
  try {
    let onWire = 0;
    proxy.inject({ match: (request) => request.method === 'GET' && request.path === '/', before: () => void onWire++, fault: { kind: 'hang' } });
    // Counted when the start fails: the SDK may go on with its own retries until the client is gone.
    const error = await failure(createCosmosContainer({ endpoint: proxy.url, key: server.key, databaseId: `db-${randomUUID()}`, requestTimeoutMs: 200 }).finally(() => expect(onWire).toBe(1)));
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('no answer within 200 ms') });
  } finally {
    await proxy.close();
  }
});
