import { hash } from 'node:crypto';
import type { RunReport } from '../job/report';

/**
 * The connector's memory: which cart modifications were claimed, sent, failed or skipped; how far
 * each operating unit has got (checkpoint); which run holds each unit (lease); and run reports.
 * Implemented over Cosmos DB (`cosmos-ledger.ts`), and in memory with Cosmos DB's request pattern
 * (`modeled-ledger.ts`: the benchmark's store, and a dry run's before the container exists). Every
 * call on a page is one bulk request, so a page costs a constant number of round trips whatever
 * its size.
 */

export type NotificationStatus = 'claimed' | 'sent' | 'failed' | 'skipped';

export interface NotificationRecord {
  /** `notificationId(cartId, cartModifiedAt)`; also the partition key and the provider's trigger id. */
  id: string;
  type: 'notification';
  operatingUnitNumber: string;
  cartId: string;
  /** The cart's ModifiedDateTime, ISO-8601 UTC. */
  cartModifiedAt: string;
  /** The Commerce customer account number; empty for anonymous carts. Never an email address. */
  customerId: string;
  status: NotificationStatus;
  /** Why it failed or was skipped, e.g. `superseded`, `emarsys 2008: contact not found`. */
  reason?: string | undefined;
  /** For `failed`: whether a later run should try again. */
  retryable?: boolean | undefined;
  /** The run that last claimed or updated it. */
  runId: string;
  /** How many times a run has claimed it or failed its lookup (MaxSendAttempts bounds it). */
  attempts: number;
  claimedAt: string;
  updatedAt: string;
  sentAt?: string | undefined;
  providerMessageId?: string | undefined;
}

/** A record as read from the store, with the version the store gave it. */
export interface StoredNotification {
  record: NotificationRecord;
  etag: string;
}

export type WriteResult =
  | { id: string; status: 'ok'; etag: string }
  /** Create: the id exists already. Replace: the record changed since it was read. */
  | { id: string; status: 'conflict' }
  | { id: string; status: 'error'; reason: string; retryable: boolean };

export interface Checkpoint {
  operatingUnitNumber: string;
  channelId: number;
  /** Every cart modified before this instant has a final outcome. ISO-8601 UTC. */
  lastModifiedAt: string;
  /** The carts at exactly `lastModifiedAt` that have a final outcome. */
  cartIdsAtLastModified: string[];
  runId: string;
  updatedAt: string;
}

export interface Lease {
  operatingUnitNumber: string;
  runId: string;
  expiresAt: string;
  etag: string;
}

export type LeaseResult =
  | { acquired: true; lease: Lease }
  | { acquired: false; heldByRunId: string; expiresAt: string };

/** Thrown by `renewLease` when another run has taken the lease over. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** What a run tells the ledger about one call. */
export interface NotificationCallOptions {
  /**
   * Asked before operations are retried; true: the run is out of time, so throttled or failed
   * operations are not tried again and keep their transient status (their carts fail for the run).
   */
  outOfTime?: (() => boolean) | undefined;
}

/**
 * What `getNotifications` found: the records by id, and apart from them the ids whose stored
 * document is not a record this version can read (written by a newer version, or edited by hand),
 * and the ids whose read still failed when its retries ended (throttled, no answer), with why.
 * An unreadable record's cart was handled by someone: a run neither sends it nor waits for it. Of
 * a cart whose read failed nothing is known: it fails for the run, and a later run reads it again.
 * An id is in one of the three at most.
 */
export class NotificationReads extends Map<string, StoredNotification> {
  readonly unreadable = new Set<string>();
  readonly failed = new Map<string, string>();
}

export interface NotificationLedger {
  /** Reads the records with these ids; ids with no document are neither in the map nor unreadable. */
  getNotifications(ids: readonly string[], options?: NotificationCallOptions): Promise<NotificationReads>;
  /** Creates each record only if its id is new (the atomic claim). */
  createNotifications(records: readonly NotificationRecord[], options?: NotificationCallOptions): Promise<WriteResult[]>;
  /** Replaces each record only if it still has the given etag (takeover, outcome). */
  replaceNotifications(updates: readonly StoredNotification[], options?: NotificationCallOptions): Promise<WriteResult[]>;

  getCheckpoint(operatingUnitNumber: string, channelId: number): Promise<Checkpoint | undefined>;
  saveCheckpoint(checkpoint: Checkpoint): Promise<void>;

  /** Takes the unit's lease when it is free or expired at `now`. */
  acquireLease(operatingUnitNumber: string, runId: string, now: Date, durationMs: number): Promise<LeaseResult>;
  /** Extends a held lease; throws LeaseLostError when another run holds it now. */
  renewLease(lease: Lease, now: Date, durationMs: number): Promise<Lease>;
  /** Gives the lease up (no error when it is already gone or taken). */
  releaseLease(lease: Lease): Promise<void>;

  saveRun(report: RunReport): Promise<void>;
  getRun(runId: string): Promise<RunReport | undefined>;

  /** Counters since the ledger was created (within a run, the run's own): round trips, and the operations they carried. */
  stats(): LedgerStats;
}

export interface LedgerStats {
  requests: number;
  reads: number;
  writes: number;
  retries: number;
}

/** The id of one cart at one modification: stable across runs, safe as a Cosmos id and a trigger id. */
export function notificationId(cartId: string, cartModifiedAt: Date): string {
  const digest = hash('sha256', `${cartId}\n${cartModifiedAt.toISOString()}`, 'hex');
  return `cart-${digest.slice(0, 40)}`;
}
