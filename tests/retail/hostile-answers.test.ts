import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip } from 'node:zlib';
import { createRetailServerClient, type RetailServerClient } from '../../src/retail/retail-client';
import { MAX_ANSWER_BYTES } from '../../src/retail/retail-transport';
import { RemoteServiceError } from '../../src/shared/errors';
import { fastRetry } from './harness';

/**
 * What a Retail Server (or a gateway before it) answers that no Retail Server should: text that
 * names a customer or holds terminal escapes where JSON was expected, a redirect to a page whose
 * address carries a customer's email or a token, an answer that never ends or inflates to
 * gigabytes. Error messages become failure reasons, log lines, stored run reports and the HTTP
 * rerun's answer, so none of that may reach them; and no answer may fill the host's memory.
 */

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server | undefined;
let requests = 0;

async function clientAnswering(handler: Handler): Promise<RetailServerClient> {
  requests = 0;
  server = createServer((request, response) => {
    requests++;
    request.resume();
    handler(request, response);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return createRetailServerClient({
    baseUrl: `http://127.0.0.1:${port}/Commerce`,
    operatingUnitNumber: '128',
    tokenProvider: { getToken: async () => 'test-token', tokenRequests: () => 0 },
    retry: fastRetry,
    sleep: async () => undefined,
  });
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function failure(call: Promise<unknown>): Promise<RemoteServiceError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof RemoteServiceError)) throw new Error(`expected a RemoteServiceError, got ${String(error)}`);
  return error;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

describe('what Retail Server says reaches no message unredacted', () => {
  test.each([
    ['text that is not JSON', 'ann.lee@example.com is not allowed to sign in\u001b[2J\nFORGED LOG LINE', /body that is not JSON/],
    ['JSON cut short', '{"value":[{"Email":"ann.lee@example.com","AccountNumber":"C1"', /JSON that does not parse/],
  ])('a 200 with %s: its start is shown without the email address or control characters', async (_label, body, kind) => {
    const client = await clientAnswering((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(body);
    });
    const error = await failure(client.getCustomers(['C1']));
    expect(error.message).toMatch(kind);
    // Before the fix: "it starts with 'ann.lee@example.com is not allowed\u001b[2J\nFORGED'".
    expect(error.message).not.toContain('ann.lee@example.com');
    expect(error.message).toContain('<email>');
    expect(error.message).not.toMatch(CONTROL);
  });

  test('a redirect names the host and path it pointed at, without an email address, credentials, a query or a fragment', async () => {
    const client = await clientAnswering((_request, response) => {
      response.writeHead(302, { Location: 'https://svc:Pa55w0rd@login.example.com/users/ann.lee%40example.com/consent?code=s3cr3t-code#access_token=eyJ.fragment' });
      response.end();
    });
    const error = await failure(client.getChannelConfiguration());
    expect(error.message).toContain('was redirected (HTTP 302 to https://login.example.com/users/<email>/consent)');
    // Before the fix: "... to https://svc:Pa55w0rd@login.example.com/users/ann.lee%40example.com/consent".
    for (const secret of ['Pa55w0rd', 'ann.lee', 's3cr3t-code', 'eyJ.fragment']) expect(error.message).not.toContain(secret);
  });
});

describe('an answer larger than any Retail Server gives is not read into memory', () => {
  /** Writes `chunk` until the client hangs up, and counts what it wrote. */
  function endless(response: ServerResponse, chunk: Buffer | string, sink: NodeJS.WritableStream = response, written = { bytes: 0 }): { bytes: number } {
    const pump = (): void => {
      while (!response.destroyed && written.bytes < 4 * MAX_ANSWER_BYTES) {
        written.bytes += chunk.length;
        if (!sink.write(chunk)) {
          sink.once('drain', pump);
          return;
        }
      }
      sink.end();
    };
    pump();
    return written;
  }

  test('a 200 whose body never ends fails the call at MAX_ANSWER_BYTES, once, not retried', async () => {
    let written = { bytes: 0 };
    const client = await clientAnswering((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"value":[');
      written = endless(response, Buffer.alloc(1024 * 1024, ' '));
    });
    const started = Date.now();
    const error = await failure(client.getCustomers(['C1']));
    // Before the fix: read until the 30 s timeout or until the string grew past V8's limit (512 MB),
    // every byte held in memory: 300 MB of answer took 436 MB of the host's.
    expect(error.code).toBe('AnswerTooLarge');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MB`);
    expect(requests).toBe(1);
    expect(written.bytes).toBeLessThan(2 * MAX_ANSWER_BYTES);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('a compressed answer that inflates past MAX_ANSWER_BYTES is stopped by what it inflates to', async () => {
    let compressed = 0;
    const client = await clientAnswering((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      const gzip = createGzip();
      gzip.on('data', (part: Buffer) => (compressed += part.length));
      gzip.pipe(response);
      gzip.write('{"value":[');
      endless(response, Buffer.alloc(1024 * 1024, ' '), gzip);
    });
    const error = await failure(client.searchCarts({ from: new Date('2025-03-01T00:00:00Z'), to: new Date('2025-03-02T00:00:00Z'), includeAnonymous: false, top: 100, skip: 0 }));
    expect(error.code).toBe('AnswerTooLarge');
    // A few hundred kB on the wire; over a hundred MB once inflated.
    expect(compressed).toBeLessThan(MAX_ANSWER_BYTES / 50);
  });
});
