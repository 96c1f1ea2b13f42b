import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerMinimallyWhenAsked } from '../../src/simulators/cosmos-minimal-response';

/** A server that answers like the embedded Cosmos server does: every operation with its document. */
const answer = [
  { statusCode: 201, requestCharge: 1, eTag: '"1"', resourceBody: { id: 'a', _etag: '"1"' } },
  { statusCode: 409, requestCharge: 0 },
];

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    answerMinimallyWhenAsked(req, res);
    req.resume();
    req.on('end', () => res.end(JSON.stringify(answer)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dbs/db/colls/c/docs`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function post(headers: IncomingHttpHeaders): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end('[]');
  });
}

test('a bulk request with Prefer: return=minimal gets each status and etag, no document', async () => {
  expect(await post({ 'x-ms-cosmos-is-batch-request': 'True', prefer: 'return=minimal' })).toEqual([
    { statusCode: 201, requestCharge: 1, eTag: '"1"' },
    { statusCode: 409, requestCharge: 0 },
  ]);
});

test('without the header, or on a request that is not a bulk, the answer is unchanged', async () => {
  expect(await post({ 'x-ms-cosmos-is-batch-request': 'True' })).toEqual(answer);
  expect(await post({ prefer: 'return=minimal' })).toEqual(answer);
  expect(await post({ 'x-ms-cosmos-is-batch-request': 'True', prefer: 'return=representation' })).toEqual(answer);
});
