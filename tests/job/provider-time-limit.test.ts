import { createEmarsysProvider } from '../../src/providers/emarsys';
import { defaultRetryPolicy } from '../../src/shared/retry';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { EMARSYS_SECRET, EMARSYS_USER, EVENT_ID, startHarness, type Harness } from '../support/harness';

/**
 * Review: Emarsys throttling a run near its time limit. The store stops retrying a minute after
 * MaxRunMinutes so that a run ends before the host's functionTimeout; the provider's retries must too.
 */
const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');

function seed() {
  const carts = Array.from({ length: 5 }, (_, i) =>
    cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
  );
  return buildSimulatorData({ customers: Array.from({ length: 5 }, (_, i) => customerRecord(`C${i}`)), products: [productRecord(1)], carts });
}

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ data: seed(), now: NOW });
});
afterEach(() => h.close());

test('Emarsys throttling (Retry-After: 60) does not hold the run past MaxRunMinutes and its one-minute grace', async () => {
  // Emarsys answers every trigger with 429 and asks for a minute's wait.
  h.emarsys.failNext(Array.from({ length: 50 }, () => ({ status: 429, headers: { 'Retry-After': '60' } })));
  // Waits pass on the run's clock, as they would in real time.
  const sleep = async (ms: number) => h.clock.set(new Date(h.clock.now().getTime() + ms));
  const started = h.clock.now().getTime();
  const report = await h.run({}, { RetailServerClientOptions__MaxRunMinutes: '2' }, {}, () => ({
    provider: createEmarsysProvider({
      apiUrl: h.emarsys.apiUrlTemplate,
      externalEventId: EVENT_ID,
      auth: { mode: 'wsse', userName: EMARSYS_USER, secret: EMARSYS_SECRET },
      clock: h.clock,
      sleep,
      retry: defaultRetryPolicy,
      batchSize: 1,
      logger: silentLogger,
    }),
  }));
  const elapsedMinutes = (h.clock.now().getTime() - started) / 60_000;
  expect(report.status).toBe('completed');
  expect(report.carts.failed).toBe(5);
  // MaxRunMinutes 2, plus the minute the store is given: the run must be over by then.
  expect(elapsedMinutes).toBeLessThanOrEqual(3);
});
