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
