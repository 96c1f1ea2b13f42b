import type { IEmailProvider } from '../../src/providers/email-provider';
import { OTHER_FAILURE_REASONS, REPORTED_FAILURE_REASONS } from '../../src/job/run-counters';
import { ProblemSummary } from '../../src/shared/problem-summary';
import { createLogger, type LogRecord } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * What a run report and a log line hold stays bounded whatever the services say. The report is
 * stored as one Cosmos DB document (2 MB at most), returned by the HTTP rerun and logged as one
 * line; a failure reason per cart, each its own text (a per-contact error that quotes a trace id,
 * a lookup failure that names the account), made it grow by a few hundred bytes a cart: 10,000
 * such carts passed Cosmos DB's limit, and the run's report was then not stored at all.
 */

const NOW = '2026-11-23T12:00:00Z';
const CARTS = 300;

function carts() {
  return buildSimulatorData({
    customers: Array.from({ length: CARTS }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: CARTS }, (_, i) =>
      cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(Date.parse('2026-11-23T05:00:00Z') + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}

/** A provider that fails every reminder with a text of its own, as Emarsys' per-contact errors may read. */
function failingEachItsOwnWay(provider: IEmailProvider): IEmailProvider {
  return {
    ...provider,
    send: async (batch) =>
      batch.map((notification, i) => ({ triggerId: notification.triggerId, status: 'failed' as const, reason: `Emarsys 10001: contact rejected (trace ${notification.triggerId}-${i})`, retryable: false })),
  };
}

describe('a run report', () => {
  let h: Harness;
  afterEach(() => h.close());

  test(`names the ${REPORTED_FAILURE_REASONS} most frequent failure reasons and counts the rest together, however many distinct ones the carts met`, async () => {
    h = await startHarness({ now: NOW, data: carts() });
    const report = await h.run({}, {}, {}, (built) => ({ provider: failingEachItsOwnWay(built.provider) }));
    expect(report.carts).toMatchObject({ eligible: CARTS, failed: CARTS });
    // Before the fix: 300 entries, one per cart.
    expect(report.failures).toHaveLength(REPORTED_FAILURE_REASONS + 1);
    expect(report.failures.at(-1)).toEqual({ reason: OTHER_FAILURE_REASONS, count: CARTS - REPORTED_FAILURE_REASONS });
    expect(report.failures.reduce((sum, failure) => sum + failure.count, 0)).toBe(CARTS);
    expect(report.failuresByDependency).toEqual({ provider: CARTS });
    // The same report whatever order the pages finished in: the reasons named are the first by count, then by text.
    const named = report.failures.slice(0, -1).map((failure) => failure.reason);
    expect(named).toEqual([...named].sort());
  });
});

describe('a problem line', () => {
  test('names its sample records by at most 64 characters of their ids', () => {
    const lines: LogRecord[] = [];
    const summary = new ProblemSummary();
    for (let i = 0; i < 5; i++) summary.add('CartLines Invalid input', `${i}${'x'.repeat(1_000_000)}`);
    summary.log(createLogger((record) => lines.push(record)), 'warn', 'Skipped cart records that do not parse');
    // Before the fix: a line of 5 MB (Application Insights bills it, then cuts it at 32 kB).
    expect(JSON.stringify(lines).length).toBeLessThan(1_000);
    expect(lines[0]?.fields.samples).toEqual(Array.from({ length: 5 }, (_, i) => `${i}${'x'.repeat(63)}…`));
  });
});
