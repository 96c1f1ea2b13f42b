import { ProblemSummary } from '../shared/problem-summary';
import type { Container, CosmosDiagnostics, ItemDefinition, JSONObject, JSONValue, OperationInput, RequestOptions } from '@azure/cosmos';
import type { RunReport } from '../job/report';
import { callTimeLeft } from '../shared/call-budget';
import { systemClock, type Clock } from '../shared/clock';
import { ConfigurationError, RemoteServiceError } from '../shared/errors';
import { silentLogger, type Logger } from '../shared/logger';
import { ofThisRun, sharedCounters } from '../shared/run-tally';
import { defaultRetryPolicy, withRetry, type RetryHooks, type RetryPolicy } from '../shared/retry';
import { BulkExecutor, type BulkCounters, type BulkOutcome } from './cosmos-bulk';
import {
  cosmosError,
  cosmosRetryAfterMs,
  cosmosStatus,
  describeCosmosError,
  errorRoundTrips,
  COSMOS_REQUEST_TIMEOUT_MS,
  isRequestTimeout,
  isTransientError,
  isTransientStatus,
  roundTrips,
  tryTimeoutMs,
  withinRequestTimeout,
  WRAP_UP_LIMITS,
  type WrapUpLimits,
} from './cosmos-errors';
import {
  checkNotificationRecord,
  checkpointDocumentId,
  checkpointSchema,
  issuePaths,
  isValidCosmosId,
  isValidRunId,
  LEASE_ROUNDS,
  leaseDocumentId,
  leaseDocumentSchema,
  notificationRecordSchema,
  runDocumentId,
  runReportSchema,
  sameNotification,
  SECONDS_PER_DAY,
  type Envelope,
  type LeaseDocumentBody,
} from './documents';
import {
  LeaseLostError,
  NotificationReads,
  type Checkpoint,
  type Lease,
  type LeaseResult,
  type LedgerStats,
  type NotificationCallOptions,
  type NotificationLedger,
  type NotificationRecord,
  type StoredNotification,
  type WriteResult,
} from './ledger';

export interface CosmosLedgerOptions {
  container: Container;
  /** `AzureCosmosOptions.TimeToLiveDays`: how long notification and run records are kept (default 90). */
  ttlDays?: number | undefined;
  logger?: Logger | undefined;
  /** Stamps `writtenAt` on checkpoints, leases and runs, for operators reading the container. */
  clock?: Clock | undefined;
  /** Backoff for throttled and transient failures (default: shared/retry's default policy). */
  retryPolicy?: RetryPolicy | undefined;
  retryHooks?: Pick<RetryHooks, 'sleep' | 'random'> | undefined;
  /** The most one try of a point call may take, the SDK's own retries included (default: the SDK's request timeout, 60 s). */
  requestTimeoutMs?: number | undefined;
  /** How calls end once the run's time for calls is spent (default: `WRAP_UP_LIMITS`, 40 s in all, then 3 s a try). */
  wrapUp?: WrapUpLimits | undefined;
}

const DEFAULT_TTL_DAYS = 90;

/** A document as Cosmos DB returns it: our fields plus its system fields. */
type StoredDocument = ItemDefinition & { _etag?: string };

/**
 * The notification ledger over one Cosmos DB container (design in documents.ts): notifications by
 * bulk requests (one per 100 operations), checkpoints, leases and runs by point operations.
 *
 * Safety rules, because a wrong answer here sends a customer a second email:
 * - a read that fails is an error, never "absent";
 * - a stored notification that does not parse (say, a status a newer version wrote) is reported
 *   unreadable by `getNotifications`, not as a record: the caller's create for it meets 409, and
 *   the caller treats the cart as handled;
 * - a write retried after an ambiguous failure (timeout, 503) that then meets 409/412 is read
 *   back, and reported `ok` when the stored record is exactly the one this call wrote.
 */
export class CosmosLedger implements NotificationLedger {
  private readonly container: Container;
  private readonly ttlSeconds: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly retryPolicy: RetryPolicy;
  private readonly retryHooks: Pick<RetryHooks, 'sleep' | 'random'>;
  private readonly requestTimeoutMs: number;
  private readonly wrapUp: WrapUpLimits;
  private readonly counters: BulkCounters = sharedCounters(['requests', 'reads', 'writes', 'retries']);
  private readonly bulk: BulkExecutor;

  constructor(options: CosmosLedgerOptions) {
    const ttlDays = options.ttlDays ?? DEFAULT_TTL_DAYS;
    if (!Number.isFinite(ttlDays) || ttlDays <= 0) {
      throw new ConfigurationError([`AzureCosmosOptions.TimeToLiveDays: expected a positive number of days, got ${ttlDays}`]);
    }
    this.container = options.container;
    this.ttlSeconds = Math.max(1, Math.round(ttlDays * SECONDS_PER_DAY));
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.retryPolicy = options.retryPolicy ?? defaultRetryPolicy;
    this.retryHooks = options.retryHooks ?? {};
    this.requestTimeoutMs = options.requestTimeoutMs ?? COSMOS_REQUEST_TIMEOUT_MS;
    this.wrapUp = options.wrapUp ?? WRAP_UP_LIMITS;
    this.bulk = new BulkExecutor({
      container: this.container,
      counters: this.counters,
      retryPolicy: this.retryPolicy,
      retryHooks: this.retryHooks,
      requestTimeoutMs: this.requestTimeoutMs,
      wrapUp: this.wrapUp,
    });
  }

  // ---- notifications -------------------------------------------------------------------------

  async getNotifications(ids: readonly string[], options: NotificationCallOptions = {}): Promise<NotificationReads> {
    // An id Cosmos DB cannot hold has no record; asking for it would fail the whole request.
    const unique = [...new Set(ids)].filter(isValidCosmosId);
    const found = new NotificationReads();
    if (unique.length === 0) return found;
    const operations: OperationInput[] = unique.map((id) => ({ operationType: 'Read', id, partitionKey: id }));
    const outcomes = await this.bulk.execute('reads', 'read notifications', operations, options);
    // One line per read, not per document (see ProblemSummary).
    const unparsed = new ProblemSummary();
    outcomes.forEach((outcome, index) => {
      const id = unique[index] as string;
      if (outcome.statusCode === 404) return;
      if (outcome.statusCode !== 200) {
        const { reason, retryable } = this.failureReason(outcome);
        // Throttled or unanswered past its retries: that record is not known, the others are.
        if (retryable) found.failed.set(id, `record not read (${reason})`);
        else throw this.bulkFailure('read notifications', outcome);
        return;
      }
      const parsed = this.parseNotification(id, outcome);
      if (parsed.ok) found.set(id, parsed.value);
      else {
        found.unreadable.add(id);
        unparsed.add(parsed.problems, id);
      }
    });
    unparsed.log(this.logger, 'warn', 'Ignoring notification documents that do not parse; their carts count as handled');
    return found;
  }

  async createNotifications(records: readonly NotificationRecord[], options: NotificationCallOptions = {}): Promise<WriteResult[]> {
    return this.writeNotifications(
      'create notifications',
      options,
      records.map((record) => ({ record })),
      (record, document) => ({ operationType: 'Create', partitionKey: record.id, resourceBody: document }),
      (status) => status === 201,
      (status) => status === 409,
    );
  }

  async replaceNotifications(updates: readonly StoredNotification[], options: NotificationCallOptions = {}): Promise<WriteResult[]> {
    return this.writeNotifications(
      'replace notifications',
      options,
      updates,
      (record, document, etag) => ({
        operationType: 'Replace',
        id: record.id,
        partitionKey: record.id,
        resourceBody: document,
        ...(etag === undefined ? {} : { ifMatch: etag }),
      }),
      (status) => status === 200,
      // 412: changed since it was read. 404: gone (expired or purged) since it was read.
      (status) => status === 412 || status === 404,
    );
  }

  /** Shared by create and replace: validate, run one bulk, map statuses, settle uncertain conflicts. */
  private async writeNotifications(
    operationName: string,
    options: NotificationCallOptions,
    writes: readonly { record: NotificationRecord; etag?: string }[],
    toOperation: (record: NotificationRecord, document: JSONObject, etag: string | undefined) => OperationInput,
    isSuccess: (status: number) => boolean,
    isConflict: (status: number) => boolean,
  ): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array<WriteResult>(writes.length);
    const sent: { index: number; record: NotificationRecord }[] = [];
    const operations: OperationInput[] = [];
    writes.forEach(({ record, etag }, index) => {
      const checked = checkNotificationRecord(record);
      if (typeof checked === 'string') {
        results[index] = { id: record.id, status: 'error', reason: checked, retryable: false };
        return;
      }
      sent.push({ index, record });
      operations.push(toOperation(record, this.notificationDocument(record), etag));
    });
    if (operations.length === 0) return results;

    const outcomes = await this.bulk.execute('writes', operationName, operations, options);
    const uncertain: { index: number; record: NotificationRecord }[] = [];
    outcomes.forEach((outcome, position) => {
      const { index, record } = sent[position] as { index: number; record: NotificationRecord };
      const { id } = record;
      if (isSuccess(outcome.statusCode) && outcome.etag) {
        results[index] = { id, status: 'ok', etag: outcome.etag };
      } else if (isConflict(outcome.statusCode)) {
        results[index] = { id, status: 'conflict' };
        if (outcome.uncertain) uncertain.push({ index, record });
      } else {
        results[index] = { id, status: 'error', ...this.failureReason(outcome) };
      }
    });
    await this.settleUncertain(uncertain, results, options);
    return results;
  }

  /**
   * A write whose earlier try timed out may have been applied, so its retry meets 409 or 412 from
   * itself. Reads those records back; one exactly as written is this call's own success.
   */
  private async settleUncertain(
    uncertain: readonly { index: number; record: NotificationRecord }[],
    results: WriteResult[],
    options: NotificationCallOptions,
  ): Promise<void> {
    if (uncertain.length === 0) return;
    let stored: Map<string, StoredNotification>;
    try {
      stored = await this.getNotifications(uncertain.map(({ record }) => record.id), options);
    } catch (error) {
      // The writes are done; a conflict is the safe answer (a later run's takeover settles it).
      this.logger.warn('Could not read back writes whose first try timed out; reporting them as conflicts', {
        count: uncertain.length,
        reason: describeCosmosError(error),
      });
      return;
    }
    const applied: string[] = [];
    for (const { index, record } of uncertain) {
      const current = stored.get(record.id);
      if (current && sameNotification(current.record, record)) {
        results[index] = { id: record.id, status: 'ok', etag: current.etag };
        applied.push(record.id);
      }
    }
    // One line per bulk call, not per record: one lost answer to a bulk of 100 is 100 records.
    if (applied.length > 0) this.logger.info('Cosmos DB write applied by an earlier, timed-out try', { count: applied.length, samples: applied.slice(0, 5) });
  }

  private notificationDocument(record: NotificationRecord): JSONObject {
    const document: Envelope & NotificationRecord = { ...record, pk: record.id, ttl: this.ttlSeconds };
    return definedFields(document);
  }

  /** A document read back as a record with its etag, or what is wrong with it. */
  private parseNotification(id: string, outcome: BulkOutcome): { ok: true; value: StoredNotification } | { ok: false; problems: string } {
    const parsed = notificationRecordSchema.safeParse(outcome.body);
    const etag = outcome.etag;
    if (!parsed.success || parsed.data.id !== id || !etag) {
      return { ok: false, problems: parsed.success ? (etag ? 'id mismatch' : 'no etag') : issuePaths(parsed.error.issues) };
    }
    return { ok: true, value: { record: parsed.data, etag } };
  }

  private failureReason(outcome: BulkOutcome): { reason: string; retryable: boolean } {
    const status = outcome.statusCode === 0 ? 'no response' : `HTTP ${outcome.statusCode}`;
    // Status 0: the request got no response, which may pass like any transient failure.
    if (outcome.statusCode === 0 || isTransientStatus(outcome.statusCode)) {
      // Throttled past its retries: the container's throughput, not the data, is at fault.
      const advice = outcome.statusCode === 429 ? ': the container needs more throughput (RU/s), or autoscale' : '';
      const gaveUp = outcome.gaveUp;
      const tried = gaveUp?.rounds ?? this.retryPolicy.maxAttempts;
      const sent = `sent ${tried} time${tried === 1 ? '' : 's'}`;
      if (gaveUp?.because === 'out-of-time') {
        return { reason: `cosmos ${status}, ${sent}, not tried again: the run reached its time limit (MaxRunMinutes)${advice ? `; if it recurs${advice}` : ''}`, retryable: true };
      }
      if (gaveUp?.because === 'starved') {
        return { reason: `cosmos ${status}, ${sent} while the container took other operations but not this one${advice}`, retryable: true };
      }
      return { reason: `cosmos ${status} after ${tried} attempts${advice}`, retryable: true };
    }
    return { reason: `cosmos ${status}`, retryable: false };
  }

  private bulkFailure(operation: string, outcome: BulkOutcome): RemoteServiceError {
    const { reason, retryable } = this.failureReason(outcome);
    return new RemoteServiceError(`Cosmos DB ${operation} failed: ${reason}`, {
      service: 'CosmosDB',
      operation,
      ...(outcome.statusCode === 0 ? {} : { statusCode: outcome.statusCode }),
      retryable,
    });
  }

  // ---- checkpoints ---------------------------------------------------------------------------

  async getCheckpoint(operatingUnitNumber: string, channelId: number): Promise<Checkpoint | undefined> {
    const id = checkpointDocumentId(operatingUnitNumber, channelId);
    const document = await this.readDocument(id, 'read checkpoint');
    if (!document) return undefined;
    const parsed = checkpointSchema.safeParse(document);
    if (!parsed.success || parsed.data.operatingUnitNumber !== operatingUnitNumber || parsed.data.channelId !== channelId) {
      // Starting from the configured window is safe: the notification records still stop repeats.
      this.logger.warn('Ignoring a checkpoint document that does not parse; the run starts from the configured window', {
        id,
        problems: parsed.success ? 'unit or channel mismatch' : issuePaths(parsed.error.issues),
      });
      return undefined;
    }
    return parsed.data;
  }

  async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    const id = checkpointDocumentId(checkpoint.operatingUnitNumber, checkpoint.channelId);
    const parsed = checkpointSchema.safeParse(checkpoint);
    if (!parsed.success) throw new TypeError(`Invalid checkpoint: ${issuePaths(parsed.error.issues)}`);
    const body = parsed.data;
    await this.upsertDocument({ id, pk: id, type: 'checkpoint', ...body, writtenAt: this.writtenAt() }, 'save checkpoint');
  }

  // ---- leases --------------------------------------------------------------------------------

  async acquireLease(operatingUnitNumber: string, runId: string, now: Date, durationMs: number): Promise<LeaseResult> {
    const id = leaseDocumentId(operatingUnitNumber);
    const body: LeaseDocumentBody = {
      type: 'lease',
      operatingUnitNumber,
      runId,
      expiresAt: new Date(now.getTime() + durationMs).toISOString(),
    };
    if (!Number.isFinite(durationMs) || durationMs <= 0) throw new RangeError(`Lease duration must be positive, got ${durationMs}`);
    let lastHolder: { runId: string; expiresAt: string } | undefined;
    for (let round = 1; round <= LEASE_ROUNDS; round++) {
      const created = await this.writeLease('create', id, body);
      if (created.status === 'ok') return { acquired: true, lease: this.toLease(body, created.etag) };

      const current = await this.readDocument(id, 'read lease');
      if (!current) continue; // released in between: try the create again
      const parsed = leaseDocumentSchema.safeParse(current);
      const etag = current._etag;
      if (!etag) throw new RemoteServiceError('Cosmos DB returned a lease without an etag', leaseErrorDetails());
      let holder: { runId: string; expiresAt: string } | undefined;
      if (parsed.success) {
        holder = { runId: parsed.data.runId, expiresAt: parsed.data.expiresAt };
        lastHolder = holder;
        const expired = Date.parse(parsed.data.expiresAt) <= now.getTime();
        // Our own run id: a create of ours that timed out yet landed, or a re-acquire.
        if (!expired && parsed.data.runId !== runId) return { acquired: false, heldByRunId: holder.runId, expiresAt: holder.expiresAt };
      } else {
        this.logger.warn('Taking over a lease document that does not parse', { id, problems: issuePaths(parsed.error.issues) });
      }
      const replaced = await this.writeLease('replace', id, body, etag);
      if (replaced.status === 'ok') {
        if (holder && holder.runId !== runId) {
          this.logger.info('Took over an expired lease', { operatingUnitNumber, previousRunId: holder.runId, expiredAt: holder.expiresAt });
        }
        return { acquired: true, lease: this.toLease(body, replaced.etag) };
      }
      // 412: another run took it over first; 404: released in between. Look again.
    }
    // Three rounds lost to other runs: the unit is as busy as it gets.
    const last = lastHolder ?? { runId: 'unknown', expiresAt: body.expiresAt };
    return { acquired: false, heldByRunId: last.runId, expiresAt: last.expiresAt };
  }

  async renewLease(lease: Lease, now: Date, durationMs: number): Promise<Lease> {
    if (!Number.isFinite(durationMs) || durationMs <= 0) throw new RangeError(`Lease duration must be positive, got ${durationMs}`);
    const id = leaseDocumentId(lease.operatingUnitNumber);
    const body: LeaseDocumentBody = {
      type: 'lease',
      operatingUnitNumber: lease.operatingUnitNumber,
      runId: lease.runId,
      expiresAt: new Date(now.getTime() + durationMs).toISOString(),
    };
    let etag = lease.etag;
    for (let round = 1; round <= 2; round++) {
      const replaced = await this.writeLease('replace', id, body, etag);
      if (replaced.status === 'ok') return this.toLease(body, replaced.etag);
      if (replaced.status === 'missing') break;
      // 412: the document changed. Still ours (a timed-out renewal of ours that landed)? Renew on it.
      const current = await this.readDocument(id, 'read lease');
      const parsed = leaseDocumentSchema.safeParse(current);
      if (!current?._etag || !parsed.success || parsed.data.runId !== lease.runId) break;
      etag = current._etag;
    }
    throw new LeaseLostError(`The lease of operating unit ${lease.operatingUnitNumber} is no longer held by run ${lease.runId}`);
  }

  async releaseLease(lease: Lease): Promise<void> {
    const id = leaseDocumentId(lease.operatingUnitNumber);
    try {
      await this.pointCall('release lease', 'writes', (options) => this.container.item(id, id).delete({ ...ifMatch(lease.etag), ...options }));
    } catch (error) {
      const status = cosmosStatus(error);
      if (status === 404 || status === 412) return;
      // The lease expires on its own; a failed release must not fail a run that did its work.
      this.logger.warn('Could not release the lease; it will expire', {
        operatingUnitNumber: lease.operatingUnitNumber,
        error: describeCosmosError(error),
      });
    }
  }

  /** Create or conditional replace of the lease document; conflicts are results, not errors. */
  private async writeLease(
    mode: 'create' | 'replace',
    id: string,
    body: LeaseDocumentBody,
    etag = '',
  ): Promise<{ status: 'ok'; etag: string } | { status: 'conflict' } | { status: 'missing' }> {
    const document = { id, pk: id, ...body, writtenAt: this.writtenAt() };
    try {
      const response = await this.pointCall(`${mode} lease`, 'writes', (options) =>
        mode === 'create'
          ? this.container.items.create(document, { disableAutomaticIdGeneration: true, ...options })
          : this.container.item(id, id).replace(document, { ...ifMatch(etag), ...options }),
      );
      const newEtag = response.etag ?? response.resource?._etag;
      if (!newEtag) throw new RemoteServiceError('Cosmos DB returned a lease without an etag', leaseErrorDetails());
      return { status: 'ok', etag: newEtag };
    } catch (error) {
      const status = cosmosStatus(error);
      if (status === 409 || status === 412) return { status: 'conflict' };
      // A create has nothing to miss but the container itself: deleted (or its database) while
      // the app runs. Reporting it as a conflict would make every run "unit-busy", quietly.
      if (status === 404 && mode === 'create') throw this.containerGone('create lease', error);
      if (status === 404) return { status: 'missing' };
      throw cosmosError(`${mode} lease`, error);
    }
  }

  private containerGone(operation: string, error: unknown): RemoteServiceError {
    const containerId = this.container.id;
    const databaseId = this.container.database.id;
    return cosmosError(
      operation,
      error,
      `Container "${containerId}" in database "${databaseId}" does not exist (deleted while the app runs?): check ` +
        'AzureCosmosOptions.DatabaseId and ContainerId, and restart the app so that it creates the container again ' +
        '(partition key /pk, time to live on with no default)',
    );
  }

  private toLease(body: LeaseDocumentBody, etag: string): Lease {
    return { operatingUnitNumber: body.operatingUnitNumber, runId: body.runId, expiresAt: body.expiresAt, etag };
  }

  // ---- runs ----------------------------------------------------------------------------------

  async saveRun(report: RunReport): Promise<void> {
    if (!isValidRunId(report.runId)) throw new TypeError(`Run ids are UUIDs; got "${report.runId}"`);
    const id = runDocumentId(report.runId);
    await this.upsertDocument({ ...report, id, pk: id, type: 'run', ttl: this.ttlSeconds, writtenAt: this.writtenAt() }, 'save run');
  }

  async getRun(runId: string): Promise<RunReport | undefined> {
    if (!isValidRunId(runId)) return undefined;
    const id = runDocumentId(runId);
    const document = await this.readDocument(id, 'read run');
    if (!document) return undefined;
    const parsed = runReportSchema.safeParse(document);
    if (!parsed.success || parsed.data.runId.toLowerCase() !== runId.toLowerCase()) {
      this.logger.warn('Ignoring a run document that does not parse', {
        id,
        problems: parsed.success ? 'run id mismatch' : issuePaths(parsed.error.issues),
      });
      return undefined;
    }
    return parsed.data;
  }

  stats(): LedgerStats {
    return ofThisRun(this.counters);
  }

  // ---- point operations ----------------------------------------------------------------------

  /** Point read; undefined when the document does not exist. */
  private async readDocument(id: string, operation: string): Promise<StoredDocument | undefined> {
    try {
      const response = await this.pointCall(operation, 'reads', (options) => this.container.item(id, id).read<StoredDocument>(options));
      return response.statusCode === 404 ? undefined : response.resource;
    } catch (error) {
      if (cosmosStatus(error) === 404) return undefined;
      throw cosmosError(operation, error);
    }
  }

  private async upsertDocument(document: ItemDefinition & Envelope, operation: string): Promise<void> {
    try {
      await this.pointCall(operation, 'writes', (options) => this.container.items.upsert(document, options));
    } catch (error) {
      throw cosmosError(operation, error);
    }
  }

  /**
   * One point operation with the ledger's counters and bounded retries on transient failures: not
   * 429, which the SDK retries on point operations itself (up to 9 times and 30 s), so a throttled
   * call is not tried five times that long; this covers timeouts, 503s and lost connections. No
   * retry waits past the run's time left (`callTimeLeft`), or `POINT_CALL_GRACE_MS` once that is
   * spent, so a failing container cannot hold a run's checkpoint, lease or report long past its
   * time limit; a call given up so says so (`outOfTime`). Each try, the SDK's own retries included,
   * gets one request timeout (`withinRequestTimeout`), and no more than the run's time left or the
   * wrap-up's few seconds: once that is spent, a try that got no answer is not made again, so the
   * wrap-up's writes against a container that stopped answering take seconds, not five request
   * timeouts each, and the run still ends within the host's functionTimeout.
   */
  private async pointCall<T extends { diagnostics?: CosmosDiagnostics }>(
    operation: string,
    kind: 'reads' | 'writes',
    call: (options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    let outOfTime = false;
    const timeLeft = () => callTimeLeft() ?? Number.POSITIVE_INFINITY;
    const giveUp = (delayMs: number, error: unknown) => (outOfTime = delayMs > Math.max(timeLeft(), POINT_CALL_GRACE_MS) || (timeLeft() <= 0 && isRequestTimeout(error)));
    try {
      return await this.pointCallWithRetries(operation, kind, call, giveUp);
    } catch (error) {
      if (!outOfTime) throw error;
      const failure = cosmosError(operation, error);
      throw new RemoteServiceError(`${failure.message}; not tried again: the run reached its time limit (MaxRunMinutes)`, {
        service: 'CosmosDB',
        operation,
        ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }),
        retryable: true,
        outOfTime: true,
        cause: error,
      });
    }
  }

  private async pointCallWithRetries<T extends { diagnostics?: CosmosDiagnostics }>(
    operation: string,
    kind: 'reads' | 'writes',
    call: (options: RequestOptions) => Promise<T>,
    giveUp: (delayMs: number, error: unknown) => boolean,
  ): Promise<T> {
    return withRetry(
      async (attempt) => {
        if (attempt > 1) this.counters.retries += 1;
        this.counters[kind] += 1;
        try {
          const response = await withinRequestTimeout(tryTimeoutMs(this.requestTimeoutMs, this.wrapUp), call);
          this.counters.requests += roundTrips(response.diagnostics);
          return response;
        } catch (error) {
          this.counters.requests += errorRoundTrips(error);
          throw error;
        }
      },
      (error) => ({ retry: isTransientError(error) && cosmosStatus(error) !== 429, serverDelayMs: cosmosRetryAfterMs(error) }),
      this.retryPolicy,
      {
        ...this.retryHooks,
        giveUp,
        onRetry: ({ attempt, error }) =>
          this.logger.debug('Retrying a Cosmos DB call', { operation, attempt, error: describeCosmosError(error) }),
      },
    );
  }

  private writtenAt(): string {
    return this.clock.now().toISOString();
  }
}

/**
 * The retry waits a point call may still make once the run's time is spent: its wrap-up (the last
 * checkpoint, the lease's release, the run record) takes milliseconds, and one brief failure must
 * not leave the unit leased for ClaimTimeoutMinutes or the run unrecorded. Backoff waits (0.5 s, 1
 * s, 2 s, 4 s in production) fit; a service's hint of a minute does not.
 */
const POINT_CALL_GRACE_MS = 5_000;

function ifMatch(etag: string): RequestOptions {
  return { accessCondition: { type: 'IfMatch', condition: etag } };
}

function leaseErrorDetails(): { service: 'CosmosDB'; operation: string; retryable: boolean } {
  return { service: 'CosmosDB', operation: 'lease', retryable: true };
}

/**
 * A validated record is flat JSON already; this leaves out its undefined fields and gives the
 * SDK's JSONObject type. Cheaper than a JSON round trip, which cost a run 4 µs per write.
 */
function definedFields(value: object): JSONObject {
  const document: JSONObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) document[key] = item as JSONValue;
  }
  return document;
}
