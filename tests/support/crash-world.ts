import type { IEmailProvider, Notification, NotificationOutcome, SendOptions } from '../../src/providers/email-provider';
import type { RunReport } from '../../src/job/report';
import { ModeledLedger } from '../../src/store/modeled-ledger';
import {
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
} from '../../src/store/ledger';

/** A small seeded generator (mulberry32), so every scenario replays from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Died extends Error {
  constructor() {
    super('the process died');
  }
}

/** What one run's faults are. */
export interface Faults {
  /** After this many ledger calls the "process" is dead: nothing more reaches the ledger or the provider. */
  dieAfterLedgerCalls?: number | undefined;
  /** Notification ids whose create/replace is refused (not applied), reported as a retryable error. */
  refuseWrite?: (id: string) => boolean;
  /** Notification ids whose write is applied but reported as a retryable error (an ambiguous timeout). */
  ambiguousWrite?: (id: string) => boolean;
  /** Notification ids whose read fails past its retries. */
  failRead?: (id: string) => boolean;
  /** Sends go out, then the provider reports them all failed retryably (timed out after sending). */
  providerTimesOutAfterSending?: (call: number) => boolean;
  /** The provider throws before sending. */
  providerThrows?: (call: number) => boolean;
  /** Called on every ledger call (to move the clock, say). */
  onLedgerCall?: () => void;
}

/**
 * A ledger that keeps its state across runs (a ModeledLedger) and, for one run at a time, injects
 * faults: writes refused or applied-but-unanswered, reads that fail, and death of the process.
 */
export class FaultyLedger implements NotificationLedger {
  readonly inner = new ModeledLedger({ latencyMs: 0 });
  faults: Faults = {};
  private calls = 0;
  dead = false;

  arm(faults: Faults): void {
    this.faults = faults;
    this.calls = 0;
    this.dead = false;
  }

  private tick(): void {
    this.faults.onLedgerCall?.();
    if (this.dead) throw new Died();
    this.calls++;
    if (this.faults.dieAfterLedgerCalls !== undefined && this.calls > this.faults.dieAfterLedgerCalls) {
      this.dead = true;
      throw new Died();
    }
  }

  async getNotifications(ids: readonly string[], options?: NotificationCallOptions): Promise<NotificationReads> {
    this.tick();
    const reads = await this.inner.getNotifications(ids);
    const out = new NotificationReads();
    for (const [id, stored] of reads) {
      if (this.faults.failRead?.(id)) out.failed.set(id, 'record not read (injected)');
      else out.set(id, stored);
    }
    void options;
    return out;
  }

  async createNotifications(records: readonly NotificationRecord[]): Promise<WriteResult[]> {
    this.tick();
    return this.write(records.map((record) => ({ record })), (list) => this.inner.createNotifications(list.map(({ record }) => record)));
  }

  async replaceNotifications(updates: readonly StoredNotification[]): Promise<WriteResult[]> {
    this.tick();
    return this.write(updates, (list) => this.inner.replaceNotifications(list));
  }

  private async write<T extends { record: NotificationRecord }>(items: readonly T[], apply: (items: T[]) => Promise<WriteResult[]>): Promise<WriteResult[]> {
    const results = new Array<WriteResult>(items.length);
    const passed: { index: number; item: T }[] = [];
    items.forEach((item, index) => {
      if (this.faults.refuseWrite?.(item.record.id)) results[index] = { id: item.record.id, status: 'error', reason: 'injected 503', retryable: true };
      else passed.push({ index, item });
    });
    const applied = passed.length > 0 ? await apply(passed.map(({ item }) => item)) : [];
    passed.forEach(({ index, item }, position) => {
      const result = applied[position] as WriteResult;
      results[index] = this.faults.ambiguousWrite?.(item.record.id) ? { id: item.record.id, status: 'error', reason: 'injected timeout', retryable: true } : result;
    });
    return results;
  }

  async getCheckpoint(operatingUnitNumber: string, channelId: number): Promise<Checkpoint | undefined> {
    this.tick();
    return this.inner.getCheckpoint(operatingUnitNumber, channelId);
  }
  async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    this.tick();
    return this.inner.saveCheckpoint(checkpoint);
  }
  async acquireLease(operatingUnitNumber: string, runId: string, now: Date, durationMs: number): Promise<LeaseResult> {
    this.tick();
    return this.inner.acquireLease(operatingUnitNumber, runId, now, durationMs);
  }
  async renewLease(lease: Lease, now: Date, durationMs: number): Promise<Lease> {
    this.tick();
    return this.inner.renewLease(lease, now, durationMs);
  }
  async releaseLease(lease: Lease): Promise<void> {
    this.tick();
    return this.inner.releaseLease(lease);
  }
  async saveRun(report: RunReport): Promise<void> {
    this.tick();
    return this.inner.saveRun(report);
  }
  getRun(runId: string): Promise<RunReport | undefined> {
    return this.inner.getRun(runId);
  }
  stats(): LedgerStats {
    return this.inner.stats();
  }
}

/** The real provider, with faults around it; it dies with the ledger. */
export class FaultyProvider implements IEmailProvider {
  readonly name = 'emarsys';
  private call = 0;
  constructor(
    private readonly real: IEmailProvider,
    private readonly ledger: FaultyLedger,
  ) {}

  resetCalls(): void {
    this.call = 0;
  }

  async send(notifications: readonly Notification[], options?: SendOptions): Promise<NotificationOutcome[]> {
    const call = ++this.call;
    if (this.ledger.dead) throw new Died();
    const faults = this.ledger.faults;
    if (faults.providerThrows?.(call)) throw new Error('injected: connection refused');
    const outcomes = await this.real.send(notifications, options);
    if (faults.providerTimesOutAfterSending?.(call)) {
      return notifications.map((n) => ({ triggerId: n.triggerId, status: 'failed', reason: 'injected: timed out after sending', retryable: true }));
    }
    return outcomes;
  }

  stats() {
    return this.real.stats();
  }
}

import type { RetailServerClient } from '../../src/retail/retail-client';
import { RemoteServiceError } from '../../src/shared/errors';

export interface RetailFaults {
  /** Before each call (to move the clock). */
  onCall?: (method: string) => void;
  /** Fails the n-th call of a method (1-based): an outage, or a call out of the run's time. */
  fail?: (method: string, n: number) => 'outage' | 'time-up' | undefined;
}

/** The real Retail Server client, with faults around it. */
export function faultyRetail(real: RetailServerClient, faults: RetailFaults): RetailServerClient {
  const counts = new Map<string, number>();
  const wrap =
    <A extends unknown[], R>(method: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      faults.onCall?.(method);
      const n = (counts.get(method) ?? 0) + 1;
      counts.set(method, n);
      const failure = faults.fail?.(method, n);
      if (failure) {
        throw new RemoteServiceError(`injected ${failure} on ${method}`, { service: 'RetailServer', operation: method, retryable: true, outOfTime: failure === 'time-up', statusCode: 503 });
      }
      return call(...args);
    };
  return {
    getChannelConfiguration: wrap('channel', () => real.getChannelConfiguration()),
    searchCarts: wrap('searchCarts', (query: Parameters<RetailServerClient['searchCarts']>[0]) => real.searchCarts(query)),
    findCart: (id: string) => real.findCart(id),
    getCustomers: wrap('getCustomers', (ids: readonly string[], options?: Parameters<RetailServerClient['getCustomers']>[1]) => real.getCustomers(ids, options)),
    getProducts: wrap('getProducts', (ids: readonly number[], channel: number, options?: Parameters<RetailServerClient['getProducts']>[2]) => real.getProducts(ids, channel, options)),
    stats: () => real.stats(),
  };
}
