import type { RunReport } from '../../src/job/report';
import type { IEmailProvider } from '../../src/providers/email-provider';
import type { RetailServerClient } from '../../src/retail/retail-client';
import { notificationId, type LeaseResult } from '../../src/store/ledger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * The operating unit's lease (ClaimTimeoutMinutes long) keeps a second run out while one works.
 * A survey may take up to half of MaxRunMinutes, which can be longer than the lease, so the lease
 * is renewed during the survey too, right before a page claims (its claims stamped with that
 * time), and before the checkpoint is saved.
 */

const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');
const CARTS = 30;

function store(count = CARTS) {
  return buildSimulatorData({
    customers: Array.from({ length: count }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: count }, (_, i) =>
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

describe('the lease while pages are worked', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('a claim made after slow lookups is not stale a minute later, and the lease covers it', async () => {
    h = await startHarness({ now: NOW, data: store(5) });
    let second: RunReport | undefined;
    const sends: string[][] = [];
    // A run limit past the slow lookups (14 minutes), so that they are made and answered.
    const first = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__MaxRunMinutes: '30' }, {}, (built) => ({
      retail: Object.assign(Object.create(built.retail) as RetailServerClient, {
        async getCustomers(...args: Parameters<RetailServerClient['getCustomers']>) {
          // Retail Server is slow (retries, backoff, queueing behind other pages): 14 minutes.
          h.clock.advanceMinutes(14);
          return built.retail.getCustomers(...args);
        },
      }),
      provider: Object.assign(Object.create(built.provider) as IEmailProvider, {
        async send(batch: Parameters<IEmailProvider['send']>[0]) {
          sends.push(batch.map((n) => n.triggerId));
          // Ninety seconds after this run claimed its carts, the next timer run comes along.
          h.clock.advanceMinutes(1.5);
          second ??= await h.run({ trigger: 'timer' });
          return built.provider.send(batch);
        },
      }),
    }));
    // Stamped with the page's start (12:00) though written at 12:14, under a lease not renewed since
    // 12:00, the claims would look stale at 12:15:30: the second run would take the lease and the
    // claims over and send all five again while the first is still sending.
    expect(second?.status).toBe('unit-busy');
    expect(h.emarsys.duplicatesDropped).toBe(0);
    expect(first.carts.notified).toBe(5);
  });

  test('a run that lost its lease while sending does not write its (older) checkpoint over the new holder\'s', async () => {
    h = await startHarness({ now: NOW, data: store(5) });
    const ledger = await h.ledger();
    let second: RunReport | undefined;
    // A run limit past the slow lookups (14 minutes), so that they are made and answered.
    const first = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__MaxRunMinutes: '30' }, {}, (built) => ({
      provider: Object.assign(Object.create(built.provider) as IEmailProvider, {
        async send(batch: Parameters<IEmailProvider['send']>[0]) {
          // Emarsys is slow for this run: 20 minutes pass, the lease (15) runs out, and the next
          // timer run takes the unit over, settles everything and moves the checkpoint to its end.
          h.clock.advanceMinutes(20);
          second ??= await h.run({ trigger: 'timer' });
          return built.provider.send(batch);
        },
      }),
    }));
    expect(second?.status).toBe('completed');
    expect(first.status).toBe('failed');
    // It ran 20 minutes without a renewal: the message says that, not that a run may not last
    // longer than the lease (renewed, it may), and what to do if it recurs.
    expect(first.error).toBe(
      `Run ${first.runId} lost the lease on operating unit 128: it went longer than AzureCosmosOptions.ClaimTimeoutMinutes (15) ` +
        'without renewing it, while a call stalled, and another run may have taken the unit over; it stopped so that two runs never ' +
        'work the unit at once. Its claimed carts are taken over by a later run once ClaimTimeoutMinutes have passed. If this recurs, ' +
        "raise ClaimTimeoutMinutes above the longest stall in this run's log.",
    );
    const checkpoint = await ledger.getCheckpoint('128', second!.channelId!);
    // The stale run's position (its outcome writes met 412, so it stalled at its first cart, 04:00)
    // must not replace the second run's (12:10): the next run would read 8 hours again.
    expect(checkpoint?.lastModifiedAt).toBe(second!.checkpoint?.lastModifiedAt);
    expect(checkpoint?.runId).not.toBe(first.runId);
  });
});
