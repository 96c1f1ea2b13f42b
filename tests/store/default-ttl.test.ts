import { randomUUID } from 'node:crypto';
import { CosmosClient } from '@azure/cosmos';
import { createCosmosContainer } from '../../src/store/cosmos-client';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import { fastRetries } from './fixture';
import { startCosmosServer, type CosmosTestServer } from '../support/cosmos-server';

let server: CosmosTestServer;
beforeAll(async () => {
  server = await startCosmosServer();
});
afterAll(async () => {
  await server.close();
});

test('a container made by hand with a default TTL (say 7 days): checkpoints and leases must not inherit it', async () => {
  const databaseId = `db-${randomUUID()}`;
  // An operator follows "records carry a TTL" and turns TTL on with a default, in the portal.
  const admin = new CosmosClient({ endpoint: server.endpoint, key: server.key });
  const { database } = await admin.databases.createIfNotExists({ id: databaseId });
  await database.containers.createIfNotExists({ id: 'AbandonedCarts', partitionKey: { paths: ['/pk'] }, defaultTtl: 7 * 86_400 });
  admin.dispose();

  const logs: LogRecord[] = [];
  const logger = createLogger((record) => logs.push(record), 'debug');
  const container = await createCosmosContainer({ endpoint: server.endpoint, key: server.key, databaseId, logger });
  const ledger = new CosmosLedger({ container, logger, retryPolicy: fastRetries });
  await ledger.saveCheckpoint({ operatingUnitNumber: '128', channelId: 1, lastModifiedAt: '2024-05-01T07:00:00.000Z', cartIdsAtLastModified: [], runId: 'r', updatedAt: '2024-05-01T07:00:00.000Z' });
  const id = 'checkpoint-128-1';
  const { resource } = await container.item(id, id).read<Record<string, unknown>>();
  container.database.client.dispose();

  // The checkpoint carries no ttl, so Cosmos DB applies the container's 7 days: a unit whose timer
  // is stopped for a week would lose its checkpoint, and the next run start at now - Include, past
  // every cart in between. Start-up says so, with the fix.
  expect(resource?.ttl).toBeUndefined();
  expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/default time to live: checkpoints and leases will expire/) }));
});
