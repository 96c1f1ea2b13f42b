import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { startHarness, type Harness } from '../support/harness';

/**
 * A customer with two carts at one instant: the greater id is their latest, the other is recorded
 * superseded. When that superseded record does not land (Cosmos DB throttles it past its retries),
 * the checkpoint rightly stops at that instant, keeping the id of the latest cart (which was sent)
 * as done. The next run starts there; its survey must still count the done cart for its customer.
 * Once, it left the done ids out, the superseded cart looked like the customer's latest and was
 * reminded: a second reminder, for the older cart.
 */
const NOW = '2026-11-23T12:00:00Z';
const AT = '2026-11-23T09:00:00.000Z';

describe('a superseded cart left at the checkpoint instant', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('is not reminded by the next run when its customer\'s latest cart (same instant) was reminded', async () => {
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: [customerRecord('C1'), customerRecord('C2')],
        products: [productRecord(1)],
        carts: [
          cartRecord({ id: 'cart-a', customerId: 'C1', modifiedDateTime: AT, lines: [{ productId: 1 }] }),
          cartRecord({ id: 'cart-b', customerId: 'C1', modifiedDateTime: AT, lines: [{ productId: 1 }] }),
          cartRecord({ id: 'cart-z', customerId: 'C2', modifiedDateTime: '2026-11-23T10:00:00Z', lines: [{ productId: 1 }] }),
        ],
      }),
    });
    // The superseded record of cart-a is throttled by Cosmos DB past every retry in the first run.
    const supersededId = notificationId('cart-a', new Date(AT));
    h.cosmos.throttleOperations(1000, (id) => id === supersededId);
    const first = await h.run({ trigger: 'timer' });
    expect(first.status).toBe('completed');
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['cart-b', 'cart-z']);
    // The checkpoint waits at the instant of the cart whose outcome is not recorded.
    expect(first.checkpoint).toEqual({ lastModifiedAt: AT, cartIdsAtLastModified: 1 });

    // The next timer run, with Cosmos DB well again.
    h.cosmos.clearFaults();
    h.clock.advanceMinutes(30);
    const second = await h.run({ trigger: 'timer' });
    expect(second.status).toBe('completed');
    // C1 was reminded of cart-b, their latest; cart-a is superseded and must never be reminded.
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['cart-b', 'cart-z']);
    expect(second.carts.skippedByReason).toMatchObject({ superseded: 1 });
  });
});
