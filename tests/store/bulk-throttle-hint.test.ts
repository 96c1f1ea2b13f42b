/**
 * A per-operation 429 inside a bulk answer carries the wait Cosmos DB asks for
 * (`retryAfterMilliseconds`, as the SDK's own BulkResponse reads it): the retry waits at least that
 * long (once, only a request that failed as a whole had its wait honoured, and a hot partition
 * asking for seconds used up every attempt in a few). A request refused as a whole loses its hint in
 * the SDK (`Items.bulk` rethrows a plain Error): its retry waits WHOLE_REQUEST_THROTTLE_WAIT_MS.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createCosmosContainer } from '../../src/store/cosmos-client';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { startTwoRangeServer } from '../support/partitioned-cosmos-server';
import { withCallBudget } from '../../src/shared/call-budget';
import { WHOLE_REQUEST_THROTTLE_WAIT_MS } from '../../src/store/cosmos-bulk';
import { claim, isBulk, openProxiedLedger } from './fixture';

let server: Awaited<ReturnType<typeof startTwoRangeServer>>;
beforeAll(async () => {
  server = await startTwoRangeServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => server.setFault(undefined));

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A ledger on its own database with a server's hint honoured up to a minute (as production), its waits recorded. */
async function ledgerRecordingWaits() {
  const container = await createCosmosContainer({ endpoint: server.endpoint, key: server.key, databaseId: `db-${randomUUID()}` });
  const sleeps: number[] = [];
  const ledger = new CosmosLedger({
    container,
    // Short backoff of its own, but a server's hint honoured up to a minute (as production: 60 s).
    retryPolicy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4, maxServerDelayMs: 60_000 },
    retryHooks: { sleep: async (ms) => void sleeps.push(ms) },
  });
  await ledger.getNotifications([claim().id]); // metadata first
  return { ledger, sleeps, dispose: () => container.database.client.dispose() };
}

/** Answers `times` bulk requests (every one when undefined) with a 429 for each operation, asking for 3 s. */
function throttleOperations(times?: number): () => number {
  let throttled = 0;
  server.setFault((_rangeId, req, res) => {
    if (times !== undefined && throttled >= times) return false;
    throttled++;
    void body(req).then((text) => {
      const operations = JSON.parse(text) as unknown[];
      res.statusCode = 207;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(operations.map(() => ({ statusCode: 429, subStatusCode: 3200, requestCharge: 0, retryAfterMilliseconds: 3000 }))));
    });
    return true;
  });
  return () => throttled;
}

test('a per-operation 429 with retryAfterMilliseconds is retried no sooner than the service asked', async () => {
  const { ledger, sleeps, dispose } = await ledgerRecordingWaits();
  const throttled = throttleOperations(2);
  const record = claim();
  const [result] = await ledger.createNotifications([record]);
  expect(result?.status).toBe('ok');
  expect(throttled()).toBe(2);
  // Two waits before the two retries; the service asked for 3 s each time.
  expect(sleeps).toHaveLength(2);
  for (const ms of sleeps) expect(ms).toBeGreaterThanOrEqual(3000);
  dispose();
});

test('a bulk request refused as a whole with 429 (its hint dropped by the SDK) waits at least WHOLE_REQUEST_THROTTLE_WAIT_MS before it is sent again', async () => {
  const f = await openProxiedLedger();
  try {
    const sleeps: number[] = [];
    const ledger = new CosmosLedger({
      container: f.container,
      retryPolicy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4, maxServerDelayMs: 60_000 },
      retryHooks: { sleep: async (ms) => void sleeps.push(ms) },
    });
    await ledger.getNotifications([claim().id]); // metadata first
    f.proxy.inject({
      match: isBulk,
      times: 2,
      fault: { kind: 'status', status: 429, headers: { 'x-ms-retry-after-ms': '3000', 'x-ms-substatus': '3200', 'content-type': 'application/json' }, body: '{"code":"TooManyRequests","message":"Request rate is large"}' },
    });
    const [result] = await ledger.createNotifications([claim()]);
    expect(result?.status).toBe('ok');
    expect(sleeps).toHaveLength(2);
    for (const ms of sleeps) expect(ms).toBeGreaterThanOrEqual(WHOLE_REQUEST_THROTTLE_WAIT_MS);
  } finally {
    await f.close();
  }
});

test('a wait the service asks for that would end past the run\'s time left is not waited: the write gives up at once, as out of time', async () => {
  const { ledger, sleeps, dispose } = await ledgerRecordingWaits();
  throttleOperations();
  // Two seconds left: the 3 s the service asks for do not fit.
  const [result] = await withCallBudget(() => 2000, () => ledger.createNotifications([claim()]));
  expect(result).toMatchObject({ status: 'error', retryable: true, reason: expect.stringContaining('the run reached its time limit') });
  expect(sleeps).toEqual([]);
  dispose();
});
