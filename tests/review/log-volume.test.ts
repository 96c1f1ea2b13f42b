import { startHarness, type Harness } from '../support/harness';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { failSearchesHolding } from '../support/unreadable-carts';
import { atLevels, NOW, outcomeWrites, store } from './support';

/**
 * Review: what a bad day costs in Application Insights (billed by ingestion). The report already
 * counts every bad record by reason; the log should say so in a bounded number of lines, not write
 * a warn (or info) line per record. The bound used here is generous: at most 50 warn/info lines
 * about the bad records of one run, however many there are (a normal run of 3,000 carts writes 34
 * info lines in all).
 */
const BOUND = 50;

describe('review: log lines on a bad day stay bounded (no line per record)', () => {
  describe('Retail Server records that do not parse', () => {
    let h: Harness;
    afterEach(() => h.close());

    test('2,000 carts that do not parse: counted in the report, but not one warn line per cart', async () => {
      h = await startHarness({ now: NOW, data: store({ good: 100, badCarts: 2_000 }) });
      const report = await h.run();

      expect(report.status).toBe('completed');
      expect(report.carts.skippedByReason['invalid-record']).toBe(2_000);
      // Measured: 2,000 lines 'Skipped a cart record that does not parse' (src/job/process-page.ts:69).
      expect(atLevels(h.logs, 'warn', 'error').length).toBeLessThanOrEqual(BOUND);
    });

    test('1,000 customers and 20 products that do not parse: not one warn line per record', async () => {
      h = await startHarness({ now: NOW, data: store({ good: 2_000, badCustomers: 1_000, badProducts: 20 }) });
      const report = await h.run();

      expect(report.status).toBe('completed');
      expect(report.invalidRecords).toEqual({ customers: 1_000, products: 20 });
      // Measured: 1,000 'Skipped a customer record that does not parse' and 20 'Skipped a product
      // record that does not parse' (src/job/process-page.ts:129 and :122).
      expect(atLevels(h.logs, 'warn', 'error').length).toBeLessThanOrEqual(BOUND);
    });
  });

  describe('faults', () => {
    let h: FaultHarness;
    afterEach(() => h.close());

    test('Cosmos DB refuses the outcome writes of 300 sent reminders: not one warn line per reminder', async () => {
      h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
      h.proxies.cosmos.inject({ match: outcomeWrites, fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
      const report = await h.run();

      expect(report.failures).toEqual([{ reason: 'ledger: outcome not recorded (cosmos HTTP 503 after 4 attempts)', count: 300 }]);
      // Measured: 300 'The outcome of a reminder could not be recorded; a later run will settle it'
      // (src/job/process-page.ts:269), each without the reason.
      expect(atLevels(h.logs, 'warn', 'error').length).toBeLessThanOrEqual(BOUND);
    });

    test('one lost answer to a bulk claim of 100: not one info line per record read back', async () => {
      h = await startFaultHarness({ now: NOW, data: store({ good: 100 }) });
      h.cosmos.dropResponses(1, (request) => request.batch);
      const report = await h.run();

      expect(report.carts.notified).toBe(100);
      // Measured: 100 info lines 'Cosmos DB write applied by an earlier, timed-out try' (src/store/cosmos-ledger.ts:230).
      const readBack = h.logs.filter((log) => log.message === 'Cosmos DB write applied by an earlier, timed-out try');
      expect(readBack.length).toBeGreaterThan(0);
      expect(readBack.length).toBeLessThanOrEqual(5);
    });

    test('10 carts Retail Server cannot load among 300: the narrowing does not write ~23 warn lines per cart', async () => {
      h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
      failSearchesHolding(h, new Set(Array.from({ length: 10 }, (_, i) => `cart-${i * 29 + 7}`)));
      const report = await h.run();

      expect(report.status).toBe('completed');
      expect(report.carts.skippedByReason['unreadable-record']).toBe(10);
      // Measured: ~22 'Retail Server call failed; retrying' warn lines per unreadable cart (1,108 for
      // 50 carts; src/retail/retail-transport.ts:231) plus one 'Skipped a cart that Retail Server
      // cannot load' each (src/job/process-page.ts:64).
      expect(atLevels(h.logs, 'warn', 'error').length).toBeLessThanOrEqual(BOUND);
    });
  });
});
