import type { ViewPortImageCache } from '../enrich/images';
import { activeLines, buildNotificationData, type PayloadSettings } from '../enrich/payload';
import type { IEmailProvider, Notification, NotificationOutcome } from '../providers/email-provider';
import type { Cart, ChannelConfiguration, Customer } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import type { NotificationCallOptions, NotificationLedger, NotificationRecord, StoredNotification, WriteResult } from '../store/ledger';
import { NotificationReads, notificationId } from '../store/ledger';
import { toError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { PageCart } from './cart-pages';
import { accountNumberOf, checkCart } from './eligibility';
import type { LatestCarts } from './latest-carts';
import type { ProductCache } from './product-cache';
import type { SkipReason } from './report';
import type { RunCounters } from './run-counters';

export interface PageContext {
  runId: string;
  now: Date;
  window: { from: Date; to: Date };
  channel: ChannelConfiguration;
  operatingUnitNumber: string;
  includeAnonymous: boolean;
  claimTimeoutMs: number;
  maxSendAttempts: number;
  dryRun: boolean;
  payload: PayloadSettings;
  /** The run's image URLs per product image, built from `payload`'s settings. */
  images?: ViewPortImageCache | undefined;
  /** The latest eligible cart of each customer in the window, found by the survey pass. */
  latestCarts: Pick<LatestCarts, 'isLatest'>;
  /** Products already read in this run (null: not found), shared by its pages. */
  productCache: ProductCache;
  retail: Pick<RetailServerClient, 'getCustomers' | 'getProducts'>;
  ledger: NotificationLedger;
  provider: IEmailProvider;
  logger: Logger;
  counters: RunCounters;
  /** The sample's call pattern: every step awaited in turn, nothing overlapped (for comparison). */
  sequential: boolean;
  /** The page's place in the window: its Retail Server calls wait behind those of older pages. */
  priority?: number | undefined;
  /** Passed to every ledger call: past the run's time limit (and a minute more) writes are not retried. */
  store?: NotificationCallOptions | undefined;
  /** Passed to the provider: past it (the run's time limit and a minute more) sends are not retried. */
  sendDeadline?: Date | undefined;
  /**
   * Called right before the page claims anything (after its Retail Server lookups, which may take
   * long): renews the run's lease when due and returns the time to stamp the claims with, so that a
   * claim's `claimedAt` is when it was made and the lease covers it for a whole ClaimTimeoutMinutes.
   */
  beforeClaim?: (() => Promise<Date>) | undefined;
}

/** A cart of the page and whether its outcome is final; the checkpoint is moved from these, in order. */
export interface PageObservation {
  cartId: string;
  modifiedAt: Date;
  final: boolean;
}

interface Candidate {
  cart: Cart;
  id: string;
}

interface Ready extends Candidate {
  notification: Notification;
}

interface Unanswered extends Candidate {
  /** Why Retail Server could not look up its customer or one of its products. */
  reason: string;
}

/**
 * Why the cart cannot be built because Retail Server failed to look up its customer or one of its
 * products (and only those: the lookup found the rest), if it cannot.
 */
function lookupFailureOf(cart: Cart, account: string | undefined, customerFailures: ReadonlyMap<string, string>, productCache: ProductCache): string | undefined {
  const customerFailure = account === undefined ? undefined : customerFailures.get(account.toLowerCase());
  if (customerFailure !== undefined) return `Retail Server: the customer lookup fails for this customer (${customerFailure})`;
  for (const line of activeLines(cart)) {
    const productFailure = productCache.failure(line.ProductId);
    if (productFailure !== undefined) return `Retail Server: the product lookup fails for product ${line.ProductId} (${productFailure})`;
  }
  return undefined;
}

/** What the ledger says about a cart already recorded, and whether this run should act on it. */
function classifyExisting(stored: StoredNotification, context: PageContext): { act: 'take-over' } | { act: 'skip'; reason: SkipReason; final: boolean } {
  const { record } = stored;
  switch (record.status) {
    case 'sent':
      return { act: 'skip', reason: 'already-notified', final: true };
    case 'skipped':
      return { act: 'skip', reason: 'already-handled', final: true };
    case 'failed':
      return record.retryable && record.attempts < context.maxSendAttempts
        ? { act: 'take-over' }
        : { act: 'skip', reason: 'already-handled', final: true };
    case 'claimed': {
      const claimedAt = Date.parse(record.claimedAt);
      const stale = Number.isNaN(claimedAt) || context.now.getTime() - claimedAt >= context.claimTimeoutMs;
      return stale ? { act: 'take-over' } : { act: 'skip', reason: 'claimed-by-another-run', final: false };
    }
  }
}

function newRecord(cart: Cart, id: string, context: PageContext, now: string, fields: Pick<NotificationRecord, 'status'> & Partial<NotificationRecord>): NotificationRecord {
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
 * A dry run's tallies: a reminder the ledger already settled becomes a skip, as the conflict of a
 * real run's claim would make it, and so does a cart whose lookup failed; the rest of those fail,
 * as in a real run. One bulk read, no write.
 */
async function tallyDryRun(ready: readonly Candidate[], superseded: readonly Candidate[], unanswered: readonly Unanswered[], context: PageContext): Promise<void> {
  const { counters } = context;
  const ids = [...ready, ...superseded, ...unanswered].map((candidate) => candidate.id);
  const existing = ids.length > 0 ? await context.ledger.getNotifications(ids, context.store) : new NotificationReads();
  const verdictOn = (id: string) => {
    const stored = existing.get(id);
    if (existing.unreadable.has(id)) return { act: 'skip', reason: 'already-handled', final: true } as const;
    return stored ? classifyExisting(stored, context) : undefined;
  };
  for (const { id } of superseded) counters.skip(existing.get(id)?.record.status === 'sent' ? 'already-notified' : 'superseded');
  for (const { id } of ready) {
    const verdict = verdictOn(id);
    if (verdict?.act === 'skip') {
      counters.eligible--;
      counters.skip(verdict.reason);
    }
  }
  for (const { id, reason } of unanswered) {
    const verdict = verdictOn(id);
    if (verdict?.act === 'skip') {
      counters.eligible--;
      counters.skip(verdict.reason);
    } else {
      counters.failed++;
      counters.fail(reason, 'retail');
    }
  }
}

/**
 * The claim with its outcome. Every field is written out: a spread of the record, a thousand
 * times a page, was the page's costliest line.
 */
function withOutcome(claim: NotificationRecord, outcome: NotificationOutcome, updatedAt: string): NotificationRecord {
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
    attempts: claim.attempts,
    claimedAt: claim.claimedAt,
    updatedAt,
    sentAt: sent ? updatedAt : claim.sentAt,
    providerMessageId: sent ? outcome.providerMessageId : claim.providerMessageId,
  };
}

function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/**
 * One page of carts, in a constant number of round trips whatever its size: one customer and one
 * product lookup per chunk of distinct ids (in parallel), one bulk claim by create, one provider
 * batch per BatchSize, one bulk outcome write; and, only for carts the ledger already had, one
 * bulk read and one bulk replace. Every cart ends in exactly one tally.
 */
export async function processPage(page: readonly PageCart[], pageContext: PageContext): Promise<PageObservation[]> {
  let context = pageContext;
  const { counters, logger } = context;
  const observations: PageObservation[] = [];
  /** Independent calls run together, unless the sequential strategy asks for one after another. */
  const both = async <A, B>(first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> =>
    context.sequential ? [await first(), await second()] : Promise.all([first(), second()]);
  const settle = (cart: Pick<Cart, 'Id' | 'ModifiedDateTime'>, final: boolean) =>
    observations.push({ cartId: cart.Id, modifiedAt: cart.ModifiedDateTime, final });
  const skip = (cart: Cart, reason: SkipReason, final = true) => {
    counters.skip(reason);
    settle(cart, final);
  };

  // 1. The checks that need nothing but the cart.
  const candidates: Candidate[] = [];
  const superseded: Candidate[] = [];
  const seenIds = new Set<string>();
  const checks = { ...context.window, includeAnonymous: context.includeAnonymous };
  for (const { key, cart: parsed } of page) {
    counters.seen++;
    if (!parsed.ok) {
      counters.skip('invalid-record');
      logger.warn('Skipped a cart record that does not parse', { cartId: key?.id, reason: parsed.reason });
      if (key) settle({ Id: key.id, ModifiedDateTime: key.modifiedAt }, true);
      continue;
    }
    const cart = parsed.value;
    if (cart.invalidLineCount > 0) counters.dropLines(Array<string>(cart.invalidLineCount).fill('invalid-line'));
    const reason = checkCart(cart, checks);
    if (reason) {
      skip(cart, reason);
      continue;
    }
    const id = notificationId(cart.Id, cart.ModifiedDateTime);
    // Retail Server repeating a cart on a page must not make the run claim it twice (its own
    // second claim would meet its first as a conflict): the first copy decides.
    if (seenIds.has(id)) {
      counters.skip('duplicate-record');
      continue;
    }
    seenIds.add(id);
    (context.latestCarts.isLatest(cart) ? candidates : superseded).push({ cart, id });
  }

  // 2. Customers and products for the whole page, each distinct id once, in parallel.
  const accountNumbers = distinct(candidates.flatMap(({ cart }) => accountNumberOf(cart) ?? []));
  const productIds = distinct(candidates.flatMap(({ cart }) => activeLines(cart).map((line) => line.ProductId)));
  // The sample's pattern reads the chunks of a lookup one after another too.
  const lookup = { concurrency: context.sequential ? 1 : undefined, priority: context.priority };
  const [customerResult] = await both(
    async () => (accountNumbers.length > 0 ? context.retail.getCustomers(accountNumbers, lookup) : { customers: [] as Customer[], invalid: [], failed: [] }),
    async () =>
      context.productCache.load(productIds, async (ids) => {
        const found = await context.retail.getProducts(ids, context.channel.RecordId, lookup);
        counters.invalidProducts += found.invalid.length;
        for (const { reason } of found.invalid) logger.warn('Skipped a product record that does not parse', { reason });
        for (const { id, reason } of found.failed) logger.warn('Retail Server fails every lookup of this product; its carts fail for now', { productId: id, reason });
        return found;
      }),
  );
  counters.invalidCustomers += customerResult.invalid.length;
  for (const { reason } of customerResult.invalid) logger.warn('Skipped a customer record that does not parse', { reason });
  const customers = new Map(customerResult.customers.map((customer) => [customer.AccountNumber.toLowerCase(), customer]));
  const customerFailures = new Map(customerResult.failed.map(({ id, reason }) => [id.toLowerCase(), reason]));
  for (const { id, reason } of customerResult.failed) logger.warn('Retail Server fails every lookup of this customer; their cart fails for now', { accountNumber: id, reason });
  const products = new Map(productIds.flatMap((id) => {
    const product = context.productCache.get(id);
    return product ? [[id, product] as const] : [];
  }));

  // 3. Build each reminder. A cart that turns out ineligible is tallied and costs no store operation.
  const ready: Ready[] = [];
  /** Carts whose customer or a product Retail Server could not look up: they fail, retryably. */
  const unanswered: Unanswered[] = [];
  for (const candidate of candidates) {
    const { cart } = candidate;
    let customer: Customer | undefined;
    let email: string | undefined;
    const account = accountNumberOf(cart);
    const lookupFailure = lookupFailureOf(cart, account, customerFailures, context.productCache);
    if (lookupFailure) {
      unanswered.push({ ...candidate, reason: lookupFailure });
      continue;
    }
    if (account) {
      customer = customers.get(account.toLowerCase());
      if (!customer) {
        skip(cart, 'customer-not-found');
        continue;
      }
      email = customer.Email?.trim();
      if (!email) {
        skip(cart, 'customer-without-email');
        continue;
      }
    } else {
      email = cart.ReceiptEmail?.trim() ?? '';
    }
    const result = buildNotificationData({ cart, email, customer, products, channel: context.channel, settings: context.payload, images: context.images });
    counters.dropLines(result.droppedLines);
    if (!result.ok) {
      skip(cart, result.reason);
      continue;
    }
    // Written out: a spread of the candidate, a thousand times a page, showed in the profile.
    ready.push({ cart: candidate.cart, id: candidate.id, notification: { triggerId: candidate.id, email, data: result.data } });
  }
  counters.eligible += ready.length + unanswered.length;

  if (context.dryRun) {
    // A dry run reads what the ledger knows and writes nothing: no claims, no sends, no checkpoint.
    // Its observations only say how far it read (what a dry run stopped by its time limit left).
    await tallyDryRun(ready, superseded, unanswered, context);
    for (const { cart } of [...ready, ...superseded, ...unanswered]) settle(cart, true);
    return inTimeOrder(observations);
  }

  // 4. Claim by atomic create, in one bulk call: a claim per reminder, a skipped record per
  //    superseded cart. Carts new to the ledger (nearly all, since a run starts at the checkpoint)
  //    cost that one write and no read.
  if (context.beforeClaim) context = { ...context, now: await context.beforeClaim() };
  const now = context.now.toISOString();
  const claimRecords = ready.map((item) => newRecord(item.cart, item.id, context, now, { status: 'claimed', attempts: 1 }));
  const supersededRecords = superseded.map(({ cart, id }) => newRecord(cart, id, context, now, { status: 'skipped', reason: 'superseded' }));
  const unansweredRecords = unanswered.map(({ cart, id, reason }) => newRecord(cart, id, context, now, { status: 'failed', reason, retryable: true, attempts: 1 }));
  const toCreate = [...claimRecords, ...supersededRecords, ...unansweredRecords];
  const created = new Map((toCreate.length > 0 ? await context.ledger.createNotifications(toCreate, context.store) : []).map((result) => [result.id, result]));

  // 5. The carts the ledger already had: one bulk read of just those, then an etag-checked replace
  //    of each record this run may take over (a stale claim, a retryable failure).
  const conflicts = [...created.values()].filter((result) => result.status === 'conflict').map((result) => result.id);
  const existing = conflicts.length > 0 ? await context.ledger.getNotifications(conflicts, context.store) : new NotificationReads();

  // A superseded cart recorded before: sent when it was still the customer's latest cart, settled
  // already, claimed by a run working it now, or left for a later run (a retryable failure, a stale
  // claim). That last kind is recorded superseded now, against its etag, so that no later run (a
  // rerun over an outage, say) reminds the customer of the older cart after the newer one.
  const superseding: { cart: Cart; update: StoredNotification }[] = [];
  for (const { cart, id } of superseded) {
    const result = created.get(id);
    if (result?.status !== 'conflict') {
      skip(cart, 'superseded', result?.status === 'ok');
      continue;
    }
    const stored = existing.get(id);
    const verdict = stored ? classifyExisting(stored, context) : undefined;
    if (stored && verdict?.act === 'take-over') {
      const record: NotificationRecord = { ...stored.record, status: 'skipped', reason: 'superseded', retryable: undefined, runId: context.runId, updatedAt: now };
      superseding.push({ cart, update: { record, etag: stored.etag } });
    } else if (stored?.record.status === 'claimed') {
      skip(cart, 'superseded', false);
    } else {
      skip(cart, stored?.record.status === 'sent' ? 'already-notified' : 'superseded');
    }
  }
  if (superseding.length > 0) {
    const replaced = await context.ledger.replaceNotifications(
      superseding.map(({ update }) => update),
      context.store,
    );
    const byId = new Map(replaced.map((result) => [result.id, result]));
    // A record that changed meanwhile (another run took it over) is looked at again by a later run.
    for (const { cart, update } of superseding) skip(cart, 'superseded', byId.get(update.record.id)?.status === 'ok');
  }

  const owned: { item: Ready; record: NotificationRecord; etag: string }[] = [];
  const takeOvers: { item: Ready; update: StoredNotification }[] = [];
  const notOwned = (item: Candidate, reason: SkipReason, final: boolean) => {
    counters.eligible--;
    skip(item.cart, reason, final);
  };
  const claimFailed = (item: Ready, result: WriteResult | undefined) => {
    counters.failed++;
    counters.fail(`ledger: ${result?.status === 'error' ? result.reason : 'no result for the claim'}`, 'store');
    settle(item.cart, false);
  };
  for (const [index, item] of ready.entries()) {
    const result = created.get(item.id);
    if (result?.status === 'ok') {
      owned.push({ item, record: claimRecords[index] as NotificationRecord, etag: result.etag });
      continue;
    }
    if (result?.status !== 'conflict') {
      claimFailed(item, result);
      continue;
    }
    const stored = existing.get(item.id);
    const verdict = stored ? classifyExisting(stored, context) : undefined;
    if (existing.unreadable.has(item.id)) {
      // A record this version cannot read (a newer version's, or edited by hand): someone handled
      // the cart. Waiting for it would hold the checkpoint back until the record expires.
      notOwned(item, 'already-handled', true);
    } else if (!stored || !verdict) {
      // Gone between the create and the read (expired): leave it to the next run.
      notOwned(item, 'claimed-by-another-run', false);
    } else if (verdict.act === 'skip') {
      notOwned(item, verdict.reason, verdict.final);
    } else {
      takeOvers.push({
        item,
        update: {
          record: { ...stored.record, status: 'claimed', reason: undefined, retryable: undefined, runId: context.runId, attempts: stored.record.attempts + 1, claimedAt: now, updatedAt: now },
          etag: stored.etag,
        },
      });
    }
  }

  // A cart whose lookup failed: its failure recorded, or a record it may take over (an earlier
  // lookup failure, a stale claim) replaced by one with another attempt counted. After
  // MaxSendAttempts it is final, and the checkpoint moves past it.
  const failuresToRecord: { item: Unanswered; record: NotificationRecord; written?: WriteResult | undefined }[] = [];
  const failuresToReplace: { item: Unanswered; update: StoredNotification }[] = [];
  for (const [index, item] of unanswered.entries()) {
    const result = created.get(item.id);
    if (result?.status !== 'conflict') {
      failuresToRecord.push({ item, record: unansweredRecords[index] as NotificationRecord });
      continue;
    }
    const stored = existing.get(item.id);
    const verdict = stored ? classifyExisting(stored, context) : undefined;
    if (existing.unreadable.has(item.id)) notOwned(item, 'already-handled', true);
    else if (!stored || !verdict) notOwned(item, 'claimed-by-another-run', false);
    else if (verdict.act === 'skip') notOwned(item, verdict.reason, verdict.final);
    else {
      const record: NotificationRecord = {
        ...stored.record,
        status: 'failed',
        reason: item.reason,
        retryable: true,
        runId: context.runId,
        attempts: stored.record.attempts + 1,
        claimedAt: now,
        updatedAt: now,
      };
      failuresToReplace.push({ item, update: { record, etag: stored.etag } });
    }
  }

  // Take-overs and lookup failures in one bulk replace.
  const replacements = [...takeOvers.map(({ update }) => update), ...failuresToReplace.map(({ update }) => update)];
  if (replacements.length > 0) {
    const replaced = new Map((await context.ledger.replaceNotifications(replacements, context.store)).map((result) => [result.id, result]));
    for (const { item, update } of takeOvers) {
      const result = replaced.get(item.id);
      if (result?.status === 'ok') owned.push({ item, record: update.record, etag: result.etag });
      else if (result?.status === 'conflict') notOwned(item, 'claimed-by-another-run', false);
      else claimFailed(item, result);
    }
    for (const { item, update } of failuresToReplace) {
      const result = replaced.get(item.id);
      if (result?.status === 'conflict') notOwned(item, 'claimed-by-another-run', false);
      else failuresToRecord.push({ item, record: update.record, written: result });
    }
  }
  for (const { item, record, written } of failuresToRecord) {
    const landed = written === undefined ? created.get(item.id) : written;
    counters.failed++;
    counters.fail(item.reason, 'retail');
    if (landed?.status !== 'ok') counters.fail(`ledger: ${landed?.status === 'error' ? landed.reason : 'no result for the record'}`, 'store');
    settle(item.cart, landed?.status === 'ok' && record.attempts >= context.maxSendAttempts);
  }

  // 6. Send what this run owns.
  let outcomes: NotificationOutcome[] = [];
  if (owned.length > 0) {
    try {
      outcomes = await context.provider.send(
        owned.map(({ item }) => item.notification),
        { deadline: context.sendDeadline },
      );
    } catch (error) {
      const reason = `${context.provider.name}: ${toError(error).message}`;
      outcomes = owned.map(({ item }) => ({ triggerId: item.id, status: 'failed', reason, retryable: true }));
    }
  }
  const outcomeById = new Map(outcomes.map((outcome) => [outcome.triggerId, outcome]));

  // 7. Record each outcome against the claim's etag, so a run that took the claim over wins.
  const updates: StoredNotification[] = owned.map(({ item, record, etag }) => {
    const outcome: NotificationOutcome = outcomeById.get(item.id) ?? {
      triggerId: item.id,
      status: 'failed',
      reason: `${context.provider.name}: no outcome returned`,
      retryable: true,
    };
    return { etag, record: withOutcome(record, outcome, now) };
  });
  const written = updates.length > 0 ? await context.ledger.replaceNotifications(updates, context.store) : [];
  const writeById = new Map(written.map((result) => [result.id, result]));
  const cartById = new Map(owned.map(({ item }) => [item.id, item.cart]));
  for (const { record } of updates) {
    const cart = cartById.get(record.id) as Cart;
    const write = writeById.get(record.id);
    if (record.status === 'sent') counters.notified++;
    else {
      counters.failed++;
      counters.fail(record.reason ?? 'unknown', 'provider');
    }
    if (write?.status !== 'ok') {
      // The send happened but the ledger does not know: the claim stays, the checkpoint waits, and
      // a run after the claim timeout settles it (resending with the same trigger id).
      counters.fail(`ledger: outcome not recorded (${write?.status === 'error' ? write.reason : (write?.status ?? 'no answer')})`, 'store');
      logger.warn('The outcome of a reminder could not be recorded; a later run will settle it', {
        notificationId: record.id,
        cartId: record.cartId,
        write: write?.status ?? 'missing',
      });
    }
    const final = write?.status === 'ok' && (record.status === 'sent' || !record.retryable || record.attempts >= context.maxSendAttempts);
    settle(cart, final);
  }

  // 8. The checkpoint may move past every cart settled for good, in time order.
  return inTimeOrder(observations);
}

/**
 * Carts at one instant may come in any order (the checkpoint keeps their ids as a set); plain
 * comparison, since localeCompare a thousand times a page showed in the profile.
 */
function inTimeOrder(observations: PageObservation[]): PageObservation[] {
  return observations.sort((a, b) => a.modifiedAt.getTime() - b.modifiedAt.getTime() || (a.cartId < b.cartId ? -1 : a.cartId > b.cartId ? 1 : 0));
}
