import { LeaseLostError, NotificationReads, type LedgerStats, type NotificationLedger, type StoredNotification } from '../src/store/ledger';

/**
 * The modeled store lives in the stand-ins process, as a database lives outside the job: its
 * documents (one per notified cart) must not count in the job's memory, or the benchmark would
 * charge the job for the store's growth. The job talks to it through this ledger, one IPC message
 * per ledger call; the modeled ledger on the other side charges the per-request latency and keeps
 * the counters. IPC uses Node's advanced serialization, so Maps and Dates cross intact.
 */

export type LedgerMethod = Exclude<keyof NotificationLedger, 'stats'>;

export interface LedgerCall {
  kind: 'ledger-call';
  id: number;
  method: LedgerMethod;
  args: unknown[];
}

export interface LedgerAnswer {
  kind: 'ledger-answer';
  id: number;
  /** The ledger's counters once this call was done. */
  stats: LedgerStats;
  value?: unknown;
  error?: { name: string; message: string } | undefined;
}

const ZERO: LedgerStats = { requests: 0, reads: 0, writes: 0, retries: 0 };

/** The job's side: a NotificationLedger whose calls run in the other process. */
export class IpcLedger implements NotificationLedger {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private latest: LedgerStats = { ...ZERO };

  constructor(private readonly send: (call: LedgerCall) => void) {}

  /** Hands over an answer from the other process. */
  receive(answer: LedgerAnswer): void {
    // Counters only grow; answers to concurrent calls may arrive in any order.
    this.latest = {
      requests: Math.max(this.latest.requests, answer.stats.requests),
      reads: Math.max(this.latest.reads, answer.stats.reads),
      writes: Math.max(this.latest.writes, answer.stats.writes),
      retries: Math.max(this.latest.retries, answer.stats.retries),
    };
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if (answer.error) waiting.reject(rebuildError(answer.error));
    else waiting.resolve(answer.value);
  }

  /** Fails every call still waiting, when the other process is gone. */
  abandon(reason: string): void {
    for (const { reject } of this.pending.values()) reject(new Error(reason));
    this.pending.clear();
  }

  private call<T>(method: LedgerMethod, args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (value) => resolve(value as T), reject });
      this.send({ kind: 'ledger-call', id, method, args });
    });
  }

  // IPC carries a Map but not its class: the modeled ledger holds only records it wrote, so none is unreadable.
  getNotifications: NotificationLedger['getNotifications'] = async (ids) =>
    new NotificationReads(await this.call<Map<string, StoredNotification>>('getNotifications', [ids]));
  createNotifications: NotificationLedger['createNotifications'] = (records) => this.call('createNotifications', [records]);
  replaceNotifications: NotificationLedger['replaceNotifications'] = (updates) => this.call('replaceNotifications', [updates]);
  getCheckpoint: NotificationLedger['getCheckpoint'] = (operatingUnitNumber, channelId) => this.call('getCheckpoint', [operatingUnitNumber, channelId]);
  saveCheckpoint: NotificationLedger['saveCheckpoint'] = (checkpoint) => this.call('saveCheckpoint', [checkpoint]);
  acquireLease: NotificationLedger['acquireLease'] = (operatingUnitNumber, runId, now, durationMs) =>
    this.call('acquireLease', [operatingUnitNumber, runId, now, durationMs]);
  renewLease: NotificationLedger['renewLease'] = (lease, now, durationMs) => this.call('renewLease', [lease, now, durationMs]);
  releaseLease: NotificationLedger['releaseLease'] = (lease) => this.call('releaseLease', [lease]);
  saveRun: NotificationLedger['saveRun'] = (report) => this.call('saveRun', [report]);
  getRun: NotificationLedger['getRun'] = (runId) => this.call('getRun', [runId]);

  stats(): LedgerStats {
    return { ...this.latest };
  }
}

/** The store's side: runs one call on the real ledger and says how it went. */
export async function serveLedgerCall(ledger: NotificationLedger, call: LedgerCall): Promise<LedgerAnswer> {
  const method = ledger[call.method] as (...args: unknown[]) => Promise<unknown>;
  try {
    const value = await method.apply(ledger, call.args);
    return { kind: 'ledger-answer', id: call.id, stats: ledger.stats(), value };
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return { kind: 'ledger-answer', id: call.id, stats: ledger.stats(), error: { name, message } };
  }
}

/** The job tells a lost lease by its class, so that one comes back as what it was. */
function rebuildError({ name, message }: { name: string; message: string }): Error {
  if (name === 'LeaseLostError') return new LeaseLostError(message);
  if (name === 'TypeError') return new TypeError(message);
  if (name === 'RangeError') return new RangeError(message);
  const error = new Error(message);
  error.name = name;
  return error;
}
