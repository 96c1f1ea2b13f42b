import { ConfigurationError, RemoteServiceError } from '../../src/shared/errors';
import type { LogRecord } from '../../src/shared/logger';
import { createRetailServerClient, normalizeRetailServerUrl } from '../../src/retail/retail-client';
import { createRetailTokenProvider } from '../../src/retail/token-provider';
import {
  buildSimulatorData,
  cartRecord,
  channelRecord,
  customerRecord,
  DEFAULT_CHANNEL_ID,
  productRecord,
  type RecordedRequest,
} from '../../src/simulators/retail-server';
import { allLogText, AUDIENCE, CLIENT_ID, fastRetry, OUN, startHarness, TENANT_ID, type Harness } from './harness';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(...args: Parameters<typeof startHarness>): Promise<Harness> {
  harness = await startHarness(...args);
  return harness;
}

async function failure(promise: Promise<unknown>): Promise<RemoteServiceError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteServiceError);
  return error as RemoteServiceError;
}

const window = { from: new Date('2025-03-01T10:00:00.000Z'), to: new Date('2025-03-01T12:00:00.000Z') };

function seeded() {
  return buildSimulatorData({
    customers: [customerRecord('C001'), customerRecord('C002')],
    products: [productRecord(68719476736), productRecord(68719476737)],
    carts: [
      cartRecord({ id: 'cart-1', customerId: 'C001', modifiedDateTime: '2025-03-01T10:00:00.000Z', lines: [{ productId: 68719476736 }] }),
      cartRecord({ id: 'cart-2', customerId: 'C002', modifiedDateTime: '2025-03-01T11:00:00.000Z', lines: [{ productId: 68719476737 }] }),
    ],
  });
}

function expectStandardHeaders(request: RecordedRequest | undefined): void {
  expect(request?.headers).toMatchObject({
    authorization: 'Bearer [redacted]',
    oun: OUN,
    'content-type': 'application/json',
    accept: 'application/json',
  });
  expect(request?.query['api-version']).toBe('7.3');
  expect(request?.authorized).toBe(true);
}

describe('the wire contract (SPEC 4)', () => {
  test('GetOrgUnitConfiguration: POST with body {} and the standard headers; parsed channel', async () => {
    const h = await start({ data: seeded() });
    const channel = await h.client.getChannelConfiguration();

    expect(channel).toEqual({ RecordId: DEFAULT_CHANNEL_ID, Currency: 'USD', DefaultLanguageId: 'en-us', TimeZoneInfoId: 'Pacific Standard Time' });
    const [request] = h.simulator.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/Commerce/OrgUnits/GetOrgUnitConfiguration?api-version=7.3', body: {} });
    expectStandardHeaders(request);
    expect(h.tokensSeen).toHaveLength(1);
    expect(h.tokenServer.isValidToken(h.tokensSeen[0] ?? '', AUDIENCE)).toBe(true);
  });

  test('Carts/Search: literal $top/$skip/$orderby, exact criteria, raw records back', async () => {
    const h = await start({ data: seeded() });
    const carts = await h.client.searchCarts({ ...window, includeAnonymous: false, top: 50, skip: 10 });

    expect(carts).toEqual([]);
    const [request] = h.simulator.requests;
    expect(request?.url).toBe('/Commerce/Carts/Search?$top=50&$skip=10&$orderby=ModifiedDateTime&api-version=7.3');
    expect(request?.body).toEqual({
      cartSearchCriteria: {
        CartTypeValue: 1,
        LastModifiedDateTimeFrom: '2025-03-01T10:00:00.000Z',
        LastModifiedDateTimeTo: '2025-03-01T12:00:00.000Z',
        IncludeAnonymous: false,
      },
    });
    expectStandardHeaders(request);

    const firstPage = await h.client.searchCarts({ ...window, includeAnonymous: false, top: 50, skip: 0 });
    expect(firstPage).toEqual([expect.objectContaining({ Id: 'cart-1', CustomerId: 'C001' }), expect.objectContaining({ Id: 'cart-2' })]);
  });

  test('Carts/Search pages through the window (both bounds inclusive) and includes anonymous carts when asked', async () => {
    const data = buildSimulatorData({
      carts: [
        cartRecord({ id: 'early', customerId: 'C1', modifiedDateTime: '2025-03-01T09:59:59.999Z' }),
        cartRecord({ id: 'from', customerId: 'C1', modifiedDateTime: '2025-03-01T10:00:00.000Z' }),
        cartRecord({ id: 'anon', modifiedDateTime: '2025-03-01T10:30:00.000Z', receiptEmail: 'guest@example.com' }),
        cartRecord({ id: 'mid', customerId: 'C2', modifiedDateTime: '2025-03-01T11:00:00.000Z' }),
        cartRecord({ id: 'to', customerId: 'C3', modifiedDateTime: '2025-03-01T12:00:00.000Z' }),
        cartRecord({ id: 'late', customerId: 'C3', modifiedDateTime: '2025-03-01T12:00:00.001Z' }),
      ],
    });
    const h = await start({ data });
    const page = async (skip: number, includeAnonymous: boolean) =>
      (await h.client.searchCarts({ ...window, includeAnonymous, top: 2, skip })).map((cart) => (cart as { Id: string }).Id);

    expect([await page(0, false), await page(2, false)]).toEqual([['from', 'mid'], ['to']]);
    expect([await page(0, true), await page(2, true), await page(4, true)]).toEqual([['from', 'anon'], ['mid', 'to'], []]);
    expect(h.simulator.requests.map((r) => r.query.$skip)).toEqual(['0', '2', '0', '2', '4']);
  });

  test('Customers/GetByAccountNumbers: exact body, $top = ids in the call', async () => {
    const h = await start({ data: seeded() });
    const result = await h.client.getCustomers(['C002', 'C001', 'C404']);

    expect(result.invalid).toEqual([]);
    expect(result.customers.map((c) => c.AccountNumber)).toEqual(['C001', 'C002']);
    expect(result.customers[0]).toEqual({ AccountNumber: 'C001', Email: 'c001@example.com', FirstName: 'Alex', LastName: 'Doe', Language: 'en-us' });
    const [request] = h.simulator.requests;
    expect(request?.url).toBe('/Commerce/Customers/GetByAccountNumbers?$top=3&$skip=0&api-version=7.3');
    expect(request?.body).toEqual({ accountNumbers: ['C002', 'C001', 'C404'], searchLocationValue: 1 });
    expectStandardHeaders(request);
  });

  test('Products/Search: exact criteria with the channel id', async () => {
    const h = await start({ data: seeded() });
    const result = await h.client.getProducts([68719476737, 68719476736], DEFAULT_CHANNEL_ID);

    expect(result.invalid).toEqual([]);
    expect(result.products.map((p) => p.RecordId)).toEqual([68719476736, 68719476737]);
    expect(result.products[0]?.Image?.Items[0]).toEqual({ Url: 'Products/SIM68719476736_000_001.png', AltText: 'Picture of product 68719476736' });
    const [request] = h.simulator.requests;
    expect(request?.url).toBe('/Commerce/Products/Search?$top=2&$skip=0&api-version=7.3');
    expect(request?.body).toEqual({
      productSearchCriteria: {
        Ids: [68719476737, 68719476736],
        SkipVariantExpansion: true,
        IncludeProductsFromDescendantCategories: false,
        IncludeAttributes: false,
        DataLevelValue: 2,
        Context: { ChannelId: DEFAULT_CHANNEL_ID },
      },
    });
    expectStandardHeaders(request);
  });

  test('works over HTTPS, a bare host gets /Commerce, and the api-version is configurable', async () => {
    const h = await start({ data: seeded(), https: true });
    const client = createRetailServerClient({
      baseUrl: h.simulator.baseUrl.replace(/\/Commerce$/, '/'),
      operatingUnitNumber: 128,
      apiVersion: '7.4',
      tokenProvider: h.tokenProvider,
      retry: fastRetry,
    });
    await client.getChannelConfiguration();

    expect(h.simulator.requests[0]?.url).toBe('/Commerce/OrgUnits/GetOrgUnitConfiguration?api-version=7.4');
  });

  test('empty id lists make no call', async () => {
    const h = await start({ data: seeded() });

    expect(await h.client.getCustomers(['', '  '])).toEqual({ customers: [], invalid: [], failed: [] });
    expect(await h.client.getProducts([], DEFAULT_CHANNEL_ID)).toEqual({ products: [], invalid: [], failed: [] });
    expect(h.simulator.requests).toHaveLength(0);
  });
});

describe('tokens', () => {
  test('one token request serves many calls (MSAL cache reused)', async () => {
    const h = await start({ data: seeded() });
    await h.client.getChannelConfiguration();
    await h.client.searchCarts({ ...window, includeAnonymous: false, top: 10, skip: 0 });
    await h.client.getCustomers(['C001']);
    await h.client.getProducts([68719476736], DEFAULT_CHANNEL_ID);

    expect(h.tokenServer.tokensIssued).toBe(1);
    expect(new Set(h.tokensSeen).size).toBe(1);
    expect(h.client.stats()).toEqual({
      calls: { channel: 1, cartSearch: 1, customers: 1, products: 1, token: 1 },
      retries: { channel: 0, cartSearch: 0, customers: 0, products: 0, token: 0 },
    });
  });

  test('a 401 gets a fresh token (forceRefresh) and the call is retried once', async () => {
    const h = await start({ data: seeded() });
    await h.client.getChannelConfiguration();
    h.tokenServer.revokeAllTokens();
    const channel = await h.client.getChannelConfiguration();

    expect(channel.RecordId).toBe(DEFAULT_CHANNEL_ID);
    expect(h.tokenServer.tokensIssued).toBe(2);
    expect(h.simulator.requests.map((r) => r.authorized)).toEqual([true, false, true]);
    expect(h.tokensSeen[1]).toBe(h.tokensSeen[0]);
    expect(h.tokensSeen[2]).not.toBe(h.tokensSeen[0]);
    expect(h.sleeps).toEqual([]);
    expect(h.client.stats().retries).toMatchObject({ channel: 1, token: 1 });
    expect(h.client.stats().calls).toMatchObject({ channel: 3, token: 2 });
  });

  test('still 401 after the refresh: an error that says what to check, without the token', async () => {
    const h = await start({ data: seeded(), authorize: () => false });
    const error = await failure(h.client.searchCarts({ ...window, includeAnonymous: false, top: 10, skip: 0 }));

    expect(error.service).toBe('RetailServer');
    expect(error.operation).toBe('POST Carts/Search');
    expect(error.statusCode).toBe(401);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('POST Carts/Search');
    expect(error.message).toContain('RetailServerClientOptions.TenantId');
    expect(error.message).toContain('RetailServerAudienceId');
    expect(error.message).toContain('System administration > Setup > Microsoft Entra applications');
    expect(error.message).toContain('RetailServiceAccount');
    expect(error.message).toContain('1110');
    expect(error.message).toContain(`OperatingUnitNumber '${OUN}'`);
    expect(h.simulator.requests).toHaveLength(2);
    expect(h.tokenServer.tokensIssued).toBe(2);
    for (const token of h.tokensSeen) {
      expect(error.message).not.toContain(token);
      expect(allLogText(h.logs)).not.toContain(token);
    }
  });

  test('a 403 is not refreshed or retried', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('channel', [{ status: 403 }]);
    const error = await failure(h.client.getChannelConfiguration());

    expect(error.statusCode).toBe(403);
    expect(error.message).toContain('Microsoft Entra applications');
    expect(h.simulator.requests).toHaveLength(1);
    expect(h.tokenServer.tokensIssued).toBe(1);
  });

  test('a wrong client secret surfaces as a TokenEndpoint error and never reaches Retail Server', async () => {
    const h = await start({ data: seeded() });
    const client = createRetailServerClient({
      baseUrl: h.simulator.baseUrl,
      operatingUnitNumber: OUN,
      tokenProvider: createRetailTokenProvider({
        tenantId: TENANT_ID,
        clientId: CLIENT_ID,
        clientSecret: 'expired-secret',
        authorityHost: h.tokenServer.authorityHost,
      }),
      retry: fastRetry,
      sleep: async () => undefined,
    });
    const error = await failure(client.getChannelConfiguration());

    expect(error.service).toBe('TokenEndpoint');
    expect(error.message).toContain('has not expired');
    expect(error.message).not.toContain('expired-secret');
    expect(h.simulator.requests).toHaveLength(0);
  });
});

describe('retries', () => {
  const query = { ...window, includeAnonymous: false, top: 10, skip: 0 };

  test('503 then success is retried after a backoff', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('cartSearch', [{ status: 503 }]);
    const carts = await h.client.searchCarts(query);

    expect(carts).toHaveLength(2);
    expect(h.sleeps).toHaveLength(1);
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(0);
    expect(h.sleeps[0]).toBeLessThanOrEqual(fastRetry.maxDelayMs);
    expect(h.client.stats().calls.cartSearch).toBe(2);
    expect(h.client.stats().retries.cartSearch).toBe(1);
    expect(h.logs.some((log) => log.level === 'warn' && log.fields.operation === 'POST Carts/Search')).toBe(true);
  });

  test("a page's search logs its retries at warn, unless a record's failure outlasts them (the narrowing that follows logs what it finds)", async () => {
    const h = await start({ data: seeded() });
    const levels = () => h.logs.splice(0).filter((log) => log.message === 'Retail Server call failed; retrying').map((log) => log.level);
    const http500 = (count: number) => Array.from({ length: count }, () => ({ status: 500 }));
    // Recovered: real retries.
    h.simulator.failNext('cartSearch', [{ status: 500 }, { status: 503 }]);
    await h.client.searchCarts(query);
    expect(levels()).toEqual(['warn', 'warn']);
    // A record's failure to the end: the caller narrows the page to the cart it fails for.
    h.simulator.failNext('cartSearch', http500(fastRetry.maxAttempts));
    await failure(h.client.searchCarts(query));
    expect(levels()).toEqual(['debug', 'debug', 'debug']);
    // A throttled attempt among them was a real retry all the same.
    h.simulator.failNext('cartSearch', [{ status: 503 }, ...http500(fastRetry.maxAttempts - 1)]);
    await failure(h.client.searchCarts(query));
    expect(levels()).toEqual(['warn', 'debug', 'debug']);
    // The narrowing's own requests fail by design.
    h.simulator.failNext('cartSearch', http500(2));
    await failure(h.client.searchCarts({ ...query, narrowing: true }));
    expect(levels()).toEqual(['debug']);
  });

  test('a throttled search says so when it starts to wait, not once the call has ended', async () => {
    let logs: readonly LogRecord[] = [];
    const warnedWhileWaiting: boolean[] = [];
    const sleep = async () => {
      warnedWhileWaiting.push(logs.some((log) => log.level === 'warn' && log.fields.status === 429));
    };
    const h = await start({ data: seeded(), client: { sleep } });
    logs = h.logs;
    h.simulator.failNext('cartSearch', [{ status: 429, headers: { 'Retry-After': '30' } }]);
    await h.client.searchCarts(query);
    expect(warnedWhileWaiting).toEqual([true]);
  });

  test('429 with Retry-After waits what the server asked', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('customers', [{ status: 429, headers: { 'Retry-After': '7' } }]);
    const result = await h.client.getCustomers(['C001']);

    expect(result.customers).toHaveLength(1);
    expect(h.sleeps).toEqual([7000]);
  });

  test('400 is not retried, and the server message is passed on', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('cartSearch', [{ status: 400, body: JSON.stringify({ error: { code: 'BadRequest', message: 'Criteria is invalid.' } }) }]);
    const error = await failure(h.client.searchCarts(query));

    expect(error.statusCode).toBe(400);
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('BadRequest');
    expect(error.message).toContain('Criteria is invalid.');
    expect(h.simulator.requests).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  test.each([
    ['an OData error whose message', (word: string) => JSON.stringify({ error: { code: 'InternalError', message: word } }), 300],
    ['a non-JSON error body that', (word: string) => word, 200],
  ])('a 400 with %s is a 1 MB word fails at once, with only the start of the word in the message', async (_what, body, kept) => {
    // A base64 blob or a serialized exception: a long run without a separator. The redaction that
    // used to run over all of it backtracked quadratically (40 kB took 4 s, 1 MB half an hour,
    // with the event loop blocked); it now reads a few kB (see tests/shared/redact.test.ts).
    const word = 'A'.repeat(1_000_000);
    const h = await start({ data: seeded() });
    h.simulator.failNext('cartSearch', [{ status: 400, body: body(word) }]);
    const error = await failure(h.client.searchCarts(query));

    expect(error.statusCode).toBe(400);
    expect(error.message).toContain(`Retail Server said: ${'A'.repeat(kept)}...`);
    expect(error.message).not.toContain('A'.repeat(kept + 1));
  });

  test('501 is not retried', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('channel', [{ status: 501 }]);
    const error = await failure(h.client.getChannelConfiguration());

    expect(error.statusCode).toBe(501);
    expect(h.simulator.requests).toHaveLength(1);
  });

  test('persistent 5xx gives up after maxAttempts with a retryable error saying so', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('channel', Array.from({ length: 10 }, () => ({ status: 500 })));
    const error = await failure(h.client.getChannelConfiguration());

    expect(error.statusCode).toBe(500);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('POST OrgUnits/GetOrgUnitConfiguration failed with HTTP 500');
    expect(error.message).toContain(`(${fastRetry.maxAttempts} attempts)`);
    expect(h.simulator.requests).toHaveLength(fastRetry.maxAttempts);
    expect(h.sleeps).toHaveLength(fastRetry.maxAttempts - 1);
  });

  test('a dropped connection (socket hang up) is retried', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('products', [{ status: 0, dropConnection: true }]);
    const result = await h.client.getProducts([68719476736], DEFAULT_CHANNEL_ID);

    expect(result.products).toHaveLength(1);
    expect(h.client.stats().retries.products).toBe(1);
  });

  test('a request that times out is retried', async () => {
    // The client's own timer is the subject: long enough that the retry's answer comes within it
    // on a loaded machine (at 100 ms a stalled worker timed the retry out as well: 4 attempts),
    // while the first answer is held far past it (the stand-in cancels the hold when it closes).
    const h = await start({ data: seeded(), client: { timeoutMs: 1_000 } });
    h.simulator.failNext('channel', [{ status: 200, delayMs: 60_000 }]);
    const channel = await h.client.getChannelConfiguration();

    expect(channel.RecordId).toBe(DEFAULT_CHANNEL_ID);
    expect(h.simulator.requests).toHaveLength(2);
    expect(h.client.stats().retries.channel).toBe(1);
  });

  test('a wrong base path is a 404 error naming the URL and pointing at RetailServerUrl and ApiVersion', async () => {
    const h = await start({ data: seeded() });
    const client = createRetailServerClient({
      baseUrl: h.simulator.baseUrl.replace(/\/Commerce$/, '/RetailServer'),
      operatingUnitNumber: OUN,
      tokenProvider: h.tokenProvider,
      retry: fastRetry,
    });
    const error = await failure(client.getChannelConfiguration());

    expect(error.statusCode).toBe(404);
    expect(error.message).toContain(h.simulator.baseUrl.replace(/\/Commerce$/, '/RetailServer/OrgUnits/GetOrgUnitConfiguration'));
    expect(error.message).toContain('RetailServerUrl');
    expect(error.message).toContain('/Commerce');
    expect(error.message).toContain("ApiVersion ('7.3')");
    expect(h.simulator.requests).toHaveLength(1);
  });
});

describe('chunking and untrusted records', () => {
  test('a page of customers is one call by default: 1,000 ids (with duplicates), each once', async () => {
    const accountNumbers = Array.from({ length: 1000 }, (_, i) => `C${String(i).padStart(4, '0')}`);
    const h = await start({ data: buildSimulatorData({ customers: accountNumbers.map((id) => customerRecord(id)) }) });
    const result = await h.client.getCustomers([...accountNumbers, ...accountNumbers.slice(0, 40)]);

    const calls = h.simulator.requests.filter((r) => r.endpoint === 'customers');
    expect(calls).toHaveLength(1);
    expect(Number(calls[0]?.query.$top)).toBe(1000);
    expect(result.customers).toHaveLength(1000);
  });

  test('250 customer ids (with duplicates) become 3 calls of at most customerChunkSize 100, each id once', async () => {
    const accountNumbers = Array.from({ length: 250 }, (_, i) => `C${String(i).padStart(4, '0')}`);
    const h = await start({ data: buildSimulatorData({ customers: accountNumbers.map((id) => customerRecord(id)) }), client: { customerChunkSize: 100 } });
    const result = await h.client.getCustomers([...accountNumbers, ...accountNumbers.slice(0, 40)]);

    // The chunks run concurrently, so they may arrive in any order.
    const calls = h.simulator.requests.filter((r) => r.endpoint === 'customers');
    const sent = calls.map((r) => (r.body as { accountNumbers: string[] }).accountNumbers);
    expect(sent.map((batch) => batch.length).sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(calls.map((r) => Number(r.query.$top))).toEqual(sent.map((batch) => batch.length));
    expect(new Set(sent.flat()).size).toBe(250);
    expect(sent.flat().sort()).toEqual([...accountNumbers].sort());
    expect(result.customers).toHaveLength(250);
    expect(h.tokenServer.tokensIssued).toBe(1);
  });

  test('product chunks follow productChunkSize', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => 1000 + i);
    const h = await start({ data: buildSimulatorData({ products: ids.map((id) => productRecord(id)) }), client: { productChunkSize: 3, maxConcurrency: 2 } });
    const result = await h.client.getProducts(ids, DEFAULT_CHANNEL_ID);

    const sent = h.simulator.requests
      .map((r) => (r.body as { productSearchCriteria: { Ids: number[] } }).productSearchCriteria.Ids)
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    expect(sent).toEqual([
      [1000, 1001, 1002],
      [1003, 1004, 1005],
      [1006],
    ]);
    expect(result.products.map((p) => p.RecordId).sort()).toEqual(ids);
  });

  test('a customer Retail Server fails every request for is told from an outage by a probe of one it answered before', async () => {
    const h = await start({ data: seeded() });
    await h.client.getCustomers(['C001']);
    const always500 = (count: number) => Array.from({ length: count }, () => ({ status: 500 }));
    const c001 = { status: 200, body: JSON.stringify({ value: [customerRecord('C001')] }) };
    // Every attempt for C002 fails: the chunk's (the retry policy's), the probe of C001 answers, and
    // C002 asked for alone once more fails twice (a record's 500 is tried twice in the split).
    h.simulator.failNext('customers', [...always500(fastRetry.maxAttempts), c001, ...always500(2)]);
    const bad = await h.client.getCustomers(['C002']);
    expect([bad.customers, bad.failed.map((failed) => failed.id)]).toEqual([[], ['C002']]);
    expect(bad.failed[0]?.reason).toContain('HTTP 500');
    // ...and the probe once more after that failure.
    let calls = 1 + fastRetry.maxAttempts + 1 + 2 + 1;
    expect(h.client.stats().calls.customers).toBe(calls);

    // The chunk fails, then Retail Server answers again: an outage that ended, not a bad record.
    h.simulator.failNext('customers', always500(fastRetry.maxAttempts));
    const blip = await h.client.getCustomers(['C002']);
    expect([blip.customers.map((customer) => customer.AccountNumber), blip.failed]).toEqual([['C002'], []]);
    calls += fastRetry.maxAttempts + 1 + 1;
    expect(h.client.stats().calls.customers).toBe(calls);

    // The probe fails as well, on both of its attempts, and so does the probe of an id no record
    // has: an outage, and the lookup fails.
    h.simulator.failNext('customers', always500(fastRetry.maxAttempts + 2 + 2));
    const error = await failure(h.client.getCustomers(['C001']));
    expect(error.statusCode).toBe(500);
    expect(h.client.stats().calls.customers).toBe(calls + fastRetry.maxAttempts + 2 + 2);
  });

  test('a probe that is throttled is retried as any request is, not given up after two attempts', async () => {
    const h = await start({ data: seeded() });
    await h.client.getCustomers(['C001']);
    const throttled = { status: 429, headers: { 'Retry-After': '1' } };
    h.simulator.failNext('customers', [...Array.from({ length: fastRetry.maxAttempts }, () => ({ status: 500 })), throttled, throttled]);
    const result = await h.client.getCustomers(['C002']);
    expect([result.customers.map((customer) => customer.AccountNumber), result.failed]).toEqual([['C002'], []]);
  });

  test('a bad product record is skipped and reported; the good ones come through', async () => {
    const h = await start({
      data: buildSimulatorData({
        products: [productRecord(201), productRecord(202, { ProductName: 42, Image: { Items: 'not-a-list' } }), productRecord(203)],
      }),
    });
    const result = await h.client.getProducts([201, 202, 203], DEFAULT_CHANNEL_ID);

    expect(result.products.map((p) => p.RecordId)).toEqual([201, 203]);
    expect(result.invalid).toHaveLength(1);
    expect(result.invalid[0]?.reason).toMatch(/^product RecordId 202: /);
    expect(result.invalid[0]?.reason).toContain('ProductName');
  });

  test('a bad customer record is reported by position when it has no usable id', async () => {
    const h = await start({ data: buildSimulatorData({ customers: [customerRecord('C1')] }) });
    h.simulator.failNext('customers', [{ status: 200, body: JSON.stringify({ value: [customerRecord('C1'), { Email: 'x' }] }) }]);
    const result = await h.client.getCustomers(['C1']);

    expect(result.customers.map((c) => c.AccountNumber)).toEqual(['C1']);
    expect(result.invalid).toHaveLength(1);
    expect(result.invalid[0]?.reason).toMatch(/^customer #2: AccountNumber /);
  });

  test('an answer without the { value: [...] } envelope is a RemoteServiceError, not retried', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('cartSearch', [{ status: 200, body: JSON.stringify({ items: [] }) }]);
    const error = await failure(h.client.searchCarts({ ...window, includeAnonymous: false, top: 10, skip: 0 }));

    expect(error.code).toBe('InvalidResponse');
    expect(error.operation).toBe('POST Carts/Search');
    expect(error.retryable).toBe(false);
    expect(h.simulator.requests).toHaveLength(1);
  });

  test('a 200 that is not JSON (a sign-in page, a wrong URL) says to check RetailServerUrl', async () => {
    const h = await start({ data: seeded() });
    h.simulator.failNext('channel', [{ status: 200, headers: { 'Content-Type': 'text/html' }, body: '<!DOCTYPE html><html></html>' }]);
    const error = await failure(h.client.getChannelConfiguration());

    expect(error.code).toBe('InvalidResponse');
    expect(error.message).toContain("starts with '<!DOCTYPE html>");
    expect(error.message).toContain('RetailServerUrl');
  });

  test('a channel configuration that does not fit the model is a RemoteServiceError', async () => {
    const h = await start({ data: buildSimulatorData({ channel: channelRecord({ Currency: '' }) }) });
    const error = await failure(h.client.getChannelConfiguration());

    expect(error.code).toBe('InvalidResponse');
    expect(error.message).toContain('Currency');
  });
});

describe('settings', () => {
  test('normalizeRetailServerUrl appends /Commerce to a bare host and strips a trailing slash', () => {
    expect(normalizeRetailServerUrl('https://x.commerce.dynamics.com')).toBe('https://x.commerce.dynamics.com/Commerce');
    expect(normalizeRetailServerUrl('https://x.commerce.dynamics.com/')).toBe('https://x.commerce.dynamics.com/Commerce');
    expect(normalizeRetailServerUrl(' https://x.commerce.dynamics.com/Commerce/ ')).toBe('https://x.commerce.dynamics.com/Commerce');
    expect(normalizeRetailServerUrl('https://gw.example.com/csu/Commerce')).toBe('https://gw.example.com/csu/Commerce');
    expect(() => normalizeRetailServerUrl('x.commerce.dynamics.com')).toThrow(ConfigurationError);
    expect(() => normalizeRetailServerUrl('https://x.example.com/Commerce?a=1')).toThrow(/RetailServerUrl/);
  });

  test('a missing operating unit number is a configuration error', async () => {
    const h = await start();
    expect(() =>
      createRetailServerClient({ baseUrl: h.simulator.baseUrl, operatingUnitNumber: ' ', tokenProvider: h.tokenProvider }),
    ).toThrow(/OperatingUnitNumber/);
  });
});
