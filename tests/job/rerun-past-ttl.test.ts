import { parseRerunRequest } from '../../src/job/rerun-request';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { startHarness, type Harness } from '../support/harness';

const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T06:00:00Z');

let h: Harness;
afterEach(() => h.close());

test('a rerun over a window whose ledger records have expired (TimeToLiveDays) does not remind again', async () => {
  h = await startHarness({
    now: NOW,
    env: { AzureCosmosOptions__TimeToLiveDays: '30' },
    data: buildSimulatorData({
      customers: [0, 1, 2].map((i) => customerRecord(`C${i}`)),
      products: [productRecord(1)],
      carts: [0, 1, 2].map((i) => cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }] })),
    }),
  });
  const first = await h.run({ trigger: 'timer' });
  expect(first.carts.notified).toBe(3);

  // 40 days on, Cosmos DB has deleted the records (ttl 30 days); the embedded server never expires
  // anything, so the deletion TTL does is done here.
  h.clock.advanceMinutes(40 * 24 * 60);
  const ledger = await h.ledger();
  const container = (ledger as unknown as { container: import('@azure/cosmos').Container }).container;
  for (const i of [0, 1, 2]) {
    const id = notificationId(`cart-${i}`, new Date(START + i * 60_000));
    await container.item(id, id).delete();
  }

  // An operator reruns "the morning of the 23rd" (a 6-hour window, well within the 31-day span).
  const from = new Date('2026-11-23T04:00:00Z');
  const to = new Date('2026-11-23T10:00:00Z');
  // The entry points refuse it (HTTP 400, CLI exit 2)...
  const parsed = parseRerunRequest({ from: from.toISOString(), to: to.toISOString() }, h.clock.now(), { excludeMinutes: 10, recordTtlDays: 30 });
  expect(parsed).toEqual({ ok: false, problems: [expect.stringMatching(/^from is more than AzureCosmosOptions\.TimeToLiveDays \(30\) days ago/)] });
  // ...and the job itself, for any other caller: no carts already reminded 40 days ago are reminded again.
  const rerun = await h.run({ trigger: 'http', from, to });
  expect(rerun.carts.notified).toBe(0);
  expect(rerun.error ?? '').toMatch(/TimeToLiveDays/);
  expect(h.emarsys.deliveries).toHaveLength(3);
});

test('a checkpoint older than TimeToLiveDays (the app stopped longer than that): the run starts where the ledger still knows, and reminds no cart again', async () => {
  const cart = (id: string, customerId: string, at: string) => cartRecord({ id, customerId, modifiedDateTime: at, lines: [{ productId: 1 }] });
  h = await startHarness({
    now: NOW,
    // One cart a page, one page at a time, so that the scripted Emarsys failure meets cart X only.
    env: { AzureCosmosOptions__TimeToLiveDays: '1', RetailServerClientOptions__PageSize: '1', RetailServerClientOptions__PageConcurrency: '1' },
    data: buildSimulatorData({ customers: [customerRecord('C1'), customerRecord('C2')], products: [productRecord(1)], carts: [cart('X', 'C1', '2026-11-23T11:00:00Z'), cart('Y', 'C2', '2026-11-23T11:30:00Z')] }),
  });
  // X fails retryably (Emarsys 503 on every retry) and holds the checkpoint back; Y is sent.
  h.emarsys.failNext(Array.from({ length: 5 }, () => ({ status: 503 })));
  const first = await h.run();
  expect({ notified: first.carts.notified, checkpoint: first.checkpoint?.lastModifiedAt }).toEqual({ notified: 1, checkpoint: '2026-11-23T11:00:00.000Z' });

  // Three days stopped, longer than TimeToLiveDays (1): Cosmos DB has deleted both records.
  h.clock.advanceMinutes(3 * 24 * 60);
  const container = ((await h.ledger()) as unknown as { container: import('@azure/cosmos').Container }).container;
  for (const [id, at] of [['X', '2026-11-23T11:00:00Z'], ['Y', '2026-11-23T11:30:00Z']] as const) {
    const recordId = notificationId(id, new Date(at));
    await container.item(recordId, recordId).delete();
  }
  const resumed = await h.run();
  expect(resumed.window).toMatchObject({ source: 'checkpoint', from: '2026-11-25T12:00:00.000Z' });
  expect(resumed.carts.notified).toBe(0);
  expect(h.logs.some((log) => log.message.startsWith('The checkpoint is older than AzureCosmosOptions.TimeToLiveDays'))).toBe(true);
});
