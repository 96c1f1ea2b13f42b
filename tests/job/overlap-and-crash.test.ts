import { createEmarsysProvider } from '../../src/providers/emarsys';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId, type NotificationRecord } from '../../src/store/ledger';
import { EMARSYS_SECRET, EMARSYS_USER, EVENT_ID, startHarness, type Harness } from '../support/harness';

const NOW = '2026-11-23T12:00:00Z';

function carts(count: number) {
  return buildSimulatorData({
    customers: Array.from({ length: count }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: count }, (_, i) =>
      cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(Date.parse('2026-11-23T06:00:00Z') + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}

describe('runs that overlap or die', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('two runs started at the same time: every cart delivered exactly once, the loser reports the unit busy', async () => {
    h = await startHarness({ now: NOW, data: carts(150) });
    const reports = await Promise.all([h.run({ trigger: 'timer' }), h.run({ trigger: 'http', from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-23T11:00:00Z') })]);
    const statuses = reports.map((r) => r.status).sort();
    expect(statuses).toEqual(['completed', 'unit-busy']);
    const busy = reports.find((r) => r.status === 'unit-busy');
    expect(busy?.error).toMatch(/Operating unit 128 is being processed by run .* this run did nothing/);
    expect(h.emarsys.deliveries).toHaveLength(150);
    expect(new Set(h.emarsys.deliveries.map((d) => d.triggerId)).size).toBe(150);
  });

  // The clients are the process's, shared by overlapping invocations; a report used to take the
  // difference of their counters over its run, and so counted the calls of any run beside it: a
  // dry run reported the Emarsys requests of the timer's run, which it never makes.
  test("each run's report counts its own calls, not those of a run beside it in the process", async () => {
    h = await startHarness({ now: NOW, data: carts(2) });
    // A warm process: the ledger is open (a report was read), so the runs below share one set of clients.
    await h.ledger();

    // A dry rerun starts and waits in its first cart search until the timer's run is done.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    let drySearches = 0;
    const dry = h.run({ trigger: 'http', dryRun: true }, {}, {}, (built) => ({
      retail: {
        ...built.retail,
        searchCarts: async (query) => {
          drySearches++;
          reached();
          await gate;
          return built.retail.searchCarts(query);
        },
      },
    }));
    await waiting;
    const timer = await h.run({ trigger: 'timer' });
    release();
    const dryReport = await dry;

    expect([timer.carts.notified, dryReport.carts.seen]).toEqual([2, 2]);
    expect(timer.calls).toMatchObject({ channel: 1, provider: 1 });
    // The Emarsys request is the timer run's; the dry run's own calls are one channel read and its searches.
    expect(dryReport.calls).toMatchObject({ channel: 1, cartSearch: drySearches, provider: 0 });
  });

  // Before the ledger's container exists, the read-only runtime reads it as an empty modeled
  // ledger, which the dry runs that find the same entry share: its counters were the process's,
  // so two dry runs at once each reported the other's store requests too.
  test('two dry runs at once before the ledger exists: each report counts its own store requests', async () => {
    h = await startHarness({ now: NOW, data: carts(30) });
    const dry = () => h.run({ trigger: 'http', dryRun: true }, { RetailServerClientOptions__PageSize: '5' });
    const alone = await dry();
    const both = await Promise.all([dry(), dry()]);
    expect(both.map((r) => r.carts.seen)).toEqual([30, 30]);
    // The same reads each; the partition key range lookup before the shared ledger's first read is made once, by one of them.
    const own = alone.calls.store ?? 0;
    expect(both.map((r) => r.calls.store ?? 0).sort((a, b) => a - b)).toEqual([own - 1, own]);
  });

  test('a run that died after claiming: its claims wait out the timeout, then a later run takes them over with the same trigger ids', async () => {
    h = await startHarness({ now: NOW, data: carts(3) });
    const ledger = await h.ledger();
    const now = h.clock.now();

    // What the dead run left: the unit's lease, three claims, and one trigger that reached Emarsys.
    const lease = await ledger.acquireLease('128', 'dead-run', now, 15 * 60_000);
    expect(lease.acquired).toBe(true);
    const claims: NotificationRecord[] = [0, 1, 2].map((i) => {
      const modified = new Date(Date.parse('2026-11-23T06:00:00Z') + i * 60_000);
      return {
        id: notificationId(`cart-${i}`, modified),
        type: 'notification',
        operatingUnitNumber: '128',
        cartId: `cart-${i}`,
        cartModifiedAt: modified.toISOString(),
        customerId: `C${i}`,
        status: 'claimed',
        runId: 'dead-run',
        attempts: 1,
        claimedAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
    });
    expect((await ledger.createNotifications(claims)).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const provider = createEmarsysProvider({
      apiUrl: h.emarsys.apiUrlTemplate,
      externalEventId: EVENT_ID,
      auth: { mode: 'wsse', userName: EMARSYS_USER, secret: EMARSYS_SECRET },
      clock: h.clock,
      logger: silentLogger,
    });
    const first = claims[0] as NotificationRecord;
    await provider.send([{ triggerId: first.id, email: 'c0@example.com', data: { firstName: '', lastName: '', email: 'c0@example.com', language: 'en-us', currency: 'USD', returnToCartUrl: '', cartId: 'cart-0', orderDetails: [] } }]);
    expect(h.emarsys.deliveries).toHaveLength(1);

    // While the dead run's lease lasts, nobody works the unit.
    h.clock.advanceMinutes(5);
    expect((await h.run()).status).toBe('unit-busy');

    // After the timeout the lease and the claims are taken over; Emarsys drops the repeated trigger.
    h.clock.advanceMinutes(11);
    const report = await h.run();
    expect(report.status).toBe('completed');
    expect(report.carts).toMatchObject({ eligible: 3, notified: 3 });
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['cart-0', 'cart-1', 'cart-2']);
    expect(h.emarsys.duplicatesDropped).toBe(1);
    const records = await ledger.getNotifications(claims.map((c) => c.id));
    expect([...records.values()].map((r) => [r.record.status, r.record.attempts])).toEqual([
      ['sent', 2],
      ['sent', 2],
      ['sent', 2],
    ]);
  });

  test('claims held by a live run elsewhere are left to it, and the checkpoint waits for them', async () => {
    h = await startHarness({ now: NOW, data: carts(3) });
    const ledger = await h.ledger();
    const modified = new Date('2026-11-23T06:01:00Z');
    await ledger.createNotifications([
      {
        id: notificationId('cart-1', modified),
        type: 'notification',
        operatingUnitNumber: '128',
        cartId: 'cart-1',
        cartModifiedAt: modified.toISOString(),
        customerId: 'C1',
        status: 'claimed',
        runId: 'other-live-run',
        attempts: 1,
        claimedAt: h.clock.now().toISOString(),
        updatedAt: h.clock.now().toISOString(),
      },
    ]);
    const report = await h.run();
    expect(report.carts).toMatchObject({ notified: 2, skippedByReason: { 'claimed-by-another-run': 1 } });
    expect(report.checkpoint).toEqual({ lastModifiedAt: '2026-11-23T06:01:00.000Z', cartIdsAtLastModified: 0 });
  });
});
