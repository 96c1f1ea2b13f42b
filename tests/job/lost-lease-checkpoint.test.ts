import type { IEmailProvider } from '../../src/providers/email-provider';
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

test('a run that lost its lease while sending does not write its (older) checkpoint over the new holder\'s', async () => {
  h = await startHarness({ now: NOW, data: store(5) });
  const ledger = await h.ledger();
  let second: RunReport | undefined;
  const first = await h.run({ trigger: 'timer' }, {}, {}, (built) => ({
    provider: Object.assign(Object.create(built.provider) as IEmailProvider, {
      async send(batch: Parameters<IEmailProvider['send']>[0]) {
        // Emarsys is slow for this run: 20 minutes pass, the lease (15) runs out, and the next
        // timer run takes the unit over, settles everything and moves the checkpoint to its end.
        h.clock.advanceMinutes(20);
        second ??= await h.run({ trigger: 'timer' });
        return built.provider.send(batch);
      },
    }),
  }));
  expect(second?.status).toBe('completed');
  expect(first.status).toBe('failed');
  expect(first.error).toMatch(/lost the lease/);
  const checkpoint = await ledger.getCheckpoint('128', second!.channelId!);
  // The stale run's position (its outcome writes met 412, so it stalled at its first cart, 04:00)
  // must not replace the second run's (12:10): the next run would read 8 hours again.
  expect(checkpoint?.lastModifiedAt).toBe(second!.checkpoint?.lastModifiedAt);
  expect(checkpoint?.runId).not.toBe(first.runId);
});
