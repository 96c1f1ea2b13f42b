import type { RunReport } from '../../src/job/report';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import type { Fault } from '../../src/simulators/fault-proxy';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';

/**
 * Emarsys failing every request for longer than MaxSendAttempts timer runs (down, a rotated API
 * secret not yet in Key Vault, a deleted external event), with the real clients against the
 * stand-ins and a timer run every 30 minutes by the test clock; carts come in every 5 minutes.
 * Each such run used to count against every waiting cart's MaxSendAttempts, so after 2.5 hours the
 * outage's first carts were given up for good: the checkpoint moved past them, a rerun skipped
 * them as already handled, and nothing told them from the other failures.
 */

const NOW = '2026-11-23T12:00:00Z';
const FIRST_CART = Date.parse('2026-11-23T06:00:00Z');
const CART_COUNT = 120; // 06:00 to 15:55
const cartTime = (i: number) => FIRST_CART + i * 5 * 60_000;

const store = () =>
  buildSimulatorData({
    customers: Array.from({ length: CART_COUNT }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: CART_COUNT }, (_, i) =>
      cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(cartTime(i)).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });

/** The carts a run at the harness's now should have reminded by now (Exclude: 10 minutes). */
const due = (h: FaultHarness) =>
  Array.from({ length: CART_COUNT }, (_, i) => i)
    .filter((i) => cartTime(i) <= h.clock.now().getTime() - 10 * 60_000)
    .map((i) => `cart-${i}`);

let h: FaultHarness;
afterEach(() => h.close());

describe('Emarsys fails every trigger request for three hours (six timer runs), then works again', () => {
  const json = { 'Content-Type': 'application/json' };
  test.each<[string, Fault]>([
    ['down (HTTP 503)', { kind: 'status', status: 503 }],
    ['refusing the rotated API secret (HTTP 401)', { kind: 'status', status: 401, headers: json, body: JSON.stringify({ replyCode: 1, replyText: 'Unauthorized', data: '' }) }],
    ['refusing the deleted external event (replyCode 6003)', { kind: 'status', status: 400, headers: json, body: JSON.stringify({ replyCode: 6003, replyText: 'Invalid event id: 4711', data: '' }) }],
  ])('%s: once it works, every cart of the outage is reminded, once', async (_name, fault) => {
    h = await startFaultHarness({ now: NOW, data: store() });
    expect((await h.run({ trigger: 'timer' })).status).toBe('completed');
    const outage = h.proxies.emarsys.inject({ path: /\/trigger$/, fault });
    const during: RunReport[] = [];
    for (let run = 0; run < 6; run++) {
      h.clock.advanceMinutes(30);
      during.push(await h.run({ trigger: 'timer' }));
    }
    // Every run of the outage says so: each failed its carts, with Emarsys' answer as the reason.
    for (const report of during) expect([report.carts.notified, report.carts.failed > 0, report.failuresByDependency]).toEqual([0, true, { provider: report.carts.failed }]);
    outage.remove();

    h.clock.advanceMinutes(30);
    const recovered = await h.run({ trigger: 'timer' });
    expect(recovered.status).toBe('completed');
    const delivered = h.emarsys.deliveries.map((d) => d.data.cartId);
    expect(delivered.filter((id, i) => delivered.indexOf(id) !== i)).toEqual([]);
    expect(due(h).filter((id) => !delivered.includes(id))).toEqual([]);
  });
});
