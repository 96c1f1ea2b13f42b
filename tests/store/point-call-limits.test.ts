import type { ProxiedRequest } from '../../src/simulators/fault-proxy';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { isBulk } from './fixture';

/**
 * The ledger's point calls (checkpoint, lease, run record) under throttling and failures near the
 * run's time limit, through the real client, a TLS fault proxy and the embedded server: the SDK
 * retries a throttled point call itself, so the ledger does not again; and no retry of the
 * ledger's waits past the run's time left.
 */

const NOW = '2026-11-23T12:00:00Z';
let h: FaultHarness;
afterEach(() => h.close());

const isCheckpointWrite = (request: ProxiedRequest) => request.method === 'POST' && /\/docs$/.test(request.path) && !isBulk(request) && request.text().includes('"type":"checkpoint"');

async function start(): Promise<FaultHarness> {
  return startFaultHarness({
    now: NOW,
    data: buildSimulatorData({
      customers: [customerRecord('C1')],
      products: [productRecord(1)],
      carts: [cartRecord({ id: 'cart-C1', customerId: 'C1', modifiedDateTime: '2026-11-23T05:00:00Z', lines: [{ productId: 1 }] })],
    }),
  });
}

const ledgerRetries = () => h.logs.filter((log) => log.message === 'Retrying a Cosmos DB call' && log.fields.operation === 'save checkpoint').length;

test('a checkpoint write throttled for good is retried by the SDK alone (10 requests), not five times that by the ledger', async () => {
  h = await start();
  let onWire = 0;
  h.proxies.cosmos.inject({
    match: isCheckpointWrite,
    before: () => void onWire++,
    fault: { kind: 'status', status: 429, headers: { 'x-ms-retry-after-ms': '1', 'x-ms-substatus': '3200', 'content-type': 'application/json' }, body: '{"code":"TooManyRequests","message":"Request rate is large"}' },
  });
  const report = await h.run();
  expect({ status: report.status, ledgerRetries: ledgerRetries(), onWire }).toEqual({ status: 'failed', ledgerRetries: 0, onWire: 10 });
  expect(report.error).toMatch(/save checkpoint failed \(HTTP 429/);
});

test('a checkpoint write failing (503) once the run is past its time limit and the minute after: not retried', async () => {
  h = await start();
  let onWire = 0;
  h.proxies.cosmos.inject({
    match: isCheckpointWrite,
    before: () => {
      // The first checkpoint write comes when the run is already past its limit and the minute's grace.
      if (onWire++ === 0) h.clock.set(new Date(Date.parse(NOW) + 10 * 60_000));
    },
    fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' },
  });
  const report = await h.run({}, { RetailServerClientOptions__MaxRunMinutes: '8' });
  expect({ status: report.status, ledgerRetries: ledgerRetries(), onWire }).toEqual({ status: 'failed', ledgerRetries: 0, onWire: 1 });
});

test('the same failure within the run\'s time: retried, and the run completes', async () => {
  h = await start();
  h.proxies.cosmos.inject({ match: isCheckpointWrite, times: 1, fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
  const report = await h.run({}, { RetailServerClientOptions__MaxRunMinutes: '8' });
  expect({ status: report.status, ledgerRetries: ledgerRetries() }).toEqual({ status: 'completed', ledgerRetries: 1 });
});
