import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { SKIP_REASONS, type RunReport, type SkipReason } from '../job/report';
import type { Checkpoint, NotificationRecord } from './ledger';

/**
 * The shapes of the documents the ledger keeps in its one Cosmos DB container, and the ids they
 * live under. Every document's partition key `pk` equals its `id`, so every access is a point
 * operation (or a bulk of them) and nothing depends on queries.
 *
 * Everything read back is parsed here: zod objects drop the Cosmos system fields (`_rid`, `_self`,
 * `_ts`, `_etag`, `_attachments`) and our own envelope (`pk`, `ttl`) along with any field a later
 * version may add, so a record always has exactly the shape the rest of the code expects.
 */

export type DocumentType = 'notification' | 'checkpoint' | 'lease' | 'run';

/** The fields every ledger document carries besides its payload. */
export interface Envelope {
  id: string;
  pk: string;
  type: DocumentType;
  /** Seconds until Cosmos DB deletes the document; absent means "never" (with `defaultTtl: -1`). */
  ttl?: number;
}

/** Characters Cosmos DB does not allow in an id. */
const FORBIDDEN_ID_CHARACTERS = /[/\\?#]/;
const MAX_ID_LENGTH = 255;

/** Whether Cosmos DB accepts `id` as a document id. */
export function isValidCosmosId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_LENGTH && !FORBIDDEN_ID_CHARACTERS.test(id) && id.trim() === id;
}

/** Rounds of create-or-take-over before `acquireLease` reports the unit as busy. */
export const LEASE_ROUNDS = 3;

/** Where a document failed to parse, without the values (which may be personal data). */
export function issuePaths(issues: readonly { path: readonly PropertyKey[]; code: string }[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.code}`)
    .join('; ');
}

/**
 * Makes an operating unit number safe inside an id. Anything outside `[A-Za-z0-9.-]` (the escape
 * character `_` included) becomes `_` plus two hex digits per UTF-8 byte, so the mapping is
 * one-to-one: two different units never share a checkpoint or a lease.
 */
export function idSegment(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9.-]/.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function checkpointDocumentId(operatingUnitNumber: string, channelId: number): string {
  if (!Number.isSafeInteger(channelId)) throw new RangeError(`channelId must be an integer, got ${channelId}`);
  return `checkpoint-${idSegment(operatingUnitNumber)}-${channelId}`;
}

export function leaseDocumentId(operatingUnitNumber: string): string {
  return `lease-${idSegment(operatingUnitNumber)}`;
}

/**
 * What `doctor` writes and deletes again to prove it may write: an identity with a reader role
 * passes every read, and a run fails at its first write. No record of the ledger looks like it (its
 * own id prefix and `type`, and its id as its partition key value, as every document's), nothing
 * finds it (every access is by id, and nothing lists or counts documents), and its random suffix
 * keeps the probes of deployments sharing the container apart. Its `ttl` removes it should the
 * delete fail.
 */
export interface WriteProbeDocument {
  id: string;
  pk: string;
  type: 'doctor-probe';
  ttl: number;
}

export function writeProbeDocument(operatingUnitNumber: string, ttlSeconds: number): WriteProbeDocument {
  const id = `doctor-probe-${idSegment(operatingUnitNumber)}-${randomBytes(8).toString('hex')}`;
  return { id, pk: id, type: 'doctor-probe', ttl: ttlSeconds };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Run ids are UUIDs; anything else (say, from an HTTP request) never reaches the store. */
export function isValidRunId(runId: string): boolean {
  return UUID.test(runId);
}

export function runDocumentId(runId: string): string {
  return `run-${runId.toLowerCase()}`;
}

const isoInstant = z.iso.datetime({ offset: true });

export const notificationRecordSchema = z.object({
  id: z.string().min(1),
  type: z.literal('notification'),
  operatingUnitNumber: z.string(),
  cartId: z.string(),
  cartModifiedAt: isoInstant,
  customerId: z.string(),
  status: z.enum(['claimed', 'sent', 'failed', 'skipped']),
  reason: z.string().optional(),
  retryable: z.boolean().optional(),
  runId: z.string(),
  attempts: z.number().int().nonnegative(),
  claimedAt: isoInstant,
  updatedAt: isoInstant,
  sentAt: isoInstant.optional(),
  providerMessageId: z.string().optional(),
}) satisfies z.ZodType<NotificationRecord>;

export const checkpointSchema = z.object({
  operatingUnitNumber: z.string(),
  channelId: z.number().int(),
  lastModifiedAt: isoInstant,
  cartIdsAtLastModified: z.array(z.string()),
  runId: z.string(),
  updatedAt: isoInstant,
}) satisfies z.ZodType<Checkpoint>;

/** The lease document: who holds the unit, until when. The etag comes from Cosmos DB. */
export const leaseDocumentSchema = z.object({
  type: z.literal('lease'),
  operatingUnitNumber: z.string(),
  runId: z.string(),
  expiresAt: isoInstant,
});

/**
 * A copy of `record` as the ledger stores it (zod builds new objects, so a caller changing its
 * record later changes nothing stored), or why the ledger refuses it before any request.
 */
export function checkNotificationRecord(record: NotificationRecord): NotificationRecord | string {
  if (!isValidCosmosId(record.id)) return 'invalid id: Cosmos DB ids are 1-255 characters without / \\ ? #';
  const parsed = notificationRecordSchema.safeParse(record);
  return parsed.success ? parsed.data : `invalid record: ${issuePaths(parsed.error.issues)}`;
}
export type LeaseDocumentBody = z.infer<typeof leaseDocumentSchema>;

const counts = z.record(z.string(), z.number());

const knownSkipReasons: ReadonlySet<string> = new Set(SKIP_REASONS);

/**
 * Skip counts keyed by reason. A reason this version does not know (written by another version)
 * is dropped rather than failing the whole record.
 */
const skippedByReason = counts.transform((value) => {
  const known: Partial<Record<SkipReason, number>> = {};
  for (const [reason, count] of Object.entries(value)) {
    if (knownSkipReasons.has(reason)) known[reason as SkipReason] = count;
  }
  return known;
});

export const runReportSchema = z.object({
  runId: z.string(),
  status: z.enum(['completed', 'failed', 'unit-busy']),
  dryRun: z.boolean(),
  trigger: z.enum(['timer', 'http', 'cli']),
  operatingUnitNumber: z.string(),
  channelId: z.number().int().optional(),
  window: z.object({
    from: z.string(),
    to: z.string(),
    source: z.enum(['checkpoint', 'include-minutes', 'request']),
  }),
  pages: z.number(),
  carts: z.object({
    seen: z.number(),
    eligible: z.number(),
    notified: z.number(),
    failed: z.number(),
    providerDown: z.number().optional(),
    skipped: z.number(),
    skippedByReason,
  }),
  lines: z.object({ dropped: z.number(), droppedByReason: counts }),
  // Added after the first release: records written before it read as zero.
  invalidRecords: z.object({ customers: z.number(), products: z.number() }).default({ customers: 0, products: 0 }),
  failures: z.array(z.object({ reason: z.string(), count: z.number() })),
  failuresByDependency: z.record(z.string(), z.number()).default({}),
  calls: counts,
  retries: counts,
  checkpoint: z.object({ lastModifiedAt: z.string(), cartIdsAtLastModified: z.number() }).optional(),
  remaining: z.object({ from: z.string(), to: z.string() }).optional(),
  error: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
}) satisfies z.ZodType<RunReport>;

/** Seconds in a day, for turning the configured retention into a Cosmos DB `ttl`. */
export const SECONDS_PER_DAY = 86_400;

/** Two records are the same write when every field matches (key order and absent fields aside). */
export function sameNotification(a: NotificationRecord, b: NotificationRecord): boolean {
  return canonicalJson(notificationRecordSchema.parse(a)) === canonicalJson(notificationRecordSchema.parse(b));
}

function canonicalJson(record: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => [key, record[key]]),
  );
}
