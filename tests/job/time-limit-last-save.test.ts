import type { Clock } from '../../src/shared/clock';
import type { NotificationLedger } from '../../src/store/ledger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * A run stopped by its time limit says what is left of its window before it saves its last
 * checkpoint: when that save (or the lease's renewal) throws, the failed report, stored and
 * returned, still says where the run got to.
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

/** The ledger, except that its second checkpoint save fails (a Cosmos DB outage at the run's end). */
function secondCheckpointFails(ledger: NotificationLedger): NotificationLedger {
  let saves = 0;
  return Object.assign(Object.create(ledger) as NotificationLedger, {
    async saveCheckpoint(checkpoint: Parameters<NotificationLedger['saveCheckpoint']>[0]) {
      saves++;
      if (saves === 2) throw new Error('Cosmos DB unavailable (503)');
      return ledger.saveCheckpoint(checkpoint);
    },
  });
}

describe('a run stopped by its time limit whose last checkpoint save fails', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ data: seed(), now: NOW });
  });
  afterEach(() => h.close());

  test('still reports what is left of its window', async () => {
    const clock: Clock = { now: () => new Date(h.clock.now().getTime() + (h.emarsys.deliveries.length > 0 ? 6 * 60_000 : 0)) };
    const report = await h.run({}, PAGES, {}, (built) => ({ clock, ledger: secondCheckpointFails(built.ledger) }));
    expect(report.status).toBe('failed');
    expect(report.error).toContain('Cosmos DB unavailable');
    // The first page was worked and its checkpoint saved; the rest of the window is the next run's.
    expect(report.pages).toBe(1);
    expect(report.checkpoint).toBeDefined();
    expect(report.remaining).toEqual({ from: report.checkpoint?.lastModifiedAt, to: report.window.to });
  });
});
