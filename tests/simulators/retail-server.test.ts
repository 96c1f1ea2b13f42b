import {
  buildSimulatorData,
  cartRecord,
  customerRecord,
  DEFAULT_CHANNEL_ID,
  productRecord,
  startRetailServerSimulator,
  type RawRecord,
  type RetailServerSimulator,
} from '../../src/simulators/retail-server';
import { testTls } from '../support/test-tls';

const GOOD_TOKEN = 'good-token';
const OUN = '128';

let simulator: RetailServerSimulator | undefined;

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

async function start(data = buildSimulatorData(), https = false): Promise<RetailServerSimulator> {
  simulator = await startRetailServerSimulator({
    data,
    authorize: (token) => token === GOOD_TOKEN,
    operatingUnitNumber: OUN,
    ...(https ? { tls: testTls() } : {}),
  });
  return simulator;
}

interface CallOptions {
  query?: string;
  headers?: Record<string, string>;
  body?: unknown;
  method?: string;
}

async function call(sim: RetailServerSimulator, path: string, options: CallOptions = {}): Promise<{ status: number; body: RawRecord }> {
  const response = await fetch(`${sim.baseUrl}/${path}${options.query ? `?${options.query}` : ''}`, {
    method: options.method ?? 'POST',
    headers: {
      Authorization: `Bearer ${GOOD_TOKEN}`,
      OUN,
      'Content-Type': 'application/json',
      ...options.headers,
    },
    ...(options.method === 'GET' ? {} : { body: JSON.stringify(options.body ?? {}) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as RawRecord };
}

function ids(body: RawRecord, field = 'Id'): unknown[] {
  return (body.value as RawRecord[]).map((record) => record[field]);
}

const criteria = (overrides: RawRecord = {}): { cartSearchCriteria: RawRecord } => ({
  cartSearchCriteria: {
    CartTypeValue: 1,
    LastModifiedDateTimeFrom: '2025-03-01T10:00:00.000Z',
    LastModifiedDateTimeTo: '2025-03-01T12:00:00.000Z',
    IncludeAnonymous: false,
    ...overrides,
  },
});

describe('Retail Server simulator: checks before answering', () => {
  test('a request without a bearer token, or with a bad one, is 401 with an OData error body', async () => {
    const sim = await start();
    const withoutToken = await call(sim, 'OrgUnits/GetOrgUnitConfiguration', { headers: { Authorization: '' } });
    const badToken = await call(sim, 'OrgUnits/GetOrgUnitConfiguration', { headers: { Authorization: 'Bearer forged' } });

    expect(withoutToken.status).toBe(401);
    expect(withoutToken.body).toEqual({
      error: { code: 'Microsoft_Dynamics_Commerce_Runtime_AuthenticationFailed', message: 'The request has no bearer token.' },
    });
    expect(badToken.status).toBe(401);
    expect(sim.requests.map((r) => r.authorized)).toEqual([false, false]);
  });

  test('a request without OUN is 400; one for another operating unit is 400 too', async () => {
    const sim = await start();
    const withoutOun = await call(sim, 'OrgUnits/GetOrgUnitConfiguration', { headers: { OUN: '' } });
    const otherOun = await call(sim, 'OrgUnits/GetOrgUnitConfiguration', { headers: { OUN: '999' } });

    expect(withoutOun.status).toBe(400);
    expect((withoutOun.body.error as RawRecord).message).toMatch(/'OUN' header/);
    expect(otherOun.status).toBe(400);
    expect((otherOun.body.error as RawRecord).message).toContain("'999'");
  });

  test('an unknown route is 404, a GET on a known one 405, a non-JSON body 400', async () => {
    const sim = await start();

    expect((await call(sim, 'Carts/Nowhere')).status).toBe(404);
    expect((await call(sim, 'Carts/Search', { method: 'GET' })).status).toBe(405);
    const response = await fetch(`${sim.baseUrl}/Carts/Search`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${GOOD_TOKEN}`, OUN, 'Content-Type': 'application/json' },
      body: '{not json',
    });
    expect(response.status).toBe(400);
  });

  test('records each request with its query, body and headers, the token redacted', async () => {
    const sim = await start();
    await call(sim, 'Carts/Search', { query: '$top=5&$skip=0&api-version=7.3', body: criteria() });

    expect(sim.requests).toEqual([
      expect.objectContaining({
        endpoint: 'cartSearch',
        method: 'POST',
        path: '/Commerce/Carts/Search',
        query: { $top: '5', $skip: '0', 'api-version': '7.3' },
        body: criteria(),
        authorized: true,
      }),
    ]);
    expect(sim.requests[0]?.headers).toMatchObject({ authorization: 'Bearer [redacted]', oun: OUN });
    expect(JSON.stringify(sim.requests)).not.toContain(GOOD_TOKEN);
  });
});

describe('Retail Server simulator: cart search', () => {
  const carts = [
    cartRecord({ id: 'before', customerId: 'C1', modifiedDateTime: '2025-03-01T09:59:59.999Z' }),
    cartRecord({ id: 'at-from', customerId: 'C1', modifiedDateTime: '2025-03-01T10:00:00.000Z' }),
    cartRecord({ id: 'b-middle', customerId: 'C2', modifiedDateTime: '2025-03-01T11:00:00.000Z' }),
    cartRecord({ id: 'a-middle', customerId: 'C3', modifiedDateTime: '2025-03-01T11:00:00.000Z' }),
    cartRecord({ id: 'anonymous', customerId: '', modifiedDateTime: '2025-03-01T11:30:00.000Z', receiptEmail: 'x@example.com' }),
    cartRecord({ id: 'checkout', customerId: 'C4', modifiedDateTime: '2025-03-01T11:40:00.000Z', cartTypeValue: 2 }),
    cartRecord({ id: 'at-to', customerId: 'C5', modifiedDateTime: '2025-03-01T12:00:00.000Z' }),
    cartRecord({ id: 'after', customerId: 'C5', modifiedDateTime: '2025-03-01T12:00:00.001Z' }),
  ];

  test('both window bounds are inclusive; shopping carts only; ordered by ModifiedDateTime then Id', async () => {
    const sim = await start(buildSimulatorData({ carts }));
    const result = await call(sim, 'Carts/Search', { query: '$orderby=ModifiedDateTime', body: criteria() });

    expect(result.status).toBe(200);
    expect(ids(result.body)).toEqual(['at-from', 'a-middle', 'b-middle', 'at-to']);
  });

  test('IncludeAnonymous adds carts without a CustomerId', async () => {
    const sim = await start(buildSimulatorData({ carts }));
    const result = await call(sim, 'Carts/Search', { body: criteria({ IncludeAnonymous: true }) });

    expect(ids(result.body)).toEqual(['at-from', 'a-middle', 'b-middle', 'anonymous', 'at-to']);
  });

  test('$skip then $top page through the ordered result', async () => {
    const sim = await start(buildSimulatorData({ carts }));
    const page = async (skip: number) =>
      ids((await call(sim, 'Carts/Search', { query: `$top=2&$skip=${skip}&$orderby=ModifiedDateTime`, body: criteria() })).body);

    expect(await page(0)).toEqual(['at-from', 'a-middle']);
    expect(await page(2)).toEqual(['b-middle', 'at-to']);
    expect(await page(4)).toEqual([]);
  });

  test('an unsupported $orderby or a bad $top is a 400, not a silent guess', async () => {
    const sim = await start(buildSimulatorData({ carts }));

    expect((await call(sim, 'Carts/Search', { query: '$orderby=TotalAmount', body: criteria() })).status).toBe(400);
    expect((await call(sim, 'Carts/Search', { query: '$top=-1', body: criteria() })).status).toBe(400);
    expect((await call(sim, 'Carts/Search', { body: { wrong: true } })).status).toBe(400);
  });

  test('changes to data between calls show in the next answer', async () => {
    const sim = await start(buildSimulatorData({ carts: [] }));
    sim.data.carts.push(cartRecord({ id: 'new', customerId: 'C9', modifiedDateTime: '2025-03-01T10:30:00Z' }));

    expect(ids((await call(sim, 'Carts/Search', { body: criteria() })).body)).toEqual(['new']);
  });
});

describe('Retail Server simulator: channel, products and customers', () => {
  const data = () =>
    buildSimulatorData({
      customers: [customerRecord('C1'), customerRecord('C2'), customerRecord('C3')],
      products: [productRecord(101), productRecord(102), productRecord(103)],
    });

  test('GetOrgUnitConfiguration returns the channel', async () => {
    const sim = await start(data());
    const result = await call(sim, 'OrgUnits/GetOrgUnitConfiguration');

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ RecordId: DEFAULT_CHANNEL_ID, Currency: 'USD', DefaultLanguageId: 'en-us' });
  });

  test('Products/Search returns the products whose RecordId is in Ids, honouring $top; Context.ChannelId is required', async () => {
    const sim = await start(data());
    const search = (body: unknown, query = '$skip=0') => call(sim, 'Products/Search', { query, body });
    const criteriaFor = (ids: unknown[], context: unknown = { ChannelId: DEFAULT_CHANNEL_ID }) => ({
      productSearchCriteria: { Ids: ids, SkipVariantExpansion: true, DataLevelValue: 2, Context: context },
    });

    expect(ids((await search(criteriaFor([103, 101, 999]))).body, 'RecordId')).toEqual([101, 103]);
    expect(ids((await search(criteriaFor([101, 102, 103]), '$top=2&$skip=0')).body, 'RecordId')).toEqual([101, 102]);
    expect(ids((await search(criteriaFor([101], { ChannelId: 42 }))).body, 'RecordId')).toEqual([]);
    expect((await search(criteriaFor([101], {}))).status).toBe(400);
  });

  test('Customers/GetByAccountNumbers returns the customers in the list, honouring $top', async () => {
    const sim = await start(data());
    const lookup = (accountNumbers: string[], query = '') =>
      call(sim, 'Customers/GetByAccountNumbers', { query, body: { accountNumbers, searchLocationValue: 1 } });

    expect(ids((await lookup(['C3', 'C1', 'nobody'])).body, 'AccountNumber')).toEqual(['C1', 'C3']);
    expect(ids((await lookup(['C1', 'C2', 'C3'], '$top=1&$skip=1')).body, 'AccountNumber')).toEqual(['C2']);
    expect((await call(sim, 'Customers/GetByAccountNumbers', { body: {} })).status).toBe(400);
  });

  test('failNext plays scripted answers for one endpoint, in order, before auth; others are unaffected', async () => {
    const sim = await start(data());
    sim.failNext('products', [{ status: 503, headers: { 'Retry-After': '3' } }, { status: 200, body: '{"value":[{"RecordId":"x"}]}' }]);
    const productBody = { productSearchCriteria: { Ids: [101], Context: { ChannelId: DEFAULT_CHANNEL_ID } } };

    expect((await call(sim, 'OrgUnits/GetOrgUnitConfiguration')).status).toBe(200);
    const first = await call(sim, 'Products/Search', { body: productBody, headers: { Authorization: '' } });
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ error: { code: 'Status503' } });
    expect((await call(sim, 'Products/Search', { body: productBody })).body).toEqual({ value: [{ RecordId: 'x' }] });
    expect(ids((await call(sim, 'Products/Search', { body: productBody })).body, 'RecordId')).toEqual([101]);
  });

  test('serves HTTPS with the given certificate', async () => {
    const sim = await start(data(), true);

    expect(sim.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/Commerce$/);
    expect((await call(sim, 'OrgUnits/GetOrgUnitConfiguration')).status).toBe(200);
  });
});
