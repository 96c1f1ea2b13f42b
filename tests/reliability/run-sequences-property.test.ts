import fc from 'fast-check';
import { createServer, type AddressInfo } from 'node:net';
import type { RunReport } from '../../src/job/report';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * Property: over a SEQUENCE of runs of the real job (timer runs from the checkpoint, now and then a
 * rerun over a range of its own, given whole or by one bound, dry runs, and runs with Emarsys
 * unreachable, whose reminders wait for a later run), while between runs
 * carts are created (several at one instant too, told apart below the millisecond or not),
 * touched, given new lines, emptied, moved between customers (and guests, and other spellings of
 * an account number), deleted, customers lose or gain their email, and the clock moves by
 * irregular amounts (less than Exclude, between Exclude and Include, more than Include), Emarsys
 * receives exactly the reminders an independent model of the runs says, at the right address,
 * each once. Real protocols: the Retail Server simulator, the embedded Cosmos DB server through
 * @azure/cosmos, the Emarsys stand-in.
 *
 * The model (`Oracle`) is written from README "What a run does" and SPEC section 5, not from the
 * job's modules: a timer run works [checkpoint or now - Include, now - Exclude], less the carts at
 * the checkpoint's instant the previous run finished; a rerun works its own [from, to] and leaves
 * the checkpoint alone; a dry run changes nothing; a run with Emarsys down records its reminders
 * failed (not final) and its checkpoint stops at the first of them. In a window, each customer's newest cart that
 * passes the cart's own checks (a shopping cart with an active line; an anonymous cart only with
 * IncludeAnonymous, by its receipt email) is reminded unless the ledger has it or the customer is
 * missing or has no email (a skip no record keeps); the customer's other such carts are recorded
 * superseded unless the ledger has them. A (cart, ModifiedDateTime) the ledger has is never
 * reminded again. Changes are stamped between the runs, as a store stamps them.
 *
 * Seeded (RUN_SEQUENCE_SEED, RUN_SEQUENCE_RUNS), so it is deterministic; RUN_SEQUENCE_EXCLUDE sets
 * Exclude (0 puts changes on the window's edge), RUN_SEQUENCE_SHRINK=1 shrinks a failure,
 * RUN_SEQUENCE_STATS=1 prints what the sequences exercised.
 */

const SEED = Number(process.env.RUN_SEQUENCE_SEED ?? 20261208);
const RUNS = Number(process.env.RUN_SEQUENCE_RUNS ?? 40);
const START = '2026-11-23T12:00:00.000Z';
const MINUTE = 60_000;
const INCLUDE = 60;
const EXCLUDE = Number(process.env.RUN_SEQUENCE_EXCLUDE ?? 10);
const CUSTOMERS = ['C0', 'C1', 'C2', 'C3'];
/** An account number no customer record has: its carts are skipped (customer-not-found). */
const MISSING = 'C9';
const GUESTS = ['guest0@example.com', 'guest1@example.com'];
/** Other spellings of customers' account numbers on carts (Retail Server matches them ignoring case; the cart may carry padding). */
const SPELLINGS = ['c0', ' C1 '];

interface Line {
  productId: number;
  voided: boolean;
}

/** A cart as the store holds it: anonymous when `customer` is empty (then `receipt` is its email). */
interface WorldCart {
  id: string;
  customer: string;
  receipt: string;
  at: number;
  /** 100 ns ticks below the millisecond (Retail Server keeps them; they order a customer's carts within one). */
  ticks: number;
  lines: Line[];
}

interface World {
  carts: WorldCart[];
  /** Each existing customer's email ('' for none). */
  emails: Map<string, string>;
  /** The next new cart's number (carts are deleted, so not the count). */
  next: number;
}

type Change =
  | { kind: 'create'; who: number; lines: Line[]; when: number }
  | { kind: 'burst'; who: number[]; when: number; ticks: boolean }
  | { kind: 'touch'; cart: number; when: number }
  | { kind: 'add-line'; cart: number; productId: number; when: number }
  | { kind: 'empty'; cart: number; void: boolean; when: number }
  | { kind: 'move'; cart: number; who: number; when: number }
  | { kind: 'email'; customer: number; has: boolean }
  | { kind: 'delete'; cart: number };

interface Step {
  changes: Change[];
  /** Minutes the clock moves before the changes (which fall in between) and the run. */
  advance: number;
  /**
   * A rerun over [now - toAgo - span, now - toAgo] instead of a timer run; `gives` says which
   * bounds it gives (the job works out the other: to = now - Exclude, from = to - (Include - Exclude)).
   * 'near-cart' gives both, with `to` a minute either side of a cart's ModifiedDateTime, or on it
   * (`cart` picks the cart, preferably one whose owner has a newer one, `toAgo` the side), so that a
   * rerun often holds a customer's older cart and not the newer one.
   */
  rerun: { toAgo: number; span: number; cart: number; gives: 'both' | 'from' | 'to' | 'near-cart' } | null;
  /** A dry run first: it must send and record nothing. */
  dryRunFirst: boolean;
  /** Emarsys cannot be reached during this step's run: its reminders wait for a later run. */
  outage: boolean;
}

interface Sequence {
  includeAnonymous: boolean;
  pageSize: number;
  pageConcurrency: number;
  strategy: 'pipelined' | 'sequential';
  initial: { who: number; lines: Line[]; minutesAgo: number }[];
  noEmail: number[];
  steps: Step[];
  firstTimer: boolean;
}

const lineArb = fc.record({ productId: fc.integer({ min: 1, max: 3 }), voided: fc.constant(false) });
// Mostly carts with something in them; now and then an empty one, or one whose lines are voided.
const linesArb = fc.oneof(
  { arbitrary: fc.array(lineArb, { minLength: 1, maxLength: 3 }), weight: 5 },
  { arbitrary: fc.array(fc.record({ productId: fc.integer({ min: 1, max: 3 }), voided: fc.boolean() }), { maxLength: 2 }), weight: 1 },
);
/** Who a cart belongs to: a customer, the missing customer, or a guest (an index past them). */
const whoArb = fc.integer({ min: 0, max: CUSTOMERS.length + 1 + GUESTS.length + SPELLINGS.length - 1 });
const whenArb = fc.integer({ min: 0, max: 1_000 });
const cartArb = fc.integer({ min: 0, max: 1_000 });

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), who: whoArb, lines: linesArb, when: whenArb }),
  // Several carts at one instant (more than a page, at times), customers' ties among them.
  // With `ticks`, the carts differ below the millisecond, the greater id the earlier.
  fc.record({ kind: fc.constant('burst' as const), who: fc.array(whoArb, { minLength: 2, maxLength: 6 }), when: whenArb, ticks: fc.boolean() }),
  fc.record({ kind: fc.constant('touch' as const), cart: cartArb, when: whenArb }),
  fc.record({ kind: fc.constant('add-line' as const), cart: cartArb, productId: fc.integer({ min: 1, max: 3 }), when: whenArb }),
  fc.record({ kind: fc.constant('empty' as const), cart: cartArb, void: fc.boolean(), when: whenArb }),
  fc.record({ kind: fc.constant('move' as const), cart: cartArb, who: whoArb, when: whenArb }),
  fc.record({ kind: fc.constant('email' as const), customer: fc.integer({ min: 0, max: CUSTOMERS.length - 1 }), has: fc.boolean() }),
  // Checked out, or deleted: gone from the store.
  fc.record({ kind: fc.constant('delete' as const), cart: cartArb }),
);

const stepArb: fc.Arbitrary<Step> = fc.record({
  changes: fc.array(changeArb, { maxLength: 5 }),
  // Below Exclude, at it, between Exclude and Include, at it, past it, and far past it.
  advance: fc.constantFrom(1, 3, 9, 10, 11, 25, 59, 60, 61, 90, 130, 200),
  rerun: fc.oneof(
    { arbitrary: fc.constant(null), weight: 3 },
    {
      arbitrary: fc.record({
        toAgo: fc.integer({ min: 0, max: 90 }),
        span: fc.integer({ min: 1, max: 240 }),
        cart: cartArb,
        gives: fc.constantFrom('both' as const, 'from' as const, 'to' as const, 'near-cart' as const, 'near-cart' as const),
      }),
      weight: 1,
    },
  ),
  dryRunFirst: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  outage: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

const sequenceArb: fc.Arbitrary<Sequence> = fc.record({
  includeAnonymous: fc.boolean(),
  pageSize: fc.constantFrom(2, 3, 5, 100),
  pageConcurrency: fc.constantFrom(1, 2, 4),
  strategy: fc.constantFrom('pipelined' as const, 'pipelined' as const, 'sequential' as const),
  initial: fc.array(fc.record({ who: whoArb, lines: linesArb, minutesAgo: fc.integer({ min: 0, max: 3 * INCLUDE }) }), { maxLength: 10 }),
  noEmail: fc.uniqueArray(fc.integer({ min: 0, max: CUSTOMERS.length - 1 }), { maxLength: 2 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 7 }),
  /** Whether a timer run comes first; without it, the first step's run may be a rerun, before any checkpoint. */
  firstTimer: fc.boolean(),
});

function owner(who: number): { customer: string; receipt: string } {
  if (who < CUSTOMERS.length) return { customer: CUSTOMERS[who] as string, receipt: '' };
  if (who === CUSTOMERS.length) return { customer: MISSING, receipt: '' };
  const guest = who - CUSTOMERS.length - 1;
  if (guest < GUESTS.length) return { customer: '', receipt: GUESTS[guest] as string };
  return { customer: SPELLINGS[guest - GUESTS.length] as string, receipt: '' };
}

/** The customer a cart's account number names, as Retail Server's lookup finds it. */
function accountOf(customer: string): string | undefined {
  return CUSTOMERS.find((account) => account.toLowerCase() === customer.trim().toLowerCase());
}

/** What the generated sequences exercised (printed with RUN_SEQUENCE_STATS=1). */
const totals = { sequences: 0, runs: 0, reruns: 0, dryRuns: 0, outages: 0, held: 0, reminders: 0, superseded: 0, changes: 0 };

const iso = (t: number) => new Date(t).toISOString();
const keyOf = (cart: { id: string; at: number }) => `${cart.id}@${iso(cart.at)}`;

/** The independent model of what the runs must do (see the file's comment). */
class Oracle {
  /** What the ledger holds: 'failed' (an Emarsys outage) is not final: the next run that has the cart works it again. */
  readonly records = new Map<string, 'sent' | 'skipped' | 'failed'>();
  private checkpoint: { at: number; ids: Set<string> } | undefined;

  constructor(private readonly includeAnonymous: boolean) {}

  /** The run's window as the model sees it. */
  window(now: number, rerun: { from: number; to: number } | undefined): { from: number; to: number; done: Set<string> } {
    if (rerun) return { ...rerun, done: new Set() };
    const to = now - EXCLUDE * MINUTE;
    if (this.checkpoint) return { from: this.checkpoint.at, to, done: this.checkpoint.ids };
    return { from: now - INCLUDE * MINUTE, to, done: new Set() };
  }

  /** One run over the world as it stands; the reminders it must send: cart, ModifiedDateTime and email. */
  run(world: World, now: number, rerun: { from: number; to: number } | undefined, outage = false): string[] {
    const { from, to, done } = this.window(now, rerun);
    const inWindow = world.carts.filter((cart) => cart.at >= from && cart.at <= to);
    const passes = (cart: WorldCart) =>
      cart.lines.some((line) => !line.voided) && (cart.customer !== '' || (this.includeAnonymous && cart.receipt.trim() !== ''));
    const who = (cart: WorldCart) => (cart.customer !== '' ? `account:${cart.customer.trim().toLowerCase()}` : `guest:${cart.receipt.toLowerCase()}`);
    const latest = new Map<string, WorldCart>();
    for (const cart of inWindow.filter(passes)) {
      const best = latest.get(who(cart));
      const newer = !best || cart.at > best.at || (cart.at === best.at && (cart.ticks > best.ticks || (cart.ticks === best.ticks && cart.id > best.id)));
      if (newer) latest.set(who(cart), cart);
    }
    const sent: string[] = [];
    const failed: WorldCart[] = [];
    for (const cart of inWindow.filter(passes)) {
      if (cart.at === from && done.has(cart.id)) continue;
      const key = keyOf(cart);
      const record = this.records.get(key);
      if (record === 'sent' || record === 'skipped') continue;
      if (latest.get(who(cart)) !== cart) {
        this.records.set(key, 'skipped');
        continue;
      }
      const account = accountOf(cart.customer);
      const email = cart.customer !== '' ? account && world.emails.get(account) : cart.receipt;
      if (!email) continue; // customer-not-found, customer-without-email: no record kept
      this.records.set(key, outage ? 'failed' : 'sent');
      if (outage) failed.push(cart);
      else sent.push(`${key} to ${email}`);
    }
    if (!rerun) {
      // The checkpoint moves to `to`, or stops at the first cart that failed, holding the ids of
      // the carts settled at that instant.
      const at = failed.length > 0 ? Math.min(...failed.map((cart) => cart.at)) : to;
      const settled = inWindow.filter((cart) => cart.at === at && !failed.includes(cart)).map((cart) => cart.id);
      this.checkpoint = { at, ids: new Set(from === at ? [...done, ...settled] : settled) };
    }
    return sent;
  }
}

function rawCart(cart: WorldCart) {
  return cartRecord({
    id: cart.id,
    customerId: cart.customer,
    receiptEmail: cart.receipt || undefined,
    modifiedDateTime: cart.ticks > 0 ? iso(cart.at).replace('Z', `${String(cart.ticks).padStart(4, '0')}Z`) : iso(cart.at),
    lines: cart.lines.map((line) => ({ productId: line.productId, isVoided: line.voided })),
  });
}

function rawCustomers(world: World) {
  return CUSTOMERS.map((account) => customerRecord(account, { Email: world.emails.get(account) || null }));
}

/** Applies a change at a time in [previous run, now] (minute-grained, so carts often share an instant with a window's edge). */
function apply(world: World, change: Change, previous: number, now: number, log: string[]): void {
  const minutes = Math.round((now - previous) / MINUTE);
  // On the minute mostly; now and then a millisecond either side, just inside or outside a window's edge.
  const at = (when: number) => Math.min(now, Math.max(previous, previous + (when % (minutes + 1)) * MINUTE + ([0, 0, 0, 1, -1][when % 5] ?? 0)));
  const pickCart = (n: number) => world.carts[n % world.carts.length];
  switch (change.kind) {
    case 'create': {
      const cart: WorldCart = { id: `cart-${String(world.next++).padStart(2, '0')}`, ...owner(change.who), at: at(change.when), ticks: 0, lines: change.lines.map((line) => ({ ...line })) };
      world.carts.push(cart);
      log.push(`create ${cart.id} for ${cart.customer || cart.receipt} at ${iso(cart.at)} lines ${JSON.stringify(cart.lines)}`);
      return;
    }
    case 'burst': {
      const t = at(change.when);
      for (const [i, who] of change.who.entries()) {
        const ticks = change.ticks ? 1000 * (change.who.length - i) : 0;
        const cart: WorldCart = { id: `cart-${String(world.next++).padStart(2, '0')}`, ...owner(who), at: t, ticks, lines: [{ productId: 1, voided: false }] };
        world.carts.push(cart);
        log.push(`create ${cart.id} for ${cart.customer || cart.receipt} at ${iso(cart.at)} + ${ticks} ticks`);
      }
      return;
    }
    case 'delete': {
      const cart = pickCart(change.cart);
      if (!cart) return;
      world.carts.splice(world.carts.indexOf(cart), 1);
      log.push(`delete ${cart.id}`);
      return;
    }
    case 'email': {
      const account = CUSTOMERS[change.customer] as string;
      world.emails.set(account, change.has ? `${account.toLowerCase()}@example.com` : '');
      log.push(`${account} ${change.has ? 'gains' : 'loses'} email`);
      return;
    }
    default: {
      const cart = pickCart(change.cart);
      if (!cart) return;
      const t = at(change.when);
      // A change the store stamps no later than the cart's last one is not a change of ModifiedDateTime; skipped.
      if (t <= cart.at) return;
      cart.at = t;
      cart.ticks = 0;
      if (change.kind === 'add-line') cart.lines.push({ productId: change.productId, voided: false });
      if (change.kind === 'empty') cart.lines = change.void ? cart.lines.map((line) => ({ ...line, voided: true })) : [];
      if (change.kind === 'move') Object.assign(cart, owner(change.who));
      log.push(`${change.kind} ${cart.id}${change.kind === 'move' ? ` to ${cart.customer || cart.receipt}` : ''} at ${iso(t)}`);
    }
  }
}

/** The window a rerun works, and what it asks for. */
function rerunWindow(rerun: NonNullable<Step['rerun']>, now: number, world: World): { window: { from: number; to: number }; asked: { from?: Date; to?: Date } } {
  if (rerun.gives === 'from') {
    // Without to, the window ends at now - Exclude, so from must come before that.
    const from = now - (EXCLUDE + rerun.span) * MINUTE;
    return { window: { from, to: now - EXCLUDE * MINUTE }, asked: { from: new Date(from) } };
  }
  // Preferably a cart whose owner has a newer one: the rerun may then hold it without the newer.
  const owned = (cart: WorldCart) => `${cart.customer}|${cart.receipt}`;
  const older = world.carts.filter((cart) => world.carts.some((other) => owned(other) === owned(cart) && other.at > cart.at));
  const pool = older.length > 0 ? older : world.carts;
  const near = pool[rerun.cart % Math.max(1, pool.length)];
  const to = rerun.gives === 'near-cart' && near ? Math.min(now, near.at + ((rerun.toAgo % 3) - 1) * MINUTE) : now - rerun.toAgo * MINUTE;
  if (rerun.gives === 'to') return { window: { from: to - (INCLUDE - EXCLUDE) * MINUTE, to }, asked: { to: new Date(to) } };
  const from = to - rerun.span * MINUTE;
  return { window: { from, to }, asked: { from: new Date(from), to: new Date(to) } };
}

/** A port on 127.0.0.1 that nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function problemsWith(sequence: Sequence): Promise<string[]> {
  const start = Date.parse(START);
  const world: World = {
    carts: sequence.initial.map((spec, i) => ({ id: `cart-${String(i).padStart(2, '0')}`, ...owner(spec.who), at: start - spec.minutesAgo * MINUTE, ticks: 0, lines: spec.lines.map((line) => ({ ...line })) })),
    emails: new Map(CUSTOMERS.map((account, i) => [account, sequence.noEmail.includes(i) ? '' : `${account.toLowerCase()}@example.com`])),
    next: sequence.initial.length,
  };
  const h: Harness = await startHarness({
    now: START,
    data: buildSimulatorData({ customers: rawCustomers(world), products: [1, 2, 3].map((id) => productRecord(id)), carts: world.carts.map(rawCart) }),
  });
  const env = {
    RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: String(INCLUDE),
    RetailServerClientOptions__ExcludeAbandonedCartsModifiedSinceLastMinutes: String(EXCLUDE),
    RetailServerClientOptions__IncludeAnonymous: String(sequence.includeAnonymous),
    RetailServerClientOptions__PageSize: String(sequence.pageSize),
    RetailServerClientOptions__PageConcurrency: String(sequence.pageConcurrency),
    // Outages cost no attempt; should one be charged, it must not end the carts' turn here.
    EmarsysClientOptions__MaxSendAttempts: '50',
  };
  // Emarsys during an outage: a port nothing listens on.
  const down = await closedPort();
  const outageEnv = { ...env, EmarsysClientOptions__ApiUrl: `http://127.0.0.1:${down}/api/v2/event/{0}/trigger` };
  const oracle = new Oracle(sequence.includeAnonymous);
  const problems: string[] = [];
  const log: string[] = [`initial: ${world.carts.map((c) => `${c.id} ${c.customer || c.receipt} ${iso(c.at)} ${JSON.stringify(c.lines)}`).join('; ')}; no email: ${sequence.noEmail.map((i) => CUSTOMERS[i]).join(',')}`];
  try {
    const runStep = async (label: string, rerun: { from: number; to: number } | undefined, asked: { from?: Date; to?: Date } = {}, dryRun = false, outage = false) => {
      const now = h.clock.now().getTime();
      // The store as it stands now.
      h.retail.data.carts.splice(0, h.retail.data.carts.length, ...world.carts.map(rawCart));
      h.retail.data.customers.splice(0, h.retail.data.customers.length, ...rawCustomers(world));
      const expectedWindow = oracle.window(now, rerun);
      // A dry run sends and records nothing, so the model's state is left as it was.
      const expected = dryRun ? [] : oracle.run(world, now, rerun, outage);
      const before = h.emarsys.deliveries.length;
      const request = { trigger: rerun ? ('http' as const) : ('timer' as const), ...asked, dryRun };
      const report: RunReport = await h.run(request, outage ? outageEnv : env, { strategy: sequence.strategy });
      // Carts do not change during a run, so a delivery's cart id names its (cart, ModifiedDateTime).
      const atOf = new Map(world.carts.map((cart) => [cart.id, cart]));
      const got = h.emarsys.deliveries.slice(before).map((d) => {
        const cart = atOf.get(String(d.data.cartId));
        return cart ? `${keyOf(cart)} to ${d.externalId}` : `unknown cart ${String(d.data.cartId)}`;
      });
      totals.runs++;
      if (rerun) totals.reruns++;
      if (dryRun) totals.dryRuns++;
      if (outage) totals.outages++;
      if (outage) totals.held += report.carts.failed;
      totals.reminders += expected.length;
      log.push(`${label} at ${iso(now)} window ${iso(expectedWindow.from)}..${iso(expectedWindow.to)}: expected [${expected.join(', ')}], got [${got.join(', ')}] (${report.status})`);
      if (report.status !== 'completed' && !outage) problems.push(`${label}: ${report.status} ${report.error ?? ''}`);
      if (report.window.from !== iso(expectedWindow.from) || report.window.to !== iso(expectedWindow.to)) {
        problems.push(`${label}: window ${report.window.from}..${report.window.to}, the model's ${iso(expectedWindow.from)}..${iso(expectedWindow.to)}`);
      }
      if (JSON.stringify([...got].sort()) !== JSON.stringify([...expected].sort())) problems.push(`${label}: reminded [${[...got].sort().join(', ')}], the model [${[...expected].sort().join(', ')}]`);
    };

    if (sequence.firstTimer) await runStep('run 0', undefined);
    let previous = start;
    for (const [i, step] of sequence.steps.entries()) {
      h.clock.advanceMinutes(step.advance);
      const now = h.clock.now().getTime();
      for (const change of step.changes) apply(world, change, previous, now, log);
      previous = now;
      const rerun = step.rerun ? rerunWindow(step.rerun, now, world) : undefined;
      if (step.dryRunFirst) await runStep(`dry run ${i + 1}`, rerun?.window, rerun?.asked, true);
      const label = `${rerun ? `rerun ${i + 1} (${step.rerun?.gives ?? ''})` : `run ${i + 1}`}${step.outage ? ', Emarsys down' : ''}`;
      await runStep(label, rerun?.window, rerun?.asked, false, step.outage);
    }
    totals.sequences++;
    totals.changes += sequence.steps.reduce((sum, step) => sum + step.changes.length, 0);
    totals.superseded += [...oracle.records.values()].filter((status) => status === 'skipped').length;
    // Each trigger once, over the whole sequence.
    const triggers = h.emarsys.requests.flatMap((request) => {
      const body = request.body as { contacts?: { trigger_id: string }[] } | undefined;
      return request.kind === 'trigger' ? (body?.contacts ?? []).map((contact) => contact.trigger_id) : [];
    });
    if (new Set(triggers).size !== triggers.length || h.emarsys.duplicatesDropped > 0) problems.push(`a trigger was sent twice: ${triggers.join(', ')}`);
  } finally {
    await h.close();
  }
  return problems.length > 0 ? [...problems, ...log] : [];
}

describe('sequences of runs while the store changes', () => {
  test('Emarsys gets exactly the reminders the model of the runs gives, each once', async () => {
    const details = await fc.check(
      fc.asyncProperty(sequenceArb, async (sequence) => {
        const problems = await problemsWith(sequence);
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: process.env.RUN_SEQUENCE_SHRINK !== '1' },
    );
    if (process.env.RUN_SEQUENCE_STATS === '1') console.log(JSON.stringify(totals));
    if (details.failed) {
      throw new Error(`failed after ${details.numRuns} run(s); replay with RUN_SEQUENCE_SEED=${details.seed}, path "${details.counterexamplePath ?? ''}":\n${String(details.errorInstance)}\n${JSON.stringify(details.counterexample)}`);
    }
  }, 120_000);
});
