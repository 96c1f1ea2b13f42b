import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';

/**
 * A week in which every run failed (Retail Server down, or a deployment with a wrong setting): the
 * checkpoint waited, so the run that works again reminds the week's carts, a week late. It did so
 * without a word; an operator should learn it from the run, not from customers.
 */

const NOW = '2026-11-23T12:00:00Z';
let h: FaultHarness;
afterEach(() => h.close());

test('after a week in which every run failed, the run that works again says how late its reminders are', async () => {
  const data = buildSimulatorData({
    customers: [customerRecord('C1'), customerRecord('C2'), customerRecord('C3')],
    products: [productRecord(1)],
    carts: [
      cartRecord({ id: 'before', customerId: 'C1', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] }),
      // Left the evening after the outage began, and the day before it ended.
      cartRecord({ id: 'week-old', customerId: 'C2', modifiedDateTime: '2026-11-23T19:00:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'day-old', customerId: 'C3', modifiedDateTime: '2026-11-29T12:00:00Z', lines: [{ productId: 1 }] }),
    ],
  });
  h = await startFaultHarness({ now: NOW, data });
  expect((await h.run({ trigger: 'timer' })).carts.notified).toBe(1);
  // Retail Server refuses every call for a week: every timer run fails, the checkpoint stays.
  const outage = h.proxies.retail.inject({ path: /GetOrgUnitConfiguration/, fault: { kind: 'status', status: 503 } });
  for (const day of [1, 3, 6]) {
    h.clock.set(new Date(Date.parse(NOW) + day * 86_400_000));
    expect((await h.run({ trigger: 'timer' })).status).toBe('failed');
  }
  outage.remove();
  h.clock.set('2026-11-30T12:00:00Z');
  const logsBefore = h.logs.length;
  const recovered = await h.run({ trigger: 'timer' });

  // Nothing is lost: the week's carts are reminded now.
  expect(recovered.carts.notified).toBe(2);
  expect(recovered.window.from).toBe('2026-11-23T11:50:00.000Z');
  // And the operator is told, at warn, that they go out days after the carts were left.
  const warned = h.logs.slice(logsBefore).filter((log) => log.level === 'warn').map((log) => ({ message: log.message, fields: log.fields }));
  expect(warned).toEqual([
    {
      message: expect.stringMatching(/IncludeAbandonedCartsModifiedSinceLastMinutes.*reminded late/),
      fields: expect.objectContaining({ from: '2026-11-23T11:50:00.000Z', behindMinutes: 7 * 24 * 60 + 10, includeMinutes: 500 }),
    },
  ]);
});

test('a small Include beside an hourly schedule is not late at every run; a four-hour outage still is', async () => {
  const include = { RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '30' };
  const data = buildSimulatorData({
    customers: [customerRecord('C1'), customerRecord('C2')],
    products: [productRecord(1)],
    carts: [
      cartRecord({ id: 'first', customerId: 'C1', modifiedDateTime: '2026-11-23T11:40:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'later', customerId: 'C2', modifiedDateTime: '2026-11-23T14:30:00Z', lines: [{ productId: 1 }] }),
    ],
  });
  h = await startFaultHarness({ now: NOW, data });
  const lateWarnings = (from: number) => h.logs.slice(from).filter((log) => log.level === 'warn' && /further back/.test(log.message));

  let logsBefore = h.logs.length;
  expect((await h.run({ trigger: 'timer' }, include)).carts.notified).toBe(1);
  // An hour on: the window is the hour since the last run ended (70 minutes back, Include 30).
  h.clock.set('2026-11-23T13:00:00Z');
  expect((await h.run({ trigger: 'timer' }, include)).status).toBe('completed');
  expect(lateWarnings(logsBefore)).toEqual([]);

  // Retail Server down for four hours: the run after it reaches back 4 h 10 min, to where the 13:00 run ended.
  const outage = h.proxies.retail.inject({ path: /GetOrgUnitConfiguration/, fault: { kind: 'status', status: 503 } });
  for (const at of ['2026-11-23T14:00:00Z', '2026-11-23T15:00:00Z', '2026-11-23T16:00:00Z']) {
    h.clock.set(at);
    expect((await h.run({ trigger: 'timer' }, include)).status).toBe('failed');
  }
  outage.remove();
  h.clock.set('2026-11-23T17:00:00Z');
  logsBefore = h.logs.length;
  const recovered = await h.run({ trigger: 'timer' }, include);
  expect(recovered.carts.notified).toBe(1);
  expect(lateWarnings(logsBefore)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ behindMinutes: 250, includeMinutes: 30 }) })]);
});

test('a schedule as long as Include, with a timer a few minutes late, is not late', async () => {
  const include = { RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '180' };
  h = await startFaultHarness({ now: NOW, data: buildSimulatorData({ customers: [customerRecord('C1')], products: [productRecord(1)], carts: [] }) });
  const logsBefore = h.logs.length;
  for (const at of ['2026-11-23T12:00:00Z', '2026-11-23T15:04:00Z', '2026-11-23T18:00:00Z']) {
    h.clock.set(at);
    expect((await h.run({ trigger: 'timer' }, include)).status).toBe('completed');
  }
  expect(h.logs.slice(logsBefore).filter((log) => /further back/.test(log.message))).toEqual([]);
});
