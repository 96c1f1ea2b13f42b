/**
 * A container with several partition key ranges (any container above 10,000 RU/s or 50 GB): the
 * SDK splits a bulk call into one request per range, in parallel, and when one of them fails it
 * throws for the whole call and drops the other ranges' answers, whose writes did run.
 */
import { randomUUID } from 'node:crypto';
import { createCosmosContainer } from '../../src/store/cosmos-client';
import { CosmosLedger } from '../../src/store/cosmos-ledger';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import { startTwoRangeServer } from '../support/partitioned-cosmos-server';
import { claim, fastRetries } from './fixture';

let server: Awaited<ReturnType<typeof startTwoRangeServer>>;
beforeAll(async () => {
  server = await startTwoRangeServer();
});
afterAll(async () => {
  await server.close();
});

async function open() {
  const container = await createCosmosContainer({ endpoint: server.endpoint, key: server.key, databaseId: `db-${randomUUID()}` });
  const logs: LogRecord[] = [];
  const ledger = new CosmosLedger({ container, retryPolicy: fastRetries, logger: createLogger((r) => logs.push(r), 'debug') });
  return { container, ledger, logs, close: () => container.database.client.dispose() };
}

afterEach(() => server.setFault(undefined));

test('sanity: with two ranges, a bulk call is two requests and results map back in order', async () => {
  const { ledger, close } = await open();
  const records = Array.from({ length: 20 }, () => claim());
  const created = await ledger.createNotifications(records);
  expect(created.map((r) => r.id)).toEqual(records.map((r) => r.id));
  expect(created.every((r) => r.status === 'ok')).toBe(true);
  const read = await ledger.getNotifications(records.map((r) => r.id));
  records.forEach((r) => expect(read.get(r.id)?.record.cartId).toBe(r.cartId));
  close();
});

test('one range\'s answer lost after the other range answered: the writes are retried, not a fatal error', async () => {
  const { ledger, close } = await open();
  await ledger.getNotifications([claim().id]); // metadata
  const records = Array.from({ length: 20 }, () => claim());
  let dropped = 0;
  server.setFault((rangeId, req, res, serve) => {
    if (rangeId !== '3' || dropped > 0) return false;
    dropped++;
    // Range 3's request is served (the writes happen), but its answer never arrives, after the other ranges' did.
    res.end = (() => {
      setTimeout(() => req.socket.destroy(), 100);
      return res;
    }) as typeof res.end;
    serve();
    return true;
  });
  const results = await ledger.createNotifications(records).catch((error: unknown) => error);
  // The SDK throws for the whole call and drops the answered ranges' results: every write is sent
  // again, and the retry's 409s are read back and found to be this call's own.
  expect(results).toBeInstanceOf(Array);
  expect((results as { status: string }[]).map((r) => r.status)).toEqual(Array(20).fill('ok'));
  close();
});

test('one range throttled as a whole after the other range\'s writes landed: those writes are recognised as this call\'s own', async () => {
  const { ledger, close } = await open();
  await ledger.getNotifications([claim().id]); // metadata
  const records = Array.from({ length: 20 }, () => claim());
  let throttled = 0;
  server.setFault((rangeId, _req, res) => {
    if (rangeId !== '3' || throttled > 0) return false;
    throttled++;
    // Range 3 answered 429 as a whole (nothing ran there), a little after the other ranges' writes were done.
    setTimeout(() => {
      res.statusCode = 429;
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-ms-retry-after-ms', '1');
      res.end(JSON.stringify({ code: '429', message: 'throttled' }));
    }, 100);
    return true;
  });
  const results = await ledger.createNotifications(records);
  // The other ranges' creates landed on the first try: their retry's 409s are this call's own.
  expect(results.map((r) => r.status)).toEqual(Array(20).fill('ok'));
  close();
});
