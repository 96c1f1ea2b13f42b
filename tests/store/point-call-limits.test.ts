import { CosmosClient } from '@azure/cosmos';
import type { ProxiedRequest } from '../../src/simulators/fault-proxy';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { RemoteServiceError } from '../../src/shared/errors';
import { withCallBudget } from '../../src/shared/call-budget';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { claim, isBulk, openProxiedLedger } from './fixture';

/**
 * The ledger's point calls (checkpoint, lease, run record) under throttling and failures near the
 * run's time limit, through the real client, a TLS fault proxy and the embedded server: the SDK
 * retries a throttled point call itself, so the ledger does not again; and no retry of the
 * ledger's waits past the run's time left, or a few seconds once it is spent (the wrap-up's).
 */

const NOW = '2026-11-23T12:00:00Z';
let h: FaultHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const isCheckpointWrite = (request: ProxiedRequest) => request.method === 'POST' && /\/docs$/.test(request.path) && !isBulk(request) && request.text().includes('"type":"checkpoint"');

async function start(): Promise<FaultHarness> {
  return startFaultHarness({
    now: NOW,
    data: buildSimulatorData({
      customers: [customerRecord('C1')],
      products: [productRecord(1)],
      carts: [cartRecord({ id: 'cart-C1', customerId: 'C1', modifiedDateTime: '2026-11-23T05:00:00Z', lines: [{ productId: 1 }] })],
    }),
  });
}

const ledgerRetries = () => (h as FaultHarness).logs.filter((log) => log.message === 'Retrying a Cosmos DB call' && log.fields.operation === 'save checkpoint').length;

test('a checkpoint write throttled for good is retried by the SDK alone (10 requests), not five times that by the ledger', async () => {
  h = await start();
  let onWire = 0;
  h.proxies.cosmos.inject({
    match: isCheckpointWrite,
    before: () => void onWire++,
    fault: { kind: 'status', status: 429, headers: { 'x-ms-retry-after-ms': '1', 'x-ms-substatus': '3200', 'content-type': 'application/json' }, body: '{"code":"TooManyRequests","message":"Request rate is large"}' },
  });
  const report = await h.run();
  expect({ status: report.status, ledgerRetries: ledgerRetries(), onWire }).toEqual({ status: 'failed', ledgerRetries: 0, onWire: 10 });
  expect(report.error).toMatch(/save checkpoint failed \(HTTP 429/);
});

test('the same failure within the run\'s time: retried, and the run completes', async () => {
  h = await start();
  h.proxies.cosmos.inject({ match: isCheckpointWrite, times: 1, fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
  const report = await h.run({}, { RetailServerClientOptions__MaxRunMinutes: '8' });
  expect({ status: report.status, ledgerRetries: ledgerRetries() }).toEqual({ status: 'completed', ledgerRetries: 1 });
});

const isRunWrite = (request: ProxiedRequest) => request.method === 'POST' && /\/docs$/.test(request.path) && !isBulk(request) && request.text().includes('"type":"run"');
const isLeaseRelease = (request: ProxiedRequest) => request.method === 'DELETE' && /\/docs\/lease-/.test(request.path);
const unavailable = { kind: 'status' as const, status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' };

test('a run whose pages took it past its limit and the minute after: one 503 on the lease release and on the run record is still retried', async () => {
  h = await start();
  // The page's checkpoint comes once the run is past its 8 minutes and the minute's grace.
  const pastTheLimit = h.proxies.cosmos.inject({ match: isCheckpointWrite, times: 1, before: () => h?.clock.set(new Date(Date.parse(NOW) + 10 * 60_000)) });
  const release = h.proxies.cosmos.inject({ match: isLeaseRelease, times: 1, fault: unavailable });
  const record = h.proxies.cosmos.inject({ match: isRunWrite, times: 1, fault: unavailable });
  const env = { RetailServerClientOptions__MaxRunMinutes: '8' };
  const first = await h.run({}, env);
  // Each fault met its call: the clock moved at the page's checkpoint, and the lease release and
  // the run record failed once each and were tried again.
  const retried = (operation: string) => (h as FaultHarness).logs.filter((log) => log.message === 'Retrying a Cosmos DB call' && log.fields.operation === operation).length;
  expect({ pastTheLimit: pastTheLimit.fired, release: release.fired, record: record.fired }).toEqual({ pastTheLimit: 1, release: 1, record: 1 });
  expect({ release: retried('release lease'), record: retried('save run') }).toEqual({ release: 1, record: 1 });
  // The run record landed, and is the run's report.
  expect(await (await h.ledger()).getRun(first.runId)).toEqual(first);
  // The lease was released: the next run finds the unit free.
  expect((await h.run({}, env)).status).toBe('completed');
});

describe('a point call past the run\'s time, with production-like waits', () => {
  const checkpoint = { operatingUnitNumber: '128', channelId: 1, lastModifiedAt: '2024-05-01T10:00:00.000Z', cartIdsAtLastModified: [], runId: '3f1c1d2e-0000-4000-8000-000000000001', updatedAt: '2024-05-01T10:00:00.000Z' };

  async function ledgerWithSleeps() {
    const f = await openProxiedLedger();
    const sleeps: number[] = [];
    const ledger = new CosmosLedger({ container: f.container, retryPolicy: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxServerDelayMs: 60_000 }, retryHooks: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 } });
    return { f, ledger, sleeps };
  }

  test('a wait the service asks for (30 s) is not made: the call fails at once and says the time limit stopped it', async () => {
    const { f, ledger, sleeps } = await ledgerWithSleeps();
    try {
      f.proxy.inject({ match: isCheckpointWrite, fault: { ...unavailable, headers: { 'x-ms-retry-after-ms': '30000', 'content-type': 'application/json' } } });
      const error = await withCallBudget(() => -60_000, () => ledger.saveCheckpoint(checkpoint)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteServiceError);
      expect(error).toMatchObject({ outOfTime: true, retryable: true, statusCode: 503, message: expect.stringContaining('the run reached its time limit (MaxRunMinutes)') });
      expect(sleeps).toEqual([]);
    } finally {
      await f.close();
    }
  });

  test('a write that gets no answer is given up after the wrap-up\'s try, not tried again for a request timeout each', async () => {
    // The request timeout stays the SDK's 60 s: five tries of it after the time limit would hold
    // the run minutes past the host's functionTimeout.
    const f = await openProxiedLedger();
    const sleeps: number[] = [];
    const ledger = new CosmosLedger({ container: f.container, wrapUp: { budgetMs: 40_000, minTryMs: 200 }, retryPolicy: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxServerDelayMs: 60_000 }, retryHooks: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 } });
    try {
      let onWire = 0;
      f.proxy.inject({ match: isCheckpointWrite, before: () => void onWire++, fault: { kind: 'hang' } });
      const error = await withCallBudget(() => -60_000, () => ledger.saveCheckpoint(checkpoint)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteServiceError);
      expect(error).toMatchObject({ outOfTime: true, retryable: true, message: expect.stringContaining('save checkpoint failed (no answer within 200 ms: the container silent, or throttling the request that long); not tried again: the run reached its time limit (MaxRunMinutes)') });
      expect({ onWire, sleeps }).toEqual({ onWire: 1, sleeps: [] });
    } finally {
      await f.close();
    }
  });

  test('a write that gets no answer late in the wrap-up is given up when the wrap-up\'s budget ends, not a whole try later', async () => {
    const f = await openProxiedLedger();
    const ledger = new CosmosLedger({ container: f.container, wrapUp: { budgetMs: 40_000, minTryMs: 50 }, retryPolicy: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxServerDelayMs: 60_000 }, retryHooks: { sleep: async () => {} } });
    try {
      f.proxy.inject({ match: isCheckpointWrite, fault: { kind: 'hang' } });
      // 39.7 s into the wrap-up's 40: 300 ms are left for this try.
      const error = await withCallBudget(() => -39_700, () => ledger.saveCheckpoint(checkpoint)).catch((e: unknown) => e);
      expect(error).toMatchObject({ outOfTime: true, message: expect.stringMatching(/no answer within (2\d\d|300) ms/) });
    } finally {
      await f.close();
    }
  });

  test('an outcome write whose bulk request gets no answer past the run\'s time: given up after the wrap-up\'s few seconds, the write failing for the run', async () => {
    const f = await openProxiedLedger();
    const ledger = new CosmosLedger({ container: f.container, wrapUp: { budgetMs: 40_000, minTryMs: 200 }, retryPolicy: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxServerDelayMs: 60_000 }, retryHooks: { sleep: async () => {} } });
    try {
      let onWire = 0;
      f.proxy.inject({ match: isBulk, before: () => void onWire++, fault: { kind: 'hang' } });
      const results = await withCallBudget(() => -60_000, () => ledger.createNotifications([claim()]));
      expect(results).toEqual([expect.objectContaining({ status: 'error', retryable: true })]);
      expect(onWire).toBe(1);
    } finally {
      await f.close();
    }
  });

  test('a write throttled three times with 2 s hints early in the wrap-up is still saved by the SDK\'s own retries', async () => {
    const f = await openProxiedLedger();
    const ledger = new CosmosLedger({ container: f.container, retryPolicy: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxServerDelayMs: 60_000 }, retryHooks: { sleep: async () => {} } });
    try {
      let onWire = 0;
      const throttled = { kind: 'status' as const, status: 429, headers: { 'x-ms-retry-after-ms': '2000', 'x-ms-substatus': '3200', 'content-type': 'application/json' }, body: '{"code":"TooManyRequests","message":"Request rate is large"}' };
      f.proxy.inject({ match: isCheckpointWrite, times: 3, before: () => void onWire++, fault: throttled });
      // A second into the wrap-up: its try may take the rest of the wrap-up's 40 s.
      await withCallBudget(() => -1_000, () => ledger.saveCheckpoint(checkpoint));
      expect(onWire).toBe(3);
      expect(await ledger.getCheckpoint('128', 1)).toMatchObject({ lastModifiedAt: checkpoint.lastModifiedAt });
    } finally {
      await f.close();
    }
  });

  test('a brief failure is still retried with short backoff (the wrap-up\'s few seconds)', async () => {
    const { f, ledger, sleeps } = await ledgerWithSleeps();
    try {
      f.proxy.inject({ match: isCheckpointWrite, times: 2, fault: unavailable });
      await withCallBudget(() => -60_000, () => ledger.saveCheckpoint(checkpoint));
      expect(sleeps.length).toBe(2);
      expect(Math.max(...sleeps)).toBeLessThanOrEqual(5_000);
      expect(await ledger.getCheckpoint('128', 1)).toMatchObject({ lastModifiedAt: checkpoint.lastModifiedAt });
    } finally {
      await f.close();
    }
  });
});

describe('a Cosmos DB read that gets no answer', () => {
  // The SDK sends a GET that timed out again at once, up to 120 times (its failover policy for
  // reads, with one region as with many): at its 60 s request timeout, two hours for one read.
  const requestTimeoutMs = 200;
  const isCheckpointRead = (request: ProxiedRequest) => request.method === 'GET' && /\/docs\/checkpoint-/.test(request.path);

  test('is sent once per ledger attempt, each bounded by the request timeout, and fails as a timeout', async () => {
    const f = await openProxiedLedger();
    const client = new CosmosClient({ endpoint: f.proxy.url, key: f.server.key, connectionPolicy: { requestTimeout: requestTimeoutMs } });
    try {
      const container = client.database(f.container.database.id).container(f.container.id);
      const ledger = new CosmosLedger({ container, requestTimeoutMs, retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxServerDelayMs: 1 }, retryHooks: { sleep: async () => {} } });
      expect(await ledger.getCheckpoint('128', 1)).toBeUndefined();
      let onWire = 0;
      f.proxy.inject({ match: isCheckpointRead, before: () => void onWire++, fault: { kind: 'hang' } });
      const error = await ledger.getCheckpoint('128', 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteServiceError);
      expect(error).toMatchObject({ retryable: true, operation: 'read checkpoint', message: expect.stringContaining('no answer within 200 ms') });
      expect(onWire).toBe(2);
    } finally {
      client.dispose();
      await f.close();
    }
  });

  test('the partition key ranges read that a bulk call makes first: one request timeout per round, then the writes fail for the run', async () => {
    const f = await openProxiedLedger();
    const client = new CosmosClient({ endpoint: f.proxy.url, key: f.server.key, connectionPolicy: { requestTimeout: requestTimeoutMs } });
    try {
      const container = client.database(f.container.database.id).container(f.container.id);
      const ledger = new CosmosLedger({ container, requestTimeoutMs, retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxServerDelayMs: 1 }, retryHooks: { sleep: async () => {} } });
      let onWire = 0;
      f.proxy.inject({ match: (request) => request.method === 'GET' && /\/pkranges$/.test(request.path), before: () => void onWire++, fault: { kind: 'hang' } });
      // Counted when the call ends: the SDK may go on with its own retries of the read meanwhile.
      const results = await ledger.createNotifications([claim()]).finally(() => expect(onWire).toBe(2));
      expect(results).toEqual([expect.objectContaining({ status: 'error', retryable: true })]);
    } finally {
      client.dispose();
      await f.close();
    }
  });
});
