import { activeLines, buildNotificationData } from '../enrich/payload';
import type { NotificationOutcome } from '../providers/email-provider';
import type { Cart, Customer, Product } from '../retail/models';
import type { StoredNotification } from '../store/ledger';
import { NotificationReads, notificationId } from '../store/ledger';
import { toError } from '../shared/errors';
import type { PageCart } from './cart-pages';
import { claimPage, type Owned } from './claim-page';
import { accountNumberOf, checkCart } from './eligibility';
import { verdictOnConflict, withOutcome } from './notification-records';
import type { Candidate, PageContext, PageObservation, Ready, Unanswered } from './page-context';
import { PageTally } from './page-tally';
import { ProblemSummary } from '../shared/problem-summary';

export type { PageContext, PageObservation } from './page-context';

/**
 * One page of carts, in a constant number of round trips whatever its size: one customer and one
 * product lookup per chunk of distinct ids (in parallel), one bulk claim by create, one provider
 * batch per BatchSize, one bulk outcome write; and, only for carts the ledger already had, one
 * bulk read and one bulk replace. Every cart ends in exactly one tally. The steps are those of
 * docs/how-it-works.md, section 5.
 */
export async function processPage(page: readonly PageCart[], pageContext: PageContext): Promise<PageObservation[]> {
  let context = pageContext;
  const tally = new PageTally(context.counters);

  // 1. The checks that need nothing but the cart.
  const { candidates, superseded } = screen(page, context, tally);
  // 2. Customers and products for the whole page, each distinct id once.
  const found = await lookUp(candidates, context);
  // 3. Each reminder built. A cart that turns out ineligible is tallied and costs no store operation.
  const { ready, unanswered } = build(candidates, found, context, tally);

  if (context.dryRun) {
    // A dry run reads what the ledger knows and writes nothing: no claims, no sends, no checkpoint.
    // Its observations only say how far it read (what a dry run stopped by its time limit left).
    await tallyDryRun({ ready, superseded, unanswered }, context, tally);
    return tally.inTimeOrder();
  }

  // 4-5. Claims, in one bulk create (and, for carts the ledger had, a read and a replace). The
  //      lease is renewed first when due, and the claims are stamped with that time.
  if (context.beforeClaim) context = { ...context, now: await context.beforeClaim() };
  const owned = await claimPage({ ready, superseded, unanswered }, context, tally);
  // 6. Send what this run owns.
  const outcomes = await send(owned, context);
  // 7. Each outcome recorded against the claim's etag, so a run that took the claim over wins.
  await recordOutcomes(owned, outcomes, context, tally);
  // 8. The checkpoint may move past every cart settled for good, in time order.
  return tally.inTimeOrder();
}

/** Step 1: parse and check each cart; the page's latest carts of their customers, and the superseded ones. */
function screen(page: readonly PageCart[], context: PageContext, tally: PageTally): { candidates: Candidate[]; superseded: Candidate[] } {
  const { counters, logger } = context;
  const candidates: Candidate[] = [];
  const superseded: Candidate[] = [];
  const seenIds = new Set<string>();
  const checks = { ...context.window, includeAnonymous: context.includeAnonymous };
  // Logged per page, not per cart (see ProblemSummary).
  const unreadableCarts = new ProblemSummary();
  const invalidCarts = new ProblemSummary();
  for (const { key, cart: parsed, unreadable } of page) {
    counters.seen++;
    if (unreadable) {
      counters.skip('unreadable-record');
      unreadableCarts.add(parsed.ok ? 'no reason given' : parsed.reason);
      continue;
    }
    if (!parsed.ok) {
      counters.skip('invalid-record');
      invalidCarts.add(parsed.reason, key?.id);
      if (key) tally.settle({ Id: key.id, ModifiedDateTime: key.modifiedAt }, true);
      continue;
    }
    const cart = parsed.value;
    if (cart.invalidLineCount > 0) counters.dropLines(Array<string>(cart.invalidLineCount).fill('invalid-line'));
    const reason = checkCart(cart, checks);
    if (reason) {
      tally.skip(cart, reason);
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
  unreadableCarts.log(logger, 'warn', 'Skipped carts that Retail Server cannot load');
  invalidCarts.log(logger, 'warn', 'Skipped cart records that do not parse');
  return { candidates, superseded };
}

interface Found {
  customers: Map<string, Customer>;
  /** Account numbers (lower case) Retail Server failed every lookup of, and why. */
  customerFailures: Map<string, string>;
  products: Map<number, Product>;
  /** Product ids Retail Server failed every lookup of in this run, and why. */
  productFailures: ReadonlyMap<number, string>;
}

function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/**
 * Step 2: the page's distinct account numbers and the products the run has not read yet, customers
 * and products in parallel (one after another for the sample's call pattern).
 */
async function lookUp(candidates: readonly Candidate[], context: PageContext): Promise<Found> {
  const { counters, logger } = context;
  const accountNumbers = distinct(candidates.flatMap(({ cart }) => accountNumberOf(cart) ?? []));
  const productIds = distinct(candidates.flatMap(({ cart }) => activeLines(cart).map((line) => line.ProductId)));
  // The sample's pattern reads the chunks of a lookup one after another too.
  const lookup = { concurrency: context.sequential ? 1 : undefined, priority: context.priority };
  const readCustomers = async () =>
    accountNumbers.length > 0 ? context.retail.getCustomers(accountNumbers, lookup) : { customers: [] as Customer[], invalid: [], failed: [] };
  // Logged per page, not per record (see ProblemSummary). A product is read once a run, so its
  // problems are logged by the read that met them, as soon as it has: the page's customer lookup
  // may yet fail, and the read's results stay in the run's cache for the pages after it.
  const invalidCustomers = new ProblemSummary();
  const failedCustomers = new ProblemSummary();
  const readProducts = () =>
    context.productCache.load(productIds, async (ids) => {
      const read = await context.retail.getProducts(ids, context.channel.RecordId, lookup);
      counters.invalidProducts += read.invalid.length;
      const invalidProducts = new ProblemSummary();
      const failedProducts = new ProblemSummary();
      for (const { problem, record } of read.invalid) invalidProducts.add(problem, record);
      for (const { id, reason } of read.failed) failedProducts.add(reason, id);
      invalidProducts.log(logger, 'warn', 'Skipped product records that do not parse');
      failedProducts.log(logger, 'warn', 'Retail Server fails every lookup of these products; their carts fail for now');
      return read;
    });
  const [customerResult, productResult] = context.sequential ? [await readCustomers(), await readProducts()] : await bothSettled(readCustomers(), readProducts());

  counters.invalidCustomers += customerResult.invalid.length;
  for (const { problem, record } of customerResult.invalid) invalidCustomers.add(problem, record);
  for (const { id, reason } of customerResult.failed) failedCustomers.add(reason, id);
  invalidCustomers.log(logger, 'warn', 'Skipped customer records that do not parse');
  failedCustomers.log(logger, 'warn', 'Retail Server fails every lookup of these customers; their carts fail for now');
  return {
    // Keyed as `accountNumberOf` gives a cart's account number (trimmed), ignoring case as the lookup does.
    customers: new Map(customerResult.customers.map((customer) => [customer.AccountNumber.trim().toLowerCase(), customer])),
    customerFailures: new Map(customerResult.failed.map(({ id, reason }) => [id.trim().toLowerCase(), reason])),
    products: productResult.products,
    productFailures: productResult.failures,
  };
}

/**
 * Both results, once both calls have ended: when one fails, the other is not left running after the
 * page has failed (its requests, its retries, its log lines outliving the run); the first failure is thrown.
 */
async function bothSettled<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw toError(a.reason);
  if (b.status === 'rejected') throw toError(b.reason);
  return [a.value, b.value];
}

/**
 * Why the cart cannot be built because Retail Server failed to look up its customer or one of its
 * products (and only those: the lookup found the rest), if it cannot.
 */
function lookupFailureOf(cart: Cart, account: string | undefined, found: Found): string | undefined {
  const customerFailure = account === undefined ? undefined : found.customerFailures.get(account.toLowerCase());
  if (customerFailure !== undefined) return `Retail Server: the customer lookup fails for this customer (${customerFailure})`;
  for (const line of activeLines(cart)) {
    const productFailure = found.productFailures.get(line.ProductId);
    if (productFailure !== undefined) return `Retail Server: the product lookup fails for product ${line.ProductId} (${productFailure})`;
  }
  return undefined;
}

/** Step 3: each candidate's reminder, or the reason it has none. */
function build(candidates: readonly Candidate[], found: Found, context: PageContext, tally: PageTally): { ready: Ready[]; unanswered: Unanswered[] } {
  const ready: Ready[] = [];
  const unanswered: Unanswered[] = [];
  for (const candidate of candidates) {
    const { cart } = candidate;
    let customer: Customer | undefined;
    let email: string | undefined;
    const account = accountNumberOf(cart);
    const lookupFailure = lookupFailureOf(cart, account, found);
    if (lookupFailure) {
      unanswered.push({ ...candidate, reason: lookupFailure });
      continue;
    }
    if (account) {
      customer = found.customers.get(account.toLowerCase());
      if (!customer) {
        tally.skip(cart, 'customer-not-found');
        continue;
      }
      email = customer.Email?.trim();
      if (!email) {
        tally.skip(cart, 'customer-without-email');
        continue;
      }
    } else {
      email = cart.ReceiptEmail?.trim() ?? '';
    }
    const result = buildNotificationData({ cart, email, customer, products: found.products, channel: context.channel, settings: context.payloadSettings, images: context.images });
    context.counters.dropLines(result.droppedLines);
    if (!result.ok) {
      tally.skip(cart, result.reason);
      continue;
    }
    // Written out: a spread of the candidate, a thousand times a page, showed in the profile.
    ready.push({ cart: candidate.cart, id: candidate.id, notification: { triggerId: candidate.id, email, data: result.data } });
  }
  context.counters.eligible += ready.length + unanswered.length;
  return { ready, unanswered };
}

/**
 * A dry run's tallies: a reminder the ledger already settled becomes a skip, as the conflict of a
 * real run's claim would make it, and so does a cart whose lookup failed; the rest of those fail,
 * as in a real run. One bulk read, no write.
 */
async function tallyDryRun(
  page: { ready: readonly Ready[]; superseded: readonly Candidate[]; unanswered: readonly Unanswered[] },
  context: PageContext,
  tally: PageTally,
): Promise<void> {
  const { ready, superseded, unanswered } = page;
  const ids = [...ready, ...superseded, ...unanswered].map((candidate) => candidate.id);
  const existing = ids.length > 0 ? await context.ledger.getNotifications(ids, context.store) : new NotificationReads();
  const recorded = (id: string) => existing.unreadable.has(id) || existing.failed.has(id) || existing.get(id) !== undefined;
  for (const { cart, id } of superseded) tally.skip(cart, existing.get(id)?.record.status === 'sent' ? 'already-notified' : 'superseded');
  // A cart the ledger has a record of is tallied as a real run's conflict would make it; true when
  // the run would still act on it.
  // Records Cosmos DB did not let it read: a warn once a page, as a real run's refused claims are.
  const unread = new ProblemSummary();
  const actedOn = (cart: Candidate['cart'], id: string): boolean => {
    const verdict = recorded(id) ? verdictOnConflict(id, existing, context) : undefined;
    if (verdict?.act === 'skip') tally.notOwned(cart, verdict.reason, true);
    else if (verdict?.act === 'unknown') {
      tally.fail(cart, `ledger: ${verdict.reason}`, 'store', true);
      unread.add(verdict.reason, cart.Id);
    } else return true;
    return false;
  };
  for (const { cart, id } of ready) if (actedOn(cart, id)) tally.settle(cart, true);
  for (const { cart, id, reason } of unanswered) if (actedOn(cart, id)) tally.fail(cart, reason, 'retail', true);
  unread.log(context.logger, 'warn', 'Cosmos DB failed the reads of carts\' records; the dry run counts them as failed');
}

/** Step 6: one provider call for the reminders this run owns; a provider that throws fails them all, retryably. */
async function send(owned: readonly Owned[], context: PageContext): Promise<Map<string, NotificationOutcome>> {
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
  return new Map(outcomes.map((outcome) => [outcome.triggerId, outcome]));
}

/** Step 7: each outcome written over its claim, against the claim's etag, in one bulk replace. */
async function recordOutcomes(owned: readonly Owned[], outcomeById: ReadonlyMap<string, NotificationOutcome>, context: PageContext, tally: PageTally): Promise<void> {
  const { counters, logger } = context;
  // When the provider answered (a slow or retried send may take minutes after the claims).
  const now = (context.clock?.now() ?? context.now).toISOString();
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
  // Logged per page, not per reminder (see ProblemSummary).
  const unrecorded = new ProblemSummary();
  for (const { record } of updates) {
    const cart = cartById.get(record.id) as Cart;
    const write = writeById.get(record.id);
    if (record.status === 'sent') counters.notified++;
    else {
      counters.failed++;
      const outcome = outcomeById.get(record.id);
      if (outcome?.status === 'failed' && outcome.outage === true && outcome.outOfTime !== true) counters.providerDown++;
      counters.countFailureReason(record.reason ?? 'unknown', 'provider');
    }
    if (write?.status !== 'ok') {
      // The send happened but the ledger does not know: the claim stays, the checkpoint waits, and
      // a run after the claim timeout settles it (resending with the same trigger id).
      const reason = write?.status === 'error' ? write.reason : (write?.status ?? 'no answer');
      counters.countFailureReason(`ledger: outcome not recorded (${reason})`, 'store');
      unrecorded.add(reason, record.id);
    }
    const final = write?.status === 'ok' && (record.status === 'sent' || !record.retryable || record.attempts >= context.maxSendAttempts);
    tally.settle(cart, final);
  }
  unrecorded.log(logger, 'warn', 'Cosmos DB did not record the outcomes of reminders; a later run will settle them');
}
