import { startHarness, type Harness } from '../support/harness';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { failSearchesHolding } from '../support/unreadable-carts';
import { atLevels, NOW, outcomeWrites, store } from '../support/bad-day-store';
import type { LogRecord } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { RETAIL_ENDPOINTS } from '../reliability/faults/retail';

const ISOLATING = 'Retail Server failed a call on every attempt, as it fails for a record it cannot load; the connector looks for that record';

/**
 * What a bad day costs in Application Insights, which bills every line it ingests. The report
 * counts every bad record by reason; the log says so once a page for each kind of problem, not a
 * warn (or info) line per record. The bound here is generous: at most 50 warn or info lines about
 * the bad records of one run, however many there are (a normal run of 3,000 carts writes 34 info
 * lines in all).
 */
const BOUND = 50;

/** The records of the lines with this message, added up. */
const counted = (logs: readonly LogRecord[], message: string) => logs.filter((log) => log.message === message).reduce((sum, log) => sum + Number(log.fields.count), 0);

describe('log lines on a bad day stay bounded (no line per record)', () => {
  describe('Retail Server records that do not parse', () => {
    let h: Harness;
    afterEach(() => h.close());

    test('2,000 carts that do not parse: counted in the report, and in one warn line per page', async () => {
      h = await startHarness({ now: NOW, data: store({ good: 100, badCarts: 2_000 }) });
      const report = await h.run();

      expect(report.status).toBe('completed');
      expect(report.carts.skippedByReason['invalid-record']).toBe(2_000);
      const warned = atLevels(h.logs, 'warn', 'error');
      expect(warned.length).toBeLessThanOrEqual(BOUND);
      expect(new Set(warned.map((log) => log.message))).toEqual(new Set(['Skipped cart records that do not parse']));
      expect(counted(warned, 'Skipped cart records that do not parse')).toBe(2_000);
      expect(warned[0]?.fields).toMatchObject({ reason: 'CartLines Invalid input: expected array, received string', samples: ['bad-0', 'bad-1', 'bad-2', 'bad-3', 'bad-4'] });
    });

    test('1,000 customers and 20 products that do not parse: one warn line per page and kind', async () => {
      h = await startHarness({ now: NOW, data: store({ good: 2_000, badCustomers: 1_000, badProducts: 20 }) });
      const report = await h.run();

      expect(report.status).toBe('completed');
      expect(report.invalidRecords).toEqual({ customers: 1_000, products: 20 });
      const warned = atLevels(h.logs, 'warn', 'error');
      expect(warned.length).toBeLessThanOrEqual(BOUND);
      expect(counted(warned, 'Skipped customer records that do not parse')).toBe(1_000);
      expect(counted(warned, 'Skipped product records that do not parse')).toBe(20);
      // Named by id, counted by what is wrong; never by the customer's email or name.
      const customers = warned.find((log) => log.message === 'Skipped customer records that do not parse');
      expect(customers?.fields).toMatchObject({ reason: 'Email Invalid input: expected string, received number', samples: ['AccountNumber C0', 'AccountNumber C1', 'AccountNumber C2', 'AccountNumber C3', 'AccountNumber C4'] });
      expect(JSON.stringify(warned)).not.toMatch(/@example\.com/);
    });
  });

  describe('faults', () => {
    let h: FaultHarness;
    afterEach(() => h.close());

    test('Cosmos DB refuses the outcome writes of 300 sent reminders: one warn line per page, with why', async () => {
      h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
      h.proxies.cosmos.inject({ match: outcomeWrites, fault: { kind: 'status', status: 503, body: '{"code":"ServiceUnavailable","message":"injected"}' } });
      const report = await h.run();

      expect(report.failures).toEqual([{ reason: 'ledger: outcome not recorded (cosmos HTTP 503 after 4 attempts)', count: 300 }]);
      const warned = atLevels(h.logs, 'warn', 'error');
      expect(warned.length).toBeLessThanOrEqual(BOUND);
      const message = 'Cosmos DB did not record the outcomes of reminders; a later run will settle them';
      expect(counted(warned, message)).toBe(300);
      expect(warned.every((log) => log.message === message && log.fields.reason === 'cosmos HTTP 503 after 4 attempts')).toBe(true);
    });

    test('one lost answer to a bulk claim of 100: one info line for the call, not one per record read back', async () => {
      h = await startFaultHarness({ now: NOW, data: store({ good: 100 }) });
      h.cosmos.dropResponses(1, (request) => request.batch);
      const report = await h.run();

      expect(report.carts.notified).toBe(100);
      const readBack = h.logs.filter((log) => log.message === 'Cosmos DB write applied by an earlier, timed-out try');
      expect(readBack).toHaveLength(1);
      expect(readBack[0]?.fields).toMatchObject({ count: expect.any(Number), runId: report.runId });
      expect((readBack[0]?.fields.samples as string[]).length).toBeLessThanOrEqual(5);
    });

    test('10 carts Retail Server cannot load among 300: the narrowing writes no warn per failed attempt, only what it found', async () => {
      h = await startFaultHarness({ now: NOW, data: store({ good: 300 }) });
      failSearchesHolding(h, new Set(Array.from({ length: 10 }, (_, i) => `cart-${i * 29 + 7}`)));
      const report = await h.run();

      expect(report.status).toBe('completed');
      expect(report.carts.skippedByReason['unreadable-record']).toBe(10);
      // The narrowing's failed attempts (about 22 a cart) are at debug; the report counts them.
      expect(report.retries.cartSearch).toBeGreaterThan(100);
      const warned = atLevels(h.logs, 'warn', 'error');
      expect(warned.length).toBeLessThanOrEqual(BOUND);
      expect(new Set(warned.map((log) => log.message))).toEqual(new Set(['Skipped carts that Retail Server cannot load', ISOLATING]));
      expect(counted(warned, 'Skipped carts that Retail Server cannot load')).toBe(10);
      // Once a call that met one, not once an attempt: the page's search and the search of the cart
      // alone, in the survey and in the pass.
      expect(warned.filter((log) => log.message === ISOLATING).length).toBeLessThanOrEqual(4 * 10);
    });
  });
});

describe('a failure that outlasts its retries and turns out to be no record\'s', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('a customer lookup failing with HTTP 500 on every attempt, then answered in parts, is still a warn', async () => {
    h = await startHarness({ now: NOW, data: store({ good: 3 }) });
    // A brief outage, not a record: the split that follows finds no customer at fault.
    h.retail.failNext('customers', Array.from({ length: 4 }, () => ({ status: 500 })));
    const report = await h.run();

    expect(report.status).toBe('completed');
    expect(report.carts.notified).toBe(3);
    const warned = atLevels(h.logs, 'warn', 'error').filter((log) => log.fields.operation === 'POST Customers/GetByAccountNumbers');
    expect(warned.map((log) => [log.message, log.fields.attempts, log.fields.status])).toEqual([[ISOLATING, 4, 500]]);
  });
});

describe('a page whose customer lookup fails while its product read finds a product Retail Server fails', () => {
  let h: FaultHarness;
  afterEach(() => h.close());

  test('the product is still logged at warn, and the read has ended when the run reports', async () => {
    const poison = 2;
    const start = Date.parse('2026-11-23T05:00:00Z');
    h = await startFaultHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: Array.from({ length: 6 }, (_, i) => customerRecord(`C${i}`)),
        products: [productRecord(1), productRecord(poison)],
        carts: Array.from({ length: 6 }, (_, i) =>
          cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(start + i * 600_000).toISOString(), lines: i === 4 ? [{ productId: 1 }, { productId: poison }] : [{ productId: 1 }] }),
        ),
      }),
    });
    // Product 2 cannot be loaded (the split finds it); the customer endpoint is down (503: no record's status).
    h.proxies.retail.inject({
      path: RETAIL_ENDPOINTS.products,
      match: (request) => (JSON.parse(request.text()) as { productSearchCriteria: { Ids: number[] } }).productSearchCriteria.Ids.includes(poison),
      fault: { kind: 'status', status: 500, body: JSON.stringify({ error: { code: 'Microsoft_Dynamics_Commerce_Runtime_CriticalStorageError', message: 'An error occurred while loading the record.' } }) },
    });
    h.proxies.retail.inject({ path: RETAIL_ENDPOINTS.customers, fault: { kind: 'status', status: 503 } });
    const report = await h.run();

    expect(report.status).toBe('failed');
    const warned = h.logs.filter((log) => log.level === 'warn' && log.message === 'Retail Server fails every lookup of these products; their carts fail for now');
    expect(warned.map((log) => log.fields.samples)).toEqual([[poison]]);
  });
});
