import type { IEmailProvider } from '../../src/providers/email-provider';
import type { RetailServerClient } from '../../src/retail/retail-client';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import type { RunReport } from '../../src/job/report';
import { startHarness, type Harness } from '../support/harness';

const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');

function store(count: number) {
  return buildSimulatorData({
    customers: Array.from({ length: count }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: count }, (_, i) =>
      cartRecord({ id: `cart-${String(i).padStart(2, '0')}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}

let h: Harness;
afterEach(() => h.close());

test('a claim made after slow lookups is not stale a minute later, and the lease covers it', async () => {
  h = await startHarness({ now: NOW, data: store(5) });
  let second: RunReport | undefined;
  const sends: string[][] = [];
  const first = await h.run({ trigger: 'timer' }, {}, {}, (built) => ({
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
