import type { RetailServerClient } from '../../src/retail/retail-client';
import { notificationId, type LeaseResult } from '../../src/store/ledger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * The operating unit's lease (ClaimTimeoutMinutes long) keeps a second run out while one works.
 * A survey may take up to half of MaxRunMinutes, which can be longer than the lease, so the lease
 * is renewed during the survey too, and before a page claims anything.
 */

const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');
const CARTS = 30;

function store() {
  return buildSimulatorData({
    customers: Array.from({ length: CARTS }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: CARTS }, (_, i) =>
      cartRecord({ id: `cart-${String(i).padStart(2, '0')}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}

/** A Retail Server client whose cart searches let `onSearch` act (move the clock, start another run) after each answer. */
function slowSearches(built: RetailServerClient, onSearch: (searches: number) => Promise<void>): RetailServerClient {
  let searches = 0;
  return Object.assign(Object.create(built) as RetailServerClient, {
    async searchCarts(query: Parameters<RetailServerClient['searchCarts']>[0]) {
      const answer = await built.searchCarts(query);
      await onSearch(++searches);
      return answer;
    },
  });
}

describe('the lease while the survey runs', () => {
  let h: Harness;
  afterEach(() => h.close());

  // MaxRunMinutes 60 lets the survey take 30 minutes; the lease (ClaimTimeoutMinutes, 15) is shorter.
  const env = { RetailServerClientOptions__PageSize: '10', RetailServerClientOptions__MaxRunMinutes: '60' };

  test('a survey longer than the lease keeps it: another run that comes along finds the unit busy', async () => {
    h = await startHarness({ now: NOW, data: store() });
    const ledger = await h.ledger();
    const others: LeaseResult[] = [];
    const report = await h.run({}, env, {}, (built) => ({
      retail: slowSearches(built.retail, async () => {
        // Every search of the survey takes 6 minutes, and after each, another run tries its luck.
        h.clock.advanceMinutes(6);
        others.push(await ledger.acquireLease('128', 'second-run', h.clock.now(), 15 * 60_000));
      }),
    }));
    expect(report.status).toBe('completed');
    // (The survey ran out of its half of the run: the run works the stretch it read.)
    expect(report.carts.notified).toBeGreaterThan(0);
    expect(h.emarsys.deliveries).toHaveLength(report.carts.notified);
    // The searches took longer than the lease, and no other run got in.
    expect(others.length * 6).toBeGreaterThan(15);
    expect(others.every((other) => !other.acquired)).toBe(true);
  });

  test('a survey stalled past the lease learns it is lost before it claims or sends anything', async () => {
    h = await startHarness({ now: NOW, data: store() });
    const ledger = await h.ledger();
    let other: LeaseResult | undefined;
    const report = await h.run({}, env, {}, (built) => ({
      retail: slowSearches(built.retail, async (searches) => {
        if (searches !== 1) return;
        // The first search hangs for 20 minutes; the next timer run finds the lease expired.
        h.clock.advanceMinutes(20);
        other = await ledger.acquireLease('128', 'second-run', h.clock.now(), 15 * 60_000);
      }),
    }));
    expect(other?.acquired).toBe(true);
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/lease/i);
    expect(h.emarsys.deliveries).toHaveLength(0);
    const ids = Array.from({ length: CARTS }, (_, i) => notificationId(`cart-${String(i).padStart(2, '0')}`, new Date(START + i * 60_000)));
    const claims = await ledger.getNotifications(ids);
    expect(claims.size).toBe(0);
  });
});
