import { randomUUID } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import type { RunReport } from '../../src/job/report';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import type { RetryPolicy } from '../../src/shared/retry';
import { createCosmosContainer } from '../../src/store/cosmos-client';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { notificationId, type NotificationRecord } from '../../src/store/ledger';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../../src/simulators/fault-proxy';
import { startCosmosServer, type CosmosTestServer } from '../support/cosmos-server';
import { testTls } from '../support/test-tls';

/** Quick retries, so throttling tests take milliseconds. */
export const fastRetries: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5, maxServerDelayMs: 5 };

export interface LedgerFixture {
  server: CosmosTestServer;
  container: Container;
  ledger: CosmosLedger;
  logs: LogRecord[];
  /** A second ledger on the same container, as another run (process) would have. */
  newLedger(): CosmosLedger;
  close(): Promise<void>;
}

/** One embedded server per test file, a fresh database per call. */
export async function openLedger(server: CosmosTestServer): Promise<LedgerFixture> {
  const container = await createCosmosContainer({
    endpoint: server.endpoint,
    key: server.key,
    databaseId: `db-${randomUUID()}`,
  });
  const logs: LogRecord[] = [];
  const logger = createLogger((record) => logs.push(record), 'debug');
  const newLedger = () => new CosmosLedger({ container, logger, retryPolicy: fastRetries, ttlDays: 90 });
  return {
    server,
    container,
    ledger: newLedger(),
    logs,
    newLedger,
    close: async () => {
      container.database.client.dispose();
    },
  };
}

export { startCosmosServer };

export interface ProxiedLedgerFixture {
  server: CosmosTestServer;
  proxy: FaultProxy;
  container: Container;
  ledger: CosmosLedger;
  close(): Promise<void>;
}

/** The real client through a TLS fault proxy to its own embedded server (retries without waits). */
export async function openProxiedLedger(): Promise<ProxiedLedgerFixture> {
  const server = await startCosmosServer();
  const tls = testTls();
  const proxy = await startFaultProxy({ upstream: server.endpoint, tls: { key: tls.key, cert: tls.cert } });
  const container = await createCosmosContainer({ endpoint: proxy.url, key: server.key, databaseId: `db-${randomUUID()}` });
  const ledger = new CosmosLedger({ container, retryPolicy: fastRetries, retryHooks: { sleep: async () => {} }, ttlDays: 90 });
  return {
    server,
    proxy,
    container,
    ledger,
    close: async () => {
      container.database.client.dispose();
      await proxy.close();
      await server.close();
    },
  };
}

/** A bulk request (the SDK marks it so); the ledger's notification calls are bulk. */
export const isBulk = (request: ProxiedRequest) => String(request.headers['x-ms-cosmos-is-batch-request']).toLowerCase() === 'true';
/** A point operation on a document (checkpoints, leases, run records). */
export const isPointDocument = (request: ProxiedRequest) => /\/docs/.test(request.path) && !isBulk(request);

let sequence = 0;

/** A claim record for a made-up cart. */
export function claim(overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  sequence += 1;
  const cartId = overrides.cartId ?? `cart-${sequence}-${randomUUID().slice(0, 8)}`;
  const cartModifiedAt = overrides.cartModifiedAt ?? '2024-05-01T10:00:00.000Z';
  return {
    id: notificationId(cartId, new Date(cartModifiedAt)),
    type: 'notification',
    operatingUnitNumber: '128',
    cartId,
    cartModifiedAt,
    customerId: `C${sequence}`,
    status: 'claimed',
    runId: randomUUID(),
    attempts: 1,
    claimedAt: '2024-05-01T10:30:00.000Z',
    updatedAt: '2024-05-01T10:30:00.000Z',
    ...overrides,
  };
}

export function runReport(overrides: Partial<RunReport> = {}): RunReport {
  return {
    runId: randomUUID(),
    status: 'completed',
    dryRun: false,
    trigger: 'timer',
    operatingUnitNumber: '128',
    channelId: 5637144592,
    window: { from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T08:00:00.000Z', source: 'checkpoint' },
    pages: 2,
    carts: { seen: 10, eligible: 6, notified: 5, failed: 1, skipped: 4, skippedByReason: { superseded: 1, 'no-active-lines': 3 } },
    lines: { dropped: 1, droppedByReason: { voided: 1 } },
    invalidRecords: { customers: 0, products: 1 },
    failures: [{ reason: 'emarsys 2008', count: 1 }],
    failuresByDependency: { provider: 1 },
    calls: { 'POST Carts/Search': 2 },
    retries: {},
    checkpoint: { lastModifiedAt: '2024-05-01T07:59:00.000Z', cartIdsAtLastModified: 1 },
    startedAt: '2024-05-01T08:10:00.000Z',
    finishedAt: '2024-05-01T08:10:03.000Z',
    durationMs: 3000,
    ...overrides,
  };
}
