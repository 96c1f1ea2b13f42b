import type { NotificationRecord, StoredNotification, WriteResult } from '../store/ledger';
import { NotificationReads } from '../store/ledger';
import type { Candidate, PageContext, Ready, Unanswered } from './page-context';
import type { PageTally } from './page-tally';
import { newRecord, verdictOnConflict } from './notification-records';
import { ProblemSummary } from '../shared/problem-summary';

/** A reminder this run has claimed, and the etag its outcome is written against. */
export interface Owned {
  item: Ready;
  record: NotificationRecord;
  etag: string;
}

/**
 * Steps 4 and 5 of a page (docs/how-it-works.md, section 5): what the ledger records before the
 * send, and which reminders this run owns.
 *
 * One bulk create: a claim per reminder, a `skipped` (superseded) record per superseded cart, a
 * retryable `failed` record per cart whose lookup failed. Carts new to the ledger (nearly all,
 * since a run starts at the checkpoint) cost that one write and no read. For the carts the ledger
 * already had: one bulk read of just those, and etag-checked replaces of the records this run may
 * take over (a stale claim, a retryable failure), so that of two runs only one wins.
 */
export async function claimPage(
  page: { ready: readonly Ready[]; superseded: readonly Candidate[]; unanswered: readonly Unanswered[] },
  context: PageContext,
  tally: PageTally,
): Promise<Owned[]> {
  const { ready, superseded, unanswered } = page;
  const now = context.now.toISOString();
  const claimRecords = ready.map((item) => newRecord(item.cart, item.id, context, now, { status: 'claimed', attempts: 1 }));
  const supersededRecords = superseded.map(({ cart, id }) => newRecord(cart, id, context, now, { status: 'skipped', reason: 'superseded' }));
  const unansweredRecords = unanswered.map(({ cart, id, reason }) => newRecord(cart, id, context, now, { status: 'failed', reason, retryable: true, attempts: 1 }));
  const toCreate = [...claimRecords, ...supersededRecords, ...unansweredRecords];
  const created = new Map((toCreate.length > 0 ? await context.ledger.createNotifications(toCreate, context.store) : []).map((result) => [result.id, result]));

  const conflicts = [...created.values()].filter((result) => result.status === 'conflict').map((result) => result.id);
  const existing = conflicts.length > 0 ? await context.ledger.getNotifications(conflicts, context.store) : new NotificationReads();
  // Cosmos DB refusing claims (throttled past its retries, say) fails every cart it refused, which
  // the report counts; a run that still completes must say so at warn too, once a page.
  const refused = new ProblemSummary();
  // A cart whose record the ledger could not read back (throttled past its retries): this run
  // cannot tell whether it may act on it, so it fails for the run and a later run looks again.
  const failUnread = (cart: Candidate['cart'], reason: string) => {
    tally.fail(cart, `ledger: ${reason}`, 'store', false);
    refused.add(reason, cart.Id);
  };

  // A superseded cart recorded before: sent when it was still the customer's latest cart, settled
  // already, claimed by a run working it now, or left for a later run (a retryable failure, a stale
  // claim). That last kind is recorded superseded now, against its etag, so that no later run (a
  // rerun over an outage, say) reminds the customer of the older cart after the newer one.
  const superseding: { item: Candidate; update: StoredNotification }[] = [];
  for (const item of superseded) {
    const result = created.get(item.id);
    if (result?.status !== 'conflict') {
      tally.skip(item.cart, 'superseded', result?.status === 'ok');
      continue;
    }
    const verdict = verdictOnConflict(item.id, existing, context);
    if (verdict.act === 'unknown') {
      // Not an eligible cart, so not a failed one: skipped, not for good, with why in the failures.
      tally.skip(item.cart, 'superseded', false);
      tally.counters.countFailureReason(`ledger: ${verdict.reason}`, 'store');
      refused.add(verdict.reason, item.cart.Id);
    } else if (verdict.act === 'take-over') {
      const { stored } = verdict;
      const record: NotificationRecord = { ...stored.record, status: 'skipped', reason: 'superseded', retryable: undefined, runId: context.runId, updatedAt: now };
      superseding.push({ item, update: { record, etag: stored.etag } });
    } else {
      // Sent before it was superseded, settled, or another run's now (final or not, as the verdict says).
      tally.skip(item.cart, verdict.reason === 'already-notified' ? 'already-notified' : 'superseded', verdict.final);
    }
  }
  if (superseding.length > 0) {
    const replaced = new Map((await context.ledger.replaceNotifications(superseding.map(({ update }) => update), context.store)).map((result) => [result.id, result]));
    // A record that changed meanwhile (another run took it over) is looked at again by a later run.
    for (const { item } of superseding) tally.skip(item.cart, 'superseded', replaced.get(item.id)?.status === 'ok');
  }

  const owned: Owned[] = [];
  const claimFailed = (item: Ready, result: WriteResult | undefined) => {
    const reason = result?.status === 'error' ? result.reason : 'no result for the claim';
    tally.fail(item.cart, `ledger: ${reason}`, 'store', false);
    refused.add(reason, item.cart.Id);
  };

  // Reminders: the claim made, or a record to take over with another attempt counted.
  const takeOvers: { item: Ready; update: StoredNotification }[] = [];
  for (const [index, item] of ready.entries()) {
    const result = created.get(item.id);
    if (result?.status === 'ok') owned.push({ item, record: claimRecords[index] as NotificationRecord, etag: result.etag });
    else if (result?.status !== 'conflict') claimFailed(item, result);
    else {
      const verdict = verdictOnConflict(item.id, existing, context);
      if (verdict.act === 'unknown') failUnread(item.cart, verdict.reason);
      else if (verdict.act === 'skip') tally.notOwned(item.cart, verdict.reason, verdict.final);
      else {
        const { stored } = verdict;
        const record: NotificationRecord = { ...stored.record, status: 'claimed', reason: undefined, retryable: undefined, runId: context.runId, attempts: stored.record.attempts + 1, claimedAt: now, updatedAt: now };
        takeOvers.push({ item, update: { record, etag: stored.etag } });
      }
    }
  }

  // Lookup failures: the failure recorded, or a record to take over (an earlier lookup failure, a
  // stale claim) replaced by one with another attempt counted. After MaxSendAttempts it is final
  // and the checkpoint moves past it.
  const failures: { item: Unanswered; record: NotificationRecord; written?: WriteResult | undefined }[] = [];
  const failuresToReplace: { item: Unanswered; update: StoredNotification }[] = [];
  for (const [index, item] of unanswered.entries()) {
    const result = created.get(item.id);
    if (result?.status !== 'conflict') {
      failures.push({ item, record: unansweredRecords[index] as NotificationRecord, written: result });
      continue;
    }
    const verdict = verdictOnConflict(item.id, existing, context);
    if (verdict.act === 'unknown') failUnread(item.cart, verdict.reason);
    else if (verdict.act === 'skip') tally.notOwned(item.cart, verdict.reason, verdict.final);
    else {
      const { stored } = verdict;
      const record: NotificationRecord = { ...stored.record, status: 'failed', reason: item.reason, retryable: true, runId: context.runId, attempts: stored.record.attempts + 1, claimedAt: now, updatedAt: now };
      failuresToReplace.push({ item, update: { record, etag: stored.etag } });
    }
  }

  // Take-overs and lookup failures in one bulk replace.
  const replacements = [...takeOvers, ...failuresToReplace].map(({ update }) => update);
  if (replacements.length > 0) {
    const replaced = new Map((await context.ledger.replaceNotifications(replacements, context.store)).map((result) => [result.id, result]));
    for (const { item, update } of takeOvers) {
      const result = replaced.get(item.id);
      if (result?.status === 'ok') owned.push({ item, record: update.record, etag: result.etag });
      else if (result?.status === 'conflict') tally.notOwned(item.cart, 'claimed-by-another-run', false);
      else claimFailed(item, result);
    }
    for (const { item, update } of failuresToReplace) {
      const result = replaced.get(item.id);
      if (result?.status === 'conflict') tally.notOwned(item.cart, 'claimed-by-another-run', false);
      else failures.push({ item, record: update.record, written: result });
    }
  }
  for (const { item, record, written } of failures) {
    const landed = written?.status === 'ok';
    tally.fail(item.cart, item.reason, 'retail', landed && record.attempts >= context.maxSendAttempts);
    if (!landed) {
      const reason = written?.status === 'error' ? written.reason : 'no result for the record';
      tally.counters.countFailureReason(`ledger: ${reason}`, 'store');
      refused.add(reason, item.cart.Id);
    }
  }
  refused.log(context.logger, 'warn', 'Cosmos DB failed the claims of carts; they fail for this run, and a later run tries them again');
  return owned;
}
