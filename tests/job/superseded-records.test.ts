import { claimPage } from '../../src/job/claim-page';
import type { PageContext } from '../../src/job/page-context';
import { PageTally } from '../../src/job/page-tally';
import { RunCounters } from '../../src/job/run-counters';
import { parseCartForChecks } from '../../src/job/survey';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { NotificationReads, notificationId } from '../../src/store/ledger';
import { ModeledLedger } from '../../src/store/modeled-ledger';
import { startHarness, type Harness } from '../support/harness';

/**
 * SPEC 5.3: an older cart superseded by the customer's newer one is recorded as skipped
 * (superseded), so that no later run reminds the customer about it. That holds too when the older
 * cart's record was waiting for a later run (its send failed retryably, or its claim went stale).
 */

const NOW = '2026-11-23T12:00:00Z';

describe('an older cart whose record waits for a later run', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('is recorded superseded once a newer cart is reminded, so a rerun over the outage does not remind it', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'X', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] })],
      }),
    });
    // Emarsys is down for the first run: X fails retryably, the checkpoint waits at X.
    h.emarsys.failNext(Array.from({ length: 4 }, () => ({ status: 503 })));
    expect((await h.run()).carts).toMatchObject({ failed: 1, notified: 0 });

    // C1 comes back and leaves a newer cart Y: the next run reminds Y and supersedes X.
    h.retail.data.carts.push(cartRecord({ id: 'Y', customerId: 'C1', modifiedDateTime: '2026-11-23T12:10:00Z', lines: [{ productId: 1 }] }));
    h.clock.set('2026-11-23T12:30:00Z');
    const second = await h.run();
    expect(second.carts).toMatchObject({ notified: 1, skippedByReason: { superseded: 1 } });
    const x = (await (await h.ledger()).getNotifications([notificationId('X', new Date('2026-11-23T09:00:00Z'))])).values().next().value;
    // The outage was no attempt of X's.
    expect(x?.record).toMatchObject({ status: 'skipped', reason: 'superseded', attempts: 0 });
    expect(x?.record.retryable).toBeUndefined();

    // The operator reruns the outage's window.
    const rerun = await h.run({ from: new Date('2026-11-23T08:00:00Z'), to: new Date('2026-11-23T10:00:00Z') });
    expect(rerun.carts).toMatchObject({ notified: 0, skippedByReason: { 'already-handled': 1 } });
    expect(h.emarsys.deliveries.map((d) => d.data.cartId)).toEqual(['Y']);
  });

  test('with the checkpoint held back by another claim, the older cart is not reminded after the newer one changed again', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1'), customerRecord('C2')],
        products: [productRecord(1)],
        carts: [
          cartRecord({ id: 'W', customerId: 'C2', modifiedDateTime: '2026-11-23T08:00:00Z', lines: [{ productId: 1 }] }),
          cartRecord({ id: 'X', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] }),
        ],
      }),
    });
    const env = { AzureCosmosOptions__ClaimTimeoutMinutes: '120' };
    // Another run's claim holds W (08:00) throughout: every run's checkpoint waits at 08:00.
    const w = notificationId('W', new Date('2026-11-23T08:00:00Z'));
    const ledger = await h.ledger();
    await ledger.createNotifications([
      { id: w, type: 'notification', operatingUnitNumber: '128', cartId: 'W', cartModifiedAt: '2026-11-23T08:00:00.000Z', customerId: 'C2', status: 'claimed', runId: 'other', attempts: 1, claimedAt: '2026-11-23T11:59:00.000Z', updatedAt: '2026-11-23T11:59:00.000Z' },
    ]);
    h.emarsys.failNext(Array.from({ length: 4 }, () => ({ status: 503 })));
    expect((await h.run({}, env)).checkpoint?.lastModifiedAt).toBe('2026-11-23T08:00:00.000Z'); // X fails retryably

    // C1 left a newer cart Y at 12:10: Y is reminded, X superseded.
    h.retail.data.carts.push(cartRecord({ id: 'Y', customerId: 'C1', modifiedDateTime: '2026-11-23T12:10:00Z', lines: [{ productId: 1 }] }));
    h.clock.set('2026-11-23T12:30:00Z');
    expect((await h.run({}, env)).carts).toMatchObject({ notified: 1, skippedByReason: { superseded: 1 } });

    // C1 edits Y again at 12:35: the 12:40 run's window (to 12:30) holds X as C1's only cart.
    const y = h.retail.data.carts.find((c) => c.Id === 'Y') as Record<string, unknown>;
    y.ModifiedDateTime = '2026-11-23T12:35:00Z';
    h.clock.set('2026-11-23T12:40:00Z');
    await h.run({}, env);
    expect(h.emarsys.deliveries.map((d) => d.data.cartId)).toEqual(['Y']);
  });
});

/** A ledger whose records expire (TimeToLiveDays) between a claim's create and the read of its conflict. */
class ExpiringLedger extends ModeledLedger {
  override async getNotifications(): Promise<NotificationReads> {
    return new NotificationReads();
  }
}

describe('carts of one customer within one millisecond', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('the cart with the later ticks (Retail Server keeps 100 ns) is the latest one, whatever its id', async () => {
    // The customer had product 1 in cart 'Z-old', then (0.2 ms later) product 2 in cart 'A-new'.
    const older = '2026-11-23T10:15:30.1230001+00:00';
    const newer = '2026-11-23T10:15:30.1239999+00:00';
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1), productRecord(2)],
        carts: [
          cartRecord({ id: 'Z-old', customerId: 'C1', modifiedDateTime: older, lines: [{ productId: 1 }] }),
          cartRecord({ id: 'A-new', customerId: 'C1', modifiedDateTime: newer, lines: [{ productId: 2 }] }),
        ],
      }),
    });

    const report = await h.run();
    expect(report.carts).toMatchObject({ notified: 1, skippedByReason: { superseded: 1 } });
    // The reminder is for the newer cart and shows what is in it now.
    expect(h.emarsys.deliveries.map((d) => d.data.cartId)).toEqual(['A-new']);
    expect(h.emarsys.deliveries[0]?.data).toMatchObject({ orderDetails: [{ productId: '2' }] });
    const ledger = await h.ledger();
    const records = await ledger.getNotifications([notificationId('A-new', new Date(newer)), notificationId('Z-old', new Date(older))]);
    expect([...records.values()].map(({ record }) => [record.cartId, record.status]).sort()).toEqual([
      ['A-new', 'sent'],
      ['Z-old', 'skipped'],
    ]);
  });
});

describe('a superseded cart whose record expires between the create and the read', () => {
  test('is left to the next run: the checkpoint does not move past it', async () => {
    const parsed = parseCartForChecks(cartRecord({ id: 'X', customerId: 'C1', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] }));
    if (!parsed.ok) throw new Error(parsed.reason);
    const cart = parsed.value;
    const id = notificationId(cart.Id, cart.ModifiedDateTime);
    const ledger = new ExpiringLedger({ latencyMs: 0 });
    // Another run's record of X: the superseded record's create meets it.
    await ledger.createNotifications([
      { id, type: 'notification', operatingUnitNumber: '128', cartId: 'X', cartModifiedAt: cart.ModifiedDateTime.toISOString(), customerId: 'C1', status: 'claimed', runId: 'other', attempts: 1, claimedAt: '2026-11-23T11:59:00.000Z', updatedAt: '2026-11-23T11:59:00.000Z' },
    ]);
    const counters = new RunCounters();
    const tally = new PageTally(counters);
    const context: Pick<PageContext, 'runId' | 'now' | 'operatingUnitNumber' | 'claimTimeoutMs' | 'maxSendAttempts' | 'ledger'> = {
      runId: 'this-run',
      now: new Date(NOW),
      operatingUnitNumber: '128',
      claimTimeoutMs: 30 * 60_000,
      maxSendAttempts: 3,
      ledger,
    };
    const owned = await claimPage({ ready: [], superseded: [{ cart, id }], unanswered: [] }, context as PageContext, tally);
    expect(owned).toEqual([]);
    expect(counters.summary().carts.skippedByReason).toEqual({ superseded: 1 });
    expect(tally.inTimeOrder()).toEqual([{ cartId: 'X', modifiedAt: cart.ModifiedDateTime, final: false }]);
  });
});
