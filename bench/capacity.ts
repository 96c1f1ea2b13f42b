import { randomUUID } from 'node:crypto';
import { createCosmosContainer } from '../src/store/cosmos-client';
import { CosmosLedger } from '../src/store/cosmos-ledger';
import { notificationId, type NotificationRecord, type WriteResult } from '../src/store/ledger';
import type { StoreCapacity } from './types';

/**
 * How many bulk operations per second the embedded Cosmos DB server takes, measured the way the
 * job loads it (CosmosLedger's bulk calls: creates, then etag-checked replaces, which is what a
 * run writes, 100 operations to a request, CHUNK_CONCURRENCY requests in flight), in a database of
 * its own on the same server, just before the job runs. A whole round first warms the client and
 * the server up (a cold client took 16-18 thousand operations a second where a warm one took
 * 21-29), as the job's, which runs after the probe, is. The embedded server is single-threaded and
 * shares its process with the other stand-ins, so its capacity is a property of this machine and
 * this run, not a constant.
 */

const RECORDS = 3000;
const WARM_UP = 1000;
const POINT_READS = 15;

export async function measureStoreCapacity(cosmos: { endpoint: string; key: string }): Promise<StoreCapacity> {
  const container = await createCosmosContainer({ endpoint: cosmos.endpoint, key: cosmos.key, databaseId: `bench-capacity-${randomUUID()}` });
  try {
    const ledger = new CosmosLedger({ container });
    const at = new Date().toISOString();
    const records = (count: number, label: string): NotificationRecord[] =>
      Array.from({ length: count }, (_, i) => ({
        id: notificationId(`${label}-${i}`, new Date(at)),
        type: 'notification',
        operatingUnitNumber: '128',
        cartId: `${label}-${i}`,
        cartModifiedAt: at,
        customerId: `BC${String(i).padStart(7, '0')}`,
        status: 'claimed',
        runId: randomUUID(),
        attempts: 1,
        claimedAt: at,
        updatedAt: at,
      }));

    // A claim and an outcome per record, as a run writes them.
    const round = async (batch: NotificationRecord[]) => {
      const created = await ledger.createNotifications(batch);
      await ledger.replaceNotifications(batch.map((record, i) => ({ record: { ...record, status: 'sent', sentAt: at }, etag: etagOf(created[i]) })));
    };
    // Not measured: the first requests pay for connections and the partition key range lookup, and
    // the client's code is not yet compiled.
    await round(records(WARM_UP, 'warm-up'));

    const batch = records(RECORDS, 'capacity');
    const loopBefore = performance.eventLoopUtilization();
    const started = performance.now();
    await round(batch);
    const elapsedMs = performance.now() - started;
    const loop = performance.eventLoopUtilization(loopBefore);

    const pointReads: number[] = [];
    for (let i = 0; i < POINT_READS; i++) {
      const readStarted = performance.now();
      await ledger.getCheckpoint('128', i);
      pointReads.push(performance.now() - readStarted);
    }
    const operations = 2 * RECORDS;
    return {
      operationsPerSecond: (operations / elapsedMs) * 1000,
      requestMs: median(pointReads),
      operations,
      elapsedMs,
      clientThreadBusy: loop.utilization,
    };
  } finally {
    container.database.client.dispose();
  }
}

function etagOf(result: WriteResult | undefined): string {
  if (result?.status !== 'ok') throw new Error(`The capacity probe could not write to the embedded store: ${JSON.stringify(result)}`);
  return result.etag;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
