import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';

/**
 * A notification record's times (docs/data-model.md): `claimedAt` when the claim was made,
 * `sentAt` and `updatedAt` when the provider answered. A slow or retried send may take minutes
 * after the claim; the ledger must say when the reminder went out.
 */

const NOW = '2026-11-23T12:00:00Z';
let h: FaultHarness;
afterEach(() => h.close());

test('a send that took three minutes: claimedAt is the claim\'s time, sentAt and updatedAt the answer\'s', async () => {
  h = await startFaultHarness({
    now: NOW,
    data: buildSimulatorData({
      customers: [customerRecord('C1')],
      products: [productRecord(1)],
      carts: [cartRecord({ id: 'A', customerId: 'C1', modifiedDateTime: '2026-11-23T10:00:00Z', lines: [{ productId: 1 }] })],
    }),
  });
  // Emarsys takes three minutes (by the run's clock) to take the trigger.
  h.proxies.emarsys.inject({ path: /\/event\/[^/]+\/trigger(\?|$)/, times: 1, before: () => h.clock.advanceMinutes(3) });
  const report = await h.run();
  expect(report.carts.notified).toBe(1);
  const id = notificationId('A', new Date('2026-11-23T10:00:00Z'));
  const record = (await (await h.ledger()).getNotifications([id])).get(id)?.record;
  expect(record).toMatchObject({ status: 'sent', claimedAt: '2026-11-23T12:00:00.000Z', sentAt: '2026-11-23T12:03:00.000Z', updatedAt: '2026-11-23T12:03:00.000Z' });
});
