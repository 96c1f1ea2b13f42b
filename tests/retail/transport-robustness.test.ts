import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteServiceError } from '../../src/shared/errors';
import { createRetailServerClient, normalizeRetailServerUrl } from '../../src/retail/retail-client';
import { buildSimulatorData, cartRecord, customerRecord, DEFAULT_CHANNEL_ID, productRecord } from '../../src/simulators/retail-server';
import { fastRetry, startHarness, type Harness } from './harness';

/** The Retail Server client under conditions a real server and network produce: each test holds one defect fixed. */

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function seeded() {
  return buildSimulatorData({
    customers: [customerRecord('C001')],
    products: [productRecord(68719476736)],
    carts: [cartRecord({ id: 'cart-1', customerId: 'C001', modifiedDateTime: '2025-03-01T10:00:00.000Z', lines: [{ productId: 68719476736 }] })],
  });
}

describe('token refresh after a 401', () => {
  test('a token that Retail Server refuses, then one dropped connection to the token endpoint during the refresh: the retry gets a fresh token and the call succeeds', async () => {
    harness = await startHarness({ data: seeded() });
    const h = harness;
    await h.client.getChannelConfiguration(); // MSAL now caches a token
    h.tokenServer.revokeAllTokens(); // revoked (or expired by the server's clock while MSAL still holds it)
    h.tokenServer.failNext([{ status: 0, dropConnection: true }]); // one passing network fault on the refresh

    const outcome = await h.client.getChannelConfiguration().then(
      (channel) => ({ ok: true as const, recordId: channel.RecordId }),
      (error: unknown) => ({ ok: false as const, message: (error as Error).message }),
    );
    // Before the fix: the retry reused MSAL's cached (revoked) token, got 401 again, and failed for
    // good with "refused with HTTP 401, also with a freshly acquired token. Check ... TenantId".
    expect(outcome).toEqual({ ok: true, recordId: DEFAULT_CHANNEL_ID });
  });

  test('a revoked token met by requests queued behind MaxConcurrency: one refresh serves them all, not one forced token request each', async () => {
    harness = await startHarness({ data: seeded(), client: { maxConcurrency: 1 } });
    const h = harness;
    await h.client.getChannelConfiguration();
    const issuedBefore = h.tokenServer.tokensIssued;
    h.tokenServer.revokeAllTokens();
    // Eight calls at once: each takes its token before it waits for the one slot.
    await Promise.all(Array.from({ length: 8 }, () => h.client.getChannelConfiguration()));
    // Before the fix: every queued call was sent with the revoked token, met a 401 and forced a
    // token request of its own (8 on the wire), although the first refresh had already replaced it.
    expect(h.tokenServer.tokensIssued - issuedBefore).toBe(1);
  });
});

describe('a partial body', () => {
  test.each([
    ['cut after the status line (empty body)', ''],
    ['cut inside the leading whitespace', '  \n'],
  ])('a 200 whose body was %s is retried like any other cut-short answer', async (_label, body) => {
    harness = await startHarness({ data: seeded() });
    const h = harness;
    h.simulator.failNext('customers', [{ status: 200, body }]);
    const outcome = await h.client.getCustomers(['C001']).then(
      (result) => result.customers.map((c) => c.AccountNumber),
      (error: unknown) => (error as Error).message,
    );
    // Before the fix: not retried, and the run failed with "a body that is not JSON. Check
    // RetailServerUrl", while the same answer cut one byte later ('{"val') is retried.
    expect(outcome).toEqual(['C001']);
  });
});

describe('secrets in configuration errors', () => {
  test('a RetailServerUrl with credentials or a key in its query is refused without echoing them', () => {
    for (const [value, secret] of [
      ['https://svc-user:Pa55w0rd-Secret@csu.example.com/Commerce', 'Pa55w0rd-Secret'],
      ['https://apim.contoso.com/csu/Commerce?subscription-key=0123456789abcdef0123456789abcdef', '0123456789abcdef0123456789abcdef'],
    ] as const) {
      let message = '';
      try {
        normalizeRetailServerUrl(value);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain('RetailServerUrl');
      // Before the fix the whole value, secret included, was in the message (and so in the log).
      expect(message).not.toContain(secret);
    }
  });
});

describe('per-request timeout', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  test('a server that sends its headers and then trickles the body never ends the request: timeoutMs bounds the whole request', async () => {
    harness = await startHarness({ data: seeded() });
    const h = harness;
    // A Retail Server (or a gateway in front of it) that answers 200 at once and then sends one
    // byte every 100 ms: the socket is never idle for timeoutMs, so axios' idle timer never fires.
    server = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'Content-Type': 'application/json' });
      const timer = setInterval(() => response.write(' '), 100);
      response.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = createRetailServerClient({
      baseUrl: `http://127.0.0.1:${port}/Commerce`,
      operatingUnitNumber: '128',
      tokenProvider: h.tokenProvider,
      retry: { ...fastRetry, maxAttempts: 1 },
      timeoutMs: 300,
    });
    // 300 ms ends it; without the bound it never ends. The race's 10 s only keeps a broken build
    // from hanging the suite (no wall-clock bound to meet).
    const settled = await Promise.race([
      client.getChannelConfiguration().then(
        () => 'answered',
        (error: unknown) => (error instanceof RemoteServiceError && /timed out/.test(error.message) ? 'timed out' : `failed: ${String(error)}`),
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref()),
    ]);
    expect(settled).toBe('timed out');
  });
});
