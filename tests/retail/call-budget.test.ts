import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRetailServerClient, type RetailServerClient } from '../../src/retail/retail-client';
import { withCallBudget } from '../../src/shared/call-budget';
import { RemoteServiceError } from '../../src/shared/errors';
import { startHarness, type Harness } from './harness';

/**
 * The run's time left (withCallBudget) bounds its Retail Server requests, not only the waits
 * between retries: a call whose turn comes when no time is left is not sent, and a request never
 * waits for its answer past the time left. Once, each request still got its whole timeout (30 s
 * by default), so calls queued behind MaxConcurrency went out one after another after the run's
 * limit and its grace, towards the host's functionTimeout.
 */

let harness: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await harness?.close();
  server = undefined;
  harness = undefined;
});

/** A Retail Server that counts requests and answers them as `answer` says (or never). */
async function retailServer(answer: (index: number, respond: (status: number, body: unknown) => void) => void): Promise<{ baseUrl: string; requests: () => number }> {
  let count = 0;
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () =>
      answer(count++, (status, body) => {
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(body));
      }),
    );
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/Commerce`, requests: () => count };
}

async function clientFor(baseUrl: string, maxConcurrency = 4): Promise<RetailServerClient> {
  harness = await startHarness();
  await harness.tokenProvider.getToken();
  return createRetailServerClient({
    baseUrl,
    operatingUnitNumber: '128',
    tokenProvider: harness.tokenProvider,
    retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, maxServerDelayMs: 60_000 },
    timeoutMs: 120_000,
    maxConcurrency,
  });
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

test('with no time left, a call is not sent: it fails at once, marked out of time', async () => {
  const retail = await retailServer(() => undefined);
  const client = await clientFor(retail.baseUrl);
  const error = await withCallBudget(() => 0, () => failure(client.getCustomers(['C0001'])));
  expect(error).toBeInstanceOf(RemoteServiceError);
  expect(error).toMatchObject({ outOfTime: true, code: 'OutOfTime', message: expect.stringMatching(/was not sent: the run had no time left for Retail Server calls/) });
  expect(retail.requests()).toBe(0);
});

test('calls waiting behind MaxConcurrency when the time runs out are not sent', async () => {
  let left = 60_000;
  // The first request's answer comes as the run's time runs out.
  const retail = await retailServer((_index, respond) => {
    left = 0;
    respond(200, { value: [] });
  });
  const client = await clientFor(retail.baseUrl, 1);
  const outcomes = await withCallBudget(
    () => left,
    () => Promise.all(['A', 'B', 'C'].map((id) => failure(client.getCustomers([id])))),
  );
  expect(retail.requests()).toBe(1);
  expect(outcomes.map((error) => (error === undefined ? 'answered' : (error as RemoteServiceError).outOfTime))).toEqual(['answered', true, true]);
});

test('a request waits for its answer no longer than the time left (a hung Retail Server, a 120 s timeout, 300 ms left)', async () => {
  const retail = await retailServer(() => undefined);
  const client = await clientFor(retail.baseUrl);
  const deadline = Date.now() + 300;
  // Without the bound this call would take 120 s, past this test's own time limit.
  const error = await withCallBudget(() => deadline - Date.now(), () => failure(client.getCustomers(['C0001'])));
  expect(error).toMatchObject({ outOfTime: true });
  expect(retail.requests()).toBeGreaterThanOrEqual(1);
});
