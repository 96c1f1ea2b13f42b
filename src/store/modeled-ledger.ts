import type { RunReport } from '../job/report';
import { sleep } from '../shared/clock';
import { chunk, mapWithConcurrency } from '../shared/concurrency';
import { ofThisRun, sharedCounters } from '../shared/run-tally';
import { CHUNK_CONCURRENCY, MAX_OPERATIONS_PER_REQUEST } from './cosmos-bulk';
import {
  checkNotificationRecord,
  checkpointDocumentId,
  checkpointSchema,
  issuePaths,
  isValidCosmosId,
  isValidRunId,
  LEASE_ROUNDS,
  leaseDocumentId,
  runDocumentId,
  runReportSchema,
} from './documents';
import {
  LeaseLostError,
  NotificationReads,
  type Checkpoint,
  type Lease,
  type LeaseResult,
  type LedgerStats,
  type NotificationLedger,
  type NotificationRecord,
  type StoredNotification,
  type WriteResult,
} from './ledger';

/**
 * An in-memory ledger that costs what the Cosmos DB ledger costs, for the benchmark: the same
 * answers (atomic create, etag-checked replace, leases that expire, checkpoints, runs) and the
 * same requests, each charged a fixed latency. With it the benchmark measures how the job
 * orchestrates its calls, not how fast a local Cosmos stand-in happens to be.
 *
 * "The same requests" is exact, and a test holds it to CosmosLedger on the same calls:
 * - notifications go in bulk requests of at most 100 operations (`MAX_OPERATIONS_PER_REQUEST`),
 *   at most CHUNK_CONCURRENCY (10) of a call's requests in flight at once, as CosmosLedger sends them;
 * - the ledger's first bulk request costs one more request before it, the partition key ranges
 *   the Cosmos SDK looks up once per client;
 * - checkpoints, leases and runs are point operations, one request each, and `acquireLease` and
 *   `renewLease` make the same create / read / replace rounds as CosmosLedger;
 * - a record that Cosmos DB would not take (invalid id, a record that does not parse) is refused
 *   before any request, and an id that cannot exist is not read.
 * Throttling and transient failures are not modeled: `retries` stays 0.
 */

export const DEFAULT_MODELED_LATENCY_MS = 10;

export interface ModeledLedgerOptions {
  /** What each request costs, in milliseconds (default 10). 0 answers without waiting for a timer. */
  latencyMs?: number | undefined;
  /** How a request waits; tests may pass their own. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

interface StoredLease {
  operatingUnitNumber: string;
  runId: string;
  expiresAt: string;
  etag: string;
}

type PointResult = { status: 'ok'; etag: string } | { status: 'conflict' } | { status: 'missing' };

export class ModeledLedger implements NotificationLedger {
  private readonly latencyMs: number;
  private readonly wait: (ms: number) => Promise<void>;
  // The read-only runtime's ledger before the container exists, shared by the dry runs that find it:
  // each run counts its own calls, as on CosmosLedger (see shared/run-tally).
  private readonly counters: LedgerStats = sharedCounters(['requests', 'reads', 'writes', 'retries']);
  private readonly notifications = new Map<string, StoredNotification>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly leases = new Map<string, StoredLease>();
  private readonly runs = new Map<string, RunReport>();
  private partitionKeyRangesKnown = false;
  private etagSequence = 0;
  private inFlight = 0;
  private inFlightPeak = 0;

  constructor(options: ModeledLedgerOptions = {}) {
    const latencyMs = options.latencyMs ?? DEFAULT_MODELED_LATENCY_MS;
    if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`latencyMs must be a non-negative number, got ${latencyMs}`);
    this.latencyMs = latencyMs;
    this.wait = options.sleep ?? sleep;
  }

  // ---- notifications -------------------------------------------------------------------------

  async getNotifications(ids: readonly string[]): Promise<NotificationReads> {
    const unique = [...new Set(ids)].filter(isValidCosmosId);
    if (unique.length === 0) return new NotificationReads();
    const answers = new Array<StoredNotification | undefined>(unique.length);
    await this.bulk('reads', unique.map((_, index) => index), (index) => {
      const stored = this.notifications.get(unique[index] as string);
      answers[index] = stored && { record: structuredClone(stored.record), etag: stored.etag };
    });
    // In the order asked, as CosmosLedger returns them whatever order the requests finished in.
    // Every document here is a record it wrote, so none is unreadable.
    const found = new NotificationReads();
    answers.forEach((answer, index) => {
      if (answer) found.set(unique[index] as string, answer);
    });
    return found;
  }

  async createNotifications(records: readonly NotificationRecord[]): Promise<WriteResult[]> {
    return this.writeNotifications(
      records.map((record) => ({ record })),
      (record) => {
        if (this.notifications.has(record.id)) return { id: record.id, status: 'conflict' };
        return { id: record.id, status: 'ok', etag: this.store(record) };
      },
    );
  }

  async replaceNotifications(updates: readonly StoredNotification[]): Promise<WriteResult[]> {
    return this.writeNotifications(updates, (record, etag) => {
      const current = this.notifications.get(record.id);
      // CosmosLedger: 404 (gone) and 412 (changed since read) are both conflicts.
      if (!current || (etag !== undefined && current.etag !== etag)) return { id: record.id, status: 'conflict' };
      return { id: record.id, status: 'ok', etag: this.store(record) };
    });
  }

  private async writeNotifications(
    writes: readonly { record: NotificationRecord; etag?: string | undefined }[],
    apply: (record: NotificationRecord, etag: string | undefined) => WriteResult,
  ): Promise<WriteResult[]> {
    const results = new Array<WriteResult>(writes.length);
    // Each record is checked once, as CosmosLedger checks it before sending; the parsed copy is stored.
    const sent: { index: number; record: NotificationRecord; etag: string | undefined }[] = [];
    writes.forEach(({ record, etag }, index) => {
      const checked = checkNotificationRecord(record);
      if (typeof checked === 'string') results[index] = { id: record.id, status: 'error', reason: checked, retryable: false };
      else sent.push({ index, record: checked, etag });
    });
    if (sent.length === 0) return results;
    await this.bulk('writes', sent, ({ index, record, etag }) => {
      results[index] = apply(record, etag);
    });
    return results;
  }

  /** Keeps `record`, which is this ledger's own copy. */
  private store(record: NotificationRecord): string {
    const etag = this.nextEtag();
    this.notifications.set(record.id, { record, etag });
    return etag;
  }

  // ---- checkpoints ---------------------------------------------------------------------------

  async getCheckpoint(operatingUnitNumber: string, channelId: number): Promise<Checkpoint | undefined> {
    const id = checkpointDocumentId(operatingUnitNumber, channelId);
    const checkpoint = await this.point('reads', () => this.checkpoints.get(id));
    return checkpoint ? structuredClone(checkpoint) : undefined;
  }

  async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    const id = checkpointDocumentId(checkpoint.operatingUnitNumber, checkpoint.channelId);
    const parsed = checkpointSchema.safeParse(checkpoint);
    if (!parsed.success) throw new TypeError(`Invalid checkpoint: ${issuePaths(parsed.error.issues)}`);
    const body = structuredClone(parsed.data);
    await this.point('writes', () => this.checkpoints.set(id, body));
  }

  // ---- leases --------------------------------------------------------------------------------

  async acquireLease(operatingUnitNumber: string, runId: string, now: Date, durationMs: number): Promise<LeaseResult> {
    if (!Number.isFinite(durationMs) || durationMs <= 0) throw new RangeError(`Lease duration must be positive, got ${durationMs}`);
    const id = leaseDocumentId(operatingUnitNumber);
    const body = { operatingUnitNumber, runId, expiresAt: new Date(now.getTime() + durationMs).toISOString() };
    let lastHolder: { runId: string; expiresAt: string } | undefined;
    for (let round = 1; round <= LEASE_ROUNDS; round++) {
      const created = await this.writeLease(id, body, undefined);
      if (created.status === 'ok') return { acquired: true, lease: { ...body, etag: created.etag } };

      const current = await this.point('reads', () => this.leases.get(id));
      if (!current) continue; // released in between: try the create again
      lastHolder = { runId: current.runId, expiresAt: current.expiresAt };
      const expired = Date.parse(current.expiresAt) <= now.getTime();
      if (!expired && current.runId !== runId) return { acquired: false, heldByRunId: current.runId, expiresAt: current.expiresAt };
      const replaced = await this.writeLease(id, body, current.etag);
      if (replaced.status === 'ok') return { acquired: true, lease: { ...body, etag: replaced.etag } };
    }
    const last = lastHolder ?? { runId: 'unknown', expiresAt: body.expiresAt };
    return { acquired: false, heldByRunId: last.runId, expiresAt: last.expiresAt };
  }

  async renewLease(lease: Lease, now: Date, durationMs: number): Promise<Lease> {
    if (!Number.isFinite(durationMs) || durationMs <= 0) throw new RangeError(`Lease duration must be positive, got ${durationMs}`);
    const id = leaseDocumentId(lease.operatingUnitNumber);
    const body = { operatingUnitNumber: lease.operatingUnitNumber, runId: lease.runId, expiresAt: new Date(now.getTime() + durationMs).toISOString() };
    let etag = lease.etag;
    for (let round = 1; round <= 2; round++) {
      const replaced = await this.writeLease(id, body, etag);
      if (replaced.status === 'ok') return { ...body, etag: replaced.etag };
      if (replaced.status === 'missing') break;
      // Changed since: still ours (a renewal of ours that landed)? Renew on its etag.
      const current = await this.point('reads', () => this.leases.get(id));
      if (!current || current.runId !== lease.runId) break;
      etag = current.etag;
    }
    throw new LeaseLostError(`The lease of operating unit ${lease.operatingUnitNumber} is no longer held by run ${lease.runId}`);
  }

  async releaseLease(lease: Lease): Promise<void> {
    const id = leaseDocumentId(lease.operatingUnitNumber);
    await this.point('writes', () => {
      if (this.leases.get(id)?.etag === lease.etag) this.leases.delete(id);
    });
  }

  /** Create (no etag) or etag-checked replace of the lease document, as one point request. */
  private writeLease(id: string, body: Omit<StoredLease, 'etag'>, etag: string | undefined): Promise<PointResult> {
    return this.point('writes', (): PointResult => {
      const current = this.leases.get(id);
      if (etag === undefined && current) return { status: 'conflict' };
      if (etag !== undefined && !current) return { status: 'missing' };
      if (etag !== undefined && current?.etag !== etag) return { status: 'conflict' };
      const stored = { ...body, etag: this.nextEtag() };
      this.leases.set(id, stored);
      return { status: 'ok', etag: stored.etag };
    });
  }

  // ---- runs ----------------------------------------------------------------------------------

  async saveRun(report: RunReport): Promise<void> {
    if (!isValidRunId(report.runId)) throw new TypeError(`Run ids are UUIDs; got "${report.runId}"`);
    const id = runDocumentId(report.runId);
    const copy = structuredClone(report);
    await this.point('writes', () => this.runs.set(id, copy));
  }

  async getRun(runId: string): Promise<RunReport | undefined> {
    if (!isValidRunId(runId)) return undefined;
    const id = runDocumentId(runId);
    const stored = await this.point('reads', () => this.runs.get(id));
    if (!stored) return undefined;
    // Read back through the same schema as CosmosLedger, so both return the same shape.
    const parsed = runReportSchema.safeParse(structuredClone(stored));
    return parsed.success ? parsed.data : undefined;
  }

  // ---- counters ------------------------------------------------------------------------------

  stats(): LedgerStats {
    return ofThisRun(this.counters);
  }

  /** The most requests that were in flight at once: how much of the store's concurrency the job used. */
  peakRequestsInFlight(): number {
    return this.inFlightPeak;
  }

  /** Every notification record stored now, for tests and the benchmark's store-cost checks. */
  notificationRecords(): NotificationRecord[] {
    return [...this.notifications.values()].map(({ record }) => structuredClone(record));
  }

  // ---- requests ------------------------------------------------------------------------------

  /**
   * Runs `items` as bulk requests of at most 100 operations, at most 10 in flight, each applied
   * at once when its latency has passed (a request is atomic, as one Cosmos bulk request is per
   * document). The first bulk request of the ledger is preceded by the partition key range lookup.
   */
  private async bulk<T>(kind: 'reads' | 'writes', items: readonly T[], apply: (item: T) => void): Promise<void> {
    if (!this.partitionKeyRangesKnown) {
      this.partitionKeyRangesKnown = true;
      await this.request(() => undefined);
    }
    const chunks = chunk(items, MAX_OPERATIONS_PER_REQUEST);
    await mapWithConcurrency(chunks, CHUNK_CONCURRENCY, async (operations) => {
      this.counters[kind] += operations.length;
      await this.request(() => operations.forEach(apply));
    });
  }

  /** One point operation: one request carrying one read or one write. */
  private async point<R>(kind: 'reads' | 'writes', apply: () => R): Promise<R> {
    this.counters[kind] += 1;
    return this.request(apply);
  }

  private async request<R>(apply: () => R): Promise<R> {
    this.counters.requests += 1;
    this.inFlight += 1;
    this.inFlightPeak = Math.max(this.inFlightPeak, this.inFlight);
    try {
      if (this.latencyMs > 0) await this.wait(this.latencyMs);
      else await Promise.resolve();
      return apply();
    } finally {
      this.inFlight -= 1;
    }
  }

  private nextEtag(): string {
    this.etagSequence += 1;
    return `"modeled-${this.etagSequence.toString(16).padStart(8, '0')}"`;
  }
}

