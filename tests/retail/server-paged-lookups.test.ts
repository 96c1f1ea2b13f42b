import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRetailServerClient } from '../../src/retail/retail-client';
import { customerRecord } from '../../src/simulators/retail-server';
import { fastRetry, startHarness, type Harness } from './harness';

/**
 * A lookup asks with `$top` = the ids asked. An OData service (or a gateway before it) may cap its
 * answers below that and say so with `@odata.nextLink` (server-driven paging). The ids it left out
 * must not read as "not found" (their carts would be skipped for good as customer-not-found): the
 * lookup asks for them again.
 */
const SERVER_PAGE = 100;

let harness: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await harness?.close();
});

test('customers answered in pages of 100 with @odata.nextLink: every one is found, in one request per page', async () => {
  harness = await startHarness();
  const asked: number[] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const ids = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { accountNumbers: string[] }).accountNumbers;
      asked.push(ids.length);
      const body = JSON.stringify({
        '@odata.context': '$metadata#Customers',
        value: ids.slice(0, SERVER_PAGE).map((id) => customerRecord(id)),
        ...(ids.length > SERVER_PAGE ? { '@odata.nextLink': 'Customers/GetByAccountNumbers?$skip=100' } : {}),
      });
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const client = createRetailServerClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/Commerce`,
    operatingUnitNumber: '128',
    tokenProvider: harness.tokenProvider,
    retry: fastRetry,
  });
  const ids = Array.from({ length: 250 }, (_, i) => `C${String(i).padStart(4, '0')}`);
  const result = await client.getCustomers(ids);
  expect({ found: result.customers.length, failed: result.failed.length, asked }).toEqual({ found: 250, failed: 0, asked: [250, 150, 50] });
});

test('a cart search answered below $top with @odata.nextLink fails, naming the PageSize to set, instead of ending the range there', async () => {
  harness = await startHarness();
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const value = Array.from({ length: 500 }, (_, i) => ({ Id: `cart-${i}`, ModifiedDateTime: new Date(Date.UTC(2026, 10, 23, 9, 0, i)).toISOString(), CartLines: [] }));
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ value, '@odata.nextLink': 'Carts/Search?$skip=500' }));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const client = createRetailServerClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/Commerce`,
    operatingUnitNumber: '128',
    tokenProvider: harness.tokenProvider,
    retry: fastRetry,
  });
  const error = await client
    .searchCarts({ from: new Date('2026-11-23T08:00:00Z'), to: new Date('2026-11-23T12:00:00Z'), includeAnonymous: false, top: 1000, skip: 0 })
    .catch((e: unknown) => e);
  expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/answered 500 carts for \$top=1000 with an @odata\.nextLink.*Set RetailServerClientOptions\.PageSize to at most 500\.$/) });
});
