import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import type { NotificationLedger } from '../../src/store/ledger';
import { startHarness, type Harness } from '../support/harness';

/**
 * A run whose window ends before the stored checkpoint (Exclude was raised since) reads nothing and
 * leaves the checkpoint where it was: written back earlier, it would drop the ids done at its
 * instant and have later runs read settled carts again (and remind a cart skipped without a record,
 * say for want of an email, once its customer adds one).
 */
let h: Harness;
afterEach(() => h.close());

test('Exclude raised past the checkpoint: the run reads nothing, the checkpoint stays, and no settled cart is read again', async () => {
  h = await startHarness({
    now: '2026-11-23T12:00:00Z',
    data: buildSimulatorData({
      customers: [customerRecord('C1'), customerRecord('C2')],
      products: [productRecord(1)],
      carts: [
        cartRecord({ id: 'A', customerId: 'C1', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] }),
        // Skipped without a ledger record (no active line): only the checkpoint says it is done.
        cartRecord({ id: 'B', customerId: 'C2', modifiedDateTime: '2026-11-23T11:30:00Z', lines: [{ productId: 1, isVoided: true }] }),
      ],
    }),
  });
  const first = await h.run();
  expect(first.checkpoint?.lastModifiedAt).toBe('2026-11-23T11:50:00.000Z');

  // Exclude raised to 120 minutes: at 12:10 the window ends at 10:10, before the checkpoint.
  const raised = { RetailServerClientOptions__ExcludeAbandonedCartsModifiedSinceLastMinutes: '120' };
  h.clock.set('2026-11-23T12:10:00Z');
  const behind = await h.run({}, raised);
  expect({ status: behind.status, seen: behind.carts.seen, searches: behind.calls.cartSearch ?? 0 }).toEqual({ status: 'completed', seen: 0, searches: 0 });
  expect((await (await h.ledger()).getCheckpoint('128', behind.channelId as number))?.lastModifiedAt).toBe('2026-11-23T11:50:00.000Z');
  expect(h.logs.some((log) => log.message.startsWith('The checkpoint is past the end of the window'))).toBe(true);

  // At 13:40 the window ends at 11:40, still before the checkpoint: nothing settled is read again.
  h.clock.set('2026-11-23T13:40:00Z');
  expect((await h.run({}, raised)).carts.seen).toBe(0);
});

test('such a run reports its store requests as every run does, the lease release included', async () => {
  h = await startHarness({
    now: '2026-11-23T12:00:00Z',
    data: buildSimulatorData({ customers: [customerRecord('C1')], products: [productRecord(1)], carts: [cartRecord({ id: 'A', customerId: 'C1', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] })] }),
  });
  /** One run, with the store requests its ledger made. */
  const watched = async (env: Record<string, string> = {}) => {
    let ledger: NotificationLedger | undefined;
    let before = 0;
    const report = await h.run({}, env, {}, (built) => {
      ledger = built.ledger;
      before = built.ledger.stats().requests;
      return {};
    });
    return { report, requests: (ledger as NotificationLedger).stats().requests - before };
  };
  const normal = await watched();
  // Every request but the run record's own write, made once the report is complete.
  expect(normal.report.calls.store).toBe(normal.requests - 1);
  h.clock.set('2026-11-23T12:10:00Z');
  const behind = await watched({ RetailServerClientOptions__ExcludeAbandonedCartsModifiedSinceLastMinutes: '120' });
  expect({ seen: behind.report.carts.seen, store: behind.report.calls.store }).toEqual({ seen: 0, store: behind.requests - 1 });
});
