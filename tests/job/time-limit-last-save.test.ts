import type { Clock } from '../../src/shared/clock';
import type { NotificationLedger } from '../../src/store/ledger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * A run stopped by its time limit says what is left of its window before its closing step (the
 * lease's renewal, and the checkpoint's save when it moved since the last page's): when that
 * throws, the failed report, stored and returned, still says where the run got to. And the
 * checkpoint is saved once a range, never twice at one position.
 */
const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');

function seed() {
  const carts = Array.from({ length: 30 }, (_, i) =>
    cartRecord({ id: `cart-${String(i).padStart(2, '0')}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
  );
  return buildSimulatorData({ customers: Array.from({ length: 30 }, (_, i) => customerRecord(`C${i}`)), products: [productRecord(1)], carts });
}

const PAGES = { RetailServerClientOptions__PageSize: '10', RetailServerClientOptions__PageConcurrency: '1', RetailServerClientOptions__MaxRunMinutes: '5' };

/**
 * The ledger, except that its second lease renewal fails (a Cosmos DB outage at the run's end), and
 * each checkpoint save is counted.
 */
function secondRenewalFails(ledger: NotificationLedger, saved: { count: number }): NotificationLedger {
  let renewals = 0;
  return Object.assign(Object.create(ledger) as NotificationLedger, {
    async saveCheckpoint(checkpoint: Parameters<NotificationLedger['saveCheckpoint']>[0]) {
      await ledger.saveCheckpoint(checkpoint);
      saved.count++;
    },
    async renewLease(...args: Parameters<NotificationLedger['renewLease']>) {
      renewals++;
      if (renewals === 2) throw new Error('Cosmos DB unavailable (503)');
      return ledger.renewLease(...args);
    },
  });
}

describe('checkpoint saves', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ data: seed(), now: NOW });
  });
  afterEach(() => h.close());

  test('a run stopped by its time limit whose last lease renewal fails still reports what is left of its window', async () => {
    const saved = { count: 0 };
    // Past the time limit once the first page has sent (the lease is renewed before its checkpoint
    // is saved), and later still once it is saved: the run's closing step renews the lease again.
    const clock: Clock = { now: () => new Date(h.clock.now().getTime() + (h.emarsys.deliveries.length > 0 ? 6 * 60_000 : 0) + (saved.count > 0 ? 4 * 60_000 : 0)) };
    const report = await h.run({}, PAGES, {}, (built) => ({ clock, ledger: secondRenewalFails(built.ledger, saved) }));
    expect(report.status).toBe('failed');
    expect(report.error).toContain('Cosmos DB unavailable');
    // The first page was worked and its checkpoint saved; the rest of the window is the next run's.
    expect(report.pages).toBe(1);
    expect(saved.count).toBe(1);
    expect(report.checkpoint).toBeDefined();
    expect(report.remaining).toEqual({ from: report.checkpoint?.lastModifiedAt, to: report.window.to });
  });

  test('the pipelined pass saves once a range, its last range at the window\'s end, and the run saves nothing more', async () => {
    const saved = { count: 0 };
    const report = await h.run({}, { RetailServerClientOptions__PageSize: '10' }, {}, (built) => ({ ledger: secondRenewalFails(built.ledger, saved) }));
    expect(report.status).toBe('completed');
    expect(report.carts.notified).toBe(30);
    expect(report.checkpoint?.lastModifiedAt).toBe(report.window.to);
    expect(saved.count).toBe(report.pages);
  });

  test('a window of one page saves its checkpoint once', async () => {
    const saved = { count: 0 };
    const report = await h.run({}, { RetailServerClientOptions__PageSize: '100' }, {}, (built) => ({ ledger: secondRenewalFails(built.ledger, saved) }));
    expect(report.pages).toBe(1);
    expect(report.checkpoint?.lastModifiedAt).toBe(report.window.to);
    expect(saved.count).toBe(1);
  });
});
