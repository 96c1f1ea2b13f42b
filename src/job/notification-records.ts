import type { NotificationOutcome } from '../providers/email-provider';
import type { Cart } from '../retail/models';
import type { NotificationReads, NotificationRecord, StoredNotification } from '../store/ledger';
import type { PageContext } from './page-context';
import type { SkipReason } from './report';

/**
 * What a run does about a cart the ledger has a record of: take it over, or leave it (and whether
 * for good); `unknown` when its record could not be read (the cart fails for the run, not for good).
 */
export type Verdict =
  | { act: 'take-over'; stored: StoredNotification }
  | { act: 'skip'; reason: SkipReason; final: boolean }
  | { act: 'unknown'; reason: string };

type Limits = Pick<PageContext, 'now' | 'claimTimeoutMs' | 'maxSendAttempts'>;

/** What the ledger says about a cart already recorded, and whether this run should act on it. */
function classifyExisting(stored: StoredNotification, context: Limits): Verdict {
  const { record } = stored;
  switch (record.status) {
    case 'sent':
      return { act: 'skip', reason: 'already-notified', final: true };
    case 'skipped':
      return { act: 'skip', reason: 'already-handled', final: true };
    case 'failed':
      return record.retryable && record.attempts < context.maxSendAttempts
        ? { act: 'take-over', stored }
        : { act: 'skip', reason: 'already-handled', final: true };
    case 'claimed': {
      const claimedAt = Date.parse(record.claimedAt);
      const stale = Number.isNaN(claimedAt) || context.now.getTime() - claimedAt >= context.claimTimeoutMs;
      return stale ? { act: 'take-over', stored } : { act: 'skip', reason: 'claimed-by-another-run', final: false };
    }
  }
}

/**
 * The verdict on a cart whose claim met an existing record, from the bulk read of those records.
 * A record whose read failed past its retries is `unknown`: the cart fails for this run. A record
 * this version cannot read (a newer version's, or edited by hand) means someone handled
 * the cart: waiting for it would hold the checkpoint back until the record expires. A record gone
 * between the create and the read (expired) is left to the next run.
 */
export function verdictOnConflict(id: string, existing: NotificationReads, context: Limits): Verdict {
  const failure = existing.failed.get(id);
  if (failure !== undefined) return { act: 'unknown', reason: failure };
  if (existing.unreadable.has(id)) return { act: 'skip', reason: 'already-handled', final: true };
  const stored = existing.get(id);
  if (!stored) return { act: 'skip', reason: 'claimed-by-another-run', final: false };
  return classifyExisting(stored, context);
}

export function newRecord(
  cart: Cart,
  id: string,
  context: Pick<PageContext, 'runId' | 'operatingUnitNumber'>,
  now: string,
  fields: Pick<NotificationRecord, 'status'> & Partial<NotificationRecord>,
): NotificationRecord {
  return {
    id,
    type: 'notification',
    operatingUnitNumber: context.operatingUnitNumber,
    cartId: cart.Id,
    cartModifiedAt: cart.ModifiedDateTime.toISOString(),
    customerId: cart.CustomerId ?? '',
    runId: context.runId,
    attempts: 0,
    claimedAt: now,
    updatedAt: now,
    ...fields,
  };
}

/**
 * The claim with its outcome. Every field is written out: a spread of the record, a thousand
 * times a page, was the page's costliest line.
 */
export function withOutcome(claim: NotificationRecord, outcome: NotificationOutcome, updatedAt: string): NotificationRecord {
  const sent = outcome.status === 'sent';
  return {
    id: claim.id,
    type: claim.type,
    operatingUnitNumber: claim.operatingUnitNumber,
    cartId: claim.cartId,
    cartModifiedAt: claim.cartModifiedAt,
    customerId: claim.customerId,
    status: outcome.status,
    reason: sent ? claim.reason : outcome.reason,
    retryable: sent ? claim.retryable : outcome.retryable,
    runId: claim.runId,
    // A provider outage is not one of the reminder's attempts: the claim counted one, given back.
    attempts: outcome.status === 'failed' && outcome.outage === true ? Math.max(0, claim.attempts - 1) : claim.attempts,
    claimedAt: claim.claimedAt,
    updatedAt,
    sentAt: sent ? updatedAt : claim.sentAt,
    providerMessageId: sent ? outcome.providerMessageId : claim.providerMessageId,
  };
}
