import { createEmarsysProvider } from '../../src/providers/emarsys';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { FaultyLedger, FaultyProvider, faultyRetail } from '../support/crash-world';
import { EMARSYS_SECRET, EMARSYS_USER, EVENT_ID, fastRetry, startHarness, type Harness } from '../support/harness';

/**
 * A report's counts add up whatever went wrong: every cart seen is eligible or skipped, every
 * eligible cart notified or failed.
 */
const NOW = '2026-11-23T12:00:00Z';

// A superseded cart is never eligible: when its record cannot be read back (throttled past its
// retries) it is skipped, not for good, with the ledger's failure among the run's failures.

describe('a superseded cart whose record cannot be read back', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('the completed run\'s counts still add up (seen = eligible + skipped, eligible = notified + failed)', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'X', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] })],
      }),
    });
    const ledger = new FaultyLedger();
    const real = createEmarsysProvider({ apiUrl: h.emarsys.apiUrlTemplate, externalEventId: EVENT_ID, auth: { mode: 'wsse', userName: EMARSYS_USER, secret: EMARSYS_SECRET }, clock: h.clock, logger: silentLogger, retry: fastRetry, sleep: async () => undefined });
    const provider = new FaultyProvider(real, ledger);
    const deps = () => ({ ledger, provider });

    // Run 1: Emarsys is down; X fails retryably and waits for a later run.
    h.emarsys.failNext(Array.from({ length: 4 }, () => ({ status: 503 })));
    expect((await h.run({}, {}, {}, deps)).carts).toMatchObject({ failed: 1, notified: 0 });

    // C1 leaves a newer cart Y; in run 2 the read of X's record is throttled past its retries.
    h.retail.data.carts.push(cartRecord({ id: 'Y', customerId: 'C1', modifiedDateTime: '2026-11-23T12:10:00Z', lines: [{ productId: 1 }] }));
    h.clock.set('2026-11-23T12:30:00Z');
    const x = notificationId('X', new Date('2026-11-23T09:00:00Z'));
    ledger.arm({ failRead: (id) => id === x });
    const report = await h.run({}, {}, {}, deps);
    expect(report.status).toBe('completed');
    expect(report.carts.notified).toBe(1);
    const { seen, eligible, skipped, notified, failed } = report.carts;
    expect({ seen, eligibleAndSkipped: eligible + skipped, eligible, notifiedAndFailed: notified + failed }).toEqual({
      seen,
      eligibleAndSkipped: seen,
      eligible,
      notifiedAndFailed: eligible,
    });
  });
});

// A page that fails part-way (here: Retail Server down for its customer lookup) is the next run's,
// as a page that runs out of time is: its carts are not counted as seen without an outcome.

describe('a run that fails part-way through its pages', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('reports counts that add up: the failed page\'s carts are not counted as seen without an outcome', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [0, 1, 2, 3].map((i) => customerRecord(`C${i}`)),
        products: [productRecord(1)],
        carts: [0, 1, 2, 3].map((i) => cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: `2026-11-23T09:0${i}:00Z`, lines: [{ productId: 1 }] })),
      }),
    });
    // The second page's customer lookup meets a Retail Server outage (its retries used up).
    const report = await h.run({}, { RetailServerClientOptions__PageSize: '2' }, { strategy: 'sequential' }, (built) => ({
      retail: faultyRetail(built.retail, { fail: (method, n) => (method === 'getCustomers' && n === 2 ? 'outage' : undefined) }),
    }));
    expect(report.status).toBe('failed');
    expect(report.carts.notified).toBe(2);
    expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T09:01:00.000Z');
    const { seen, eligible, skipped, notified, failed } = report.carts;
    expect({ seen, eligibleAndSkipped: eligible + skipped, eligible, notifiedAndFailed: notified + failed }).toEqual({
      seen,
      eligibleAndSkipped: seen,
      eligible,
      notifiedAndFailed: eligible,
    });
  });
});
