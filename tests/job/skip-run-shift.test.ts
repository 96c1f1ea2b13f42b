import type { RetailServerClient } from '../../src/retail/retail-client';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * More carts at one ModifiedDateTime than a page holds are read with $skip. A cart at that instant
 * that its customer changes between two of those searches moves out of the instant and every later
 * position shifts by one: the next $skip search would step over a cart nobody has read (once, it
 * was never worked, and the checkpoint moved past it). Each step now checks that the last cart
 * read is still in place, and reads the instant again from its start when it is not.
 */
const NOW = '2026-11-23T12:00:00Z';
const AT = '2026-11-23T09:00:00.000Z';
const TIES = 250;

function data() {
  return buildSimulatorData({
    customers: Array.from({ length: TIES }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: TIES }, (_, i) =>
      cartRecord({ id: `tie-${String(i).padStart(3, '0')}`, customerId: `C${i}`, modifiedDateTime: AT, lines: [{ productId: 1 }] }),
    ),
  });
}

describe('keyset paging over a run of carts at one instant', () => {
  let h: Harness;
  afterEach(() => h.close());

  for (const strategy of ['pipelined', 'sequential'] as const) {
    test(`${strategy}: a cart changed between two $skip searches at that instant makes no other cart be missed`, async () => {
      h = await startHarness({ now: NOW, data: data() });
      // Pipelined: during the survey (its copy of the instant is what the pass works). Sequential:
      // during the pass, which reads the window again after the survey.
      let skipSearches = 0;
      const changeAt = strategy === 'pipelined' ? 1 : 2;
      const report = await h.run({}, { RetailServerClientOptions__PageSize: '100' }, { strategy }, (built) => ({
        retail: Object.assign(Object.create(built.retail) as RetailServerClient, {
          async searchCarts(query: Parameters<RetailServerClient['searchCarts']>[0]) {
            const answer = await built.retail.searchCarts(query);
            if (query.skip === 100 && ++skipSearches === changeAt) {
              // Right after the first $skip search: the customer of the first cart at the instant
              // (read long before) changes it now; it leaves the window.
              const cart = h.retail.data.carts.find((c) => c.Id === 'tie-000') as Record<string, unknown>;
              cart.ModifiedDateTime = '2026-11-23T12:00:00.000Z';
            }
            return answer;
          },
        }),
      }));
      expect(report.status).toBe('completed');
      // A later run (the checkpoint) reads on; tie-000's new modification is its business.
      h.clock.advanceMinutes(30);
      const next = await h.run({}, { RetailServerClientOptions__PageSize: '100' }, { strategy });
      expect(next.status).toBe('completed');
      const delivered = new Set(h.emarsys.deliveries.map((d) => String(d.data.cartId)));
      // Every cart other than tie-000 stayed at AT all along, idle, in the window: each must be reminded.
      const missing = Array.from({ length: TIES }, (_, i) => `tie-${String(i).padStart(3, '0')}`).filter((id) => id !== 'tie-000' && !delivered.has(id));
      expect({ missing, firstCheckpoint: report.checkpoint, nextWindow: next.window.from }).toEqual({ missing: [], firstCheckpoint: expect.anything(), nextWindow: expect.anything() });
    });
  }
});
