import { buildSimulatorData, cartRecord, customerRecord, productRecord, startRetailServerSimulator, type RetailServerSimulator } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';
import { testTls } from '../support/test-tls';

/**
 * Several deployments whose ledgers share one Cosmos DB container (see "Sharing a container" in
 * docs/data-model.md): one is the harness's; the other one reads a Retail Server of its own.
 */
let h: Harness;
let other: RetailServerSimulator | undefined;
afterEach(async () => {
  await other?.close();
  other = undefined;
  await h.close();
});

async function otherRetailServer(carts: ReturnType<typeof cartRecord>[], operatingUnitNumber: string): Promise<RetailServerSimulator> {
  other = await startRetailServerSimulator({
    data: buildSimulatorData({ customers: [customerRecord('T1')], products: [productRecord(1)], carts }),
    authorize: (token) => h.tokens.isValidToken(token, 'https://commerce.dynamics.com'),
    tls: testTls(),
    operatingUnitNumber,
  });
  return other;
}

test('deployments of two units in one container: neither\'s lease holds the other up, each reads on from its own checkpoint', async () => {
  h = await startHarness({
    now: '2026-11-23T12:00:00Z',
    data: buildSimulatorData({ customers: [customerRecord('C1')], products: [productRecord(1)], carts: [cartRecord({ id: 'A1', customerId: 'C1', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] })] }),
  });
  const brandB = await otherRetailServer([cartRecord({ id: 'B1', customerId: 'T1', modifiedDateTime: '2026-11-23T11:20:00Z', lines: [{ productId: 1 }] })], '129');
  const unitB = { RetailServerClientOptions__RetailServerUrl: brandB.baseUrl, RetailServerClientOptions__OperatingUnitNumber: '129' };
  // Unit 128's run is working (it holds its lease) when unit 129's timer fires.
  const ledger = await h.ledger();
  expect((await ledger.acquireLease('128', 'unit-128-run', h.clock.now(), 15 * 60_000)).acquired).toBe(true);
  expect(await h.run({}, unitB)).toMatchObject({ status: 'completed', operatingUnitNumber: '129', carts: { notified: 1 }, checkpoint: { lastModifiedAt: '2026-11-23T11:50:00.000Z' } });
  expect((await h.run()).status).toBe('unit-busy');

  h.clock.set('2026-11-23T12:20:00Z');
  expect(await h.run()).toMatchObject({ status: 'completed', window: { source: 'include-minutes' }, carts: { notified: 1 } });
  expect(await h.run({}, unitB)).toMatchObject({ status: 'completed', window: { from: '2026-11-23T11:50:00.000Z' }, carts: { seen: 0 } });
  expect(h.emarsys.deliveries.map((delivery) => delivery.data.cartId)).toEqual(['B1', 'A1']);
});
