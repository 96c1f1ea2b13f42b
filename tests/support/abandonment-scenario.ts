import { seededRandom, type Random } from '../../src/local/random';
import {
  buildSimulatorData,
  cartRecord,
  customerRecord,
  productRecord,
  type CartLineSpec,
  type RawRecord,
  type SimulatorData,
} from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';

/**
 * A store whose customers keep coming back: a seeded set of a few hundred carts, of which each
 * "cycle" touches a seeded handful (a new ModifiedDateTime just now), so every run of the crash
 * test has fresh work spread over several pages while the set itself stays small.
 *
 * Every cart and customer is planned with a *kind* first, and the records are built from it. The
 * expected reminders are then computed from the kinds alone, by the rules of the README ("What a
 * run does"), not by the connector's parser: that is what makes the crash test's oracle
 * independent of the code under test.
 */

export type CustomerKind = 'normal' | 'no-email' | 'invalid-email' | 'missing';
export type CartKind = 'normal' | 'all-voided' | 'unknown-products' | 'zero-quantity' | 'wish-list';

interface PlannedCustomer {
  accountNumber: string;
  kind: CustomerKind;
}

interface PlannedCart {
  id: string;
  /** Account number, or undefined for an anonymous cart. */
  customer: PlannedCustomer | undefined;
  /** Anonymous carts only; undefined for one without a receipt email. */
  receiptEmail: string | undefined;
  kind: CartKind;
  record: RawRecord;
}

export interface TouchedCart {
  cartId: string;
  modifiedAt: string;
  kind: CartKind;
  customerKind: CustomerKind | 'anonymous';
}

export interface Cycle {
  touched: TouchedCart[];
  /** Trigger ids that must be delivered for this cycle, and nothing else. */
  expected: Set<string>;
  /** Whose reminder each expected trigger id is (account or receipt email), to check one per customer. */
  ownerByTriggerId: Map<string, string>;
}

export interface ScenarioOptions {
  seed: number;
  customers: number;
  anonymousCarts: number;
  customersPerCycle: number;
  anonymousPerCycle: number;
}

export const DEFAULT_SCENARIO: ScenarioOptions = {
  seed: 20261123,
  customers: 120,
  anonymousCarts: 30,
  customersPerCycle: 40,
  anonymousPerCycle: 6,
};

const PRODUCTS = 40;
const UNKNOWN_PRODUCT = 9001;

function pickKind<K extends string>(random: Random, weights: readonly (readonly [K, number])[]): K {
  let roll = random.next() * weights.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [kind, weight] of weights) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return (weights[0] as readonly [K, number])[0];
}

function linesFor(kind: CartKind, random: Random): CartLineSpec[] {
  const product = () => random.int(1, PRODUCTS);
  switch (kind) {
    case 'all-voided':
      return [{ productId: product(), isVoided: true }];
    case 'unknown-products':
      return [{ productId: UNKNOWN_PRODUCT + random.int(0, 5) }];
    case 'zero-quantity':
      return [{ productId: product(), quantity: 0 }];
    default: {
      const lines: CartLineSpec[] = Array.from({ length: random.int(1, 4) }, () => ({
        productId: product(),
        quantity: random.chance(0.1) ? 1.5 : random.int(1, 3),
        price: random.int(199, 9999) / 100,
      }));
      // Noise a good cart survives: a voided line and a line whose product is gone.
      if (random.chance(0.25)) lines.push({ productId: product(), isVoided: true });
      if (random.chance(0.2)) lines.push({ productId: UNKNOWN_PRODUCT });
      return lines;
    }
  }
}

function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

export class AbandonmentScenario {
  readonly data: SimulatorData;
  private readonly random: Random;
  private readonly customers: PlannedCustomer[] = [];
  private readonly cartsByCustomer = new Map<string, PlannedCart[]>();
  private readonly anonymousCarts: PlannedCart[] = [];
  private readonly carts: PlannedCart[] = [];

  constructor(readonly options: ScenarioOptions = DEFAULT_SCENARIO) {
    this.random = seededRandom(options.seed);
    const random = this.random;
    const customerRecords: RawRecord[] = [];
    const longAgo = '2020-01-01T00:00:00.000Z';
    let cartNumber = 0;
    const plan = (customer: PlannedCustomer | undefined, receiptEmail: string | undefined): PlannedCart => {
      const kind = pickKind<CartKind>(random, [
        ['normal', 74],
        ['all-voided', 8],
        ['unknown-products', 7],
        ['zero-quantity', 5],
        ['wish-list', 6],
      ]);
      const id = `K${String(++cartNumber).padStart(4, '0')}`;
      const record = cartRecord({
        id,
        customerId: customer?.accountNumber ?? '',
        ...(receiptEmail ? { receiptEmail } : {}),
        modifiedDateTime: longAgo,
        cartTypeValue: kind === 'wish-list' ? 2 : 1,
        lines: linesFor(kind, random),
      });
      const cart: PlannedCart = { id, customer, receiptEmail, kind, record };
      this.carts.push(cart);
      return cart;
    };

    for (let i = 1; i <= options.customers; i++) {
      const accountNumber = `C${String(i).padStart(4, '0')}`;
      const kind = pickKind<CustomerKind>(random, [
        ['normal', 82],
        ['no-email', 6],
        ['invalid-email', 6],
        ['missing', 6],
      ]);
      const customer: PlannedCustomer = { accountNumber, kind };
      this.customers.push(customer);
      if (kind === 'no-email') customerRecords.push(customerRecord(accountNumber, { Email: null }));
      if (kind === 'invalid-email') customerRecords.push(customerRecord(accountNumber, { Email: `${accountNumber} at example.com` }));
      if (kind === 'normal') customerRecords.push(customerRecord(accountNumber, { FirstName: `First${i}`, LastName: `Last${i}` }));
      const carts = Array.from({ length: random.int(1, 4) }, () => plan(customer, undefined));
      this.cartsByCustomer.set(accountNumber, carts);
    }
    const anonymousEmails = Array.from({ length: Math.max(1, Math.floor(options.anonymousCarts / 3)) }, (_, i) => `guest${i + 1}@example.net`);
    for (let i = 0; i < options.anonymousCarts; i++) {
      this.anonymousCarts.push(plan(undefined, random.chance(0.7) ? random.pick(anonymousEmails) : undefined));
    }
    this.data = buildSimulatorData({
      customers: customerRecords,
      products: Array.from({ length: PRODUCTS }, (_, i) => productRecord(i + 1, { Price: (i + 1) * 1.25 })),
      carts: this.carts.map((cart) => cart.record),
    });
  }

  /**
   * Customers come back: a seeded set of customers touch most of their carts, and a few guests
   * theirs, each at a new time in `(startMs, startMs + spanMs]`. Some carts share a timestamp on
   * purpose, so keyset paging meets its boundary case. Returns what must be delivered.
   */
  touch(startMs: number, spanMs: number): Cycle {
    const random = this.random;
    const chosen: PlannedCart[] = [];
    for (const customer of shuffled(this.customers, random).slice(0, this.options.customersPerCycle)) {
      const carts = this.cartsByCustomer.get(customer.accountNumber) ?? [];
      const some = carts.filter(() => random.chance(0.8));
      chosen.push(...(some.length > 0 ? some : carts.slice(0, 1)));
    }
    chosen.push(...shuffled(this.anonymousCarts, random).slice(0, this.options.anonymousPerCycle));

    const touched: TouchedCart[] = [];
    let previous = startMs + 1;
    for (const cart of shuffled(chosen, random)) {
      const at = random.chance(0.15) ? previous : startMs + random.int(1, spanMs);
      previous = at;
      const modifiedAt = new Date(at).toISOString();
      cart.record.ModifiedDateTime = modifiedAt;
      touched.push({ cartId: cart.id, modifiedAt, kind: cart.kind, customerKind: cart.customer?.kind ?? 'anonymous' });
    }
    return { touched, ...expectedReminders(chosen) };
  }
}

/** The rules of a run, applied to planned kinds: one reminder per customer, for the newest cart that qualifies. */
function expectedReminders(carts: readonly PlannedCart[]): Pick<Cycle, 'expected' | 'ownerByTriggerId'> {
  // Cart-level checks: a shopping cart (wish lists are not even returned), an active line, and an
  // anonymous cart only with a receipt email (IncludeAnonymous is on in the crash test).
  const qualifying = carts.filter((cart) => cart.kind !== 'wish-list' && cart.kind !== 'all-voided' && (cart.customer || cart.receiptEmail));
  const latest = new Map<string, PlannedCart>();
  for (const cart of qualifying) {
    const owner = cart.customer ? `account:${cart.customer.accountNumber}` : `email:${cart.receiptEmail ?? ''}`;
    const current = latest.get(owner);
    const time = Date.parse(String(cart.record.ModifiedDateTime));
    const currentTime = current ? Date.parse(String(current.record.ModifiedDateTime)) : -Infinity;
    if (!current || time > currentTime || (time === currentTime && cart.id > current.id)) latest.set(owner, cart);
  }
  const expected = new Set<string>();
  const ownerByTriggerId = new Map<string, string>();
  for (const [owner, cart] of latest) {
    const reachable = !cart.customer || cart.customer.kind === 'normal';
    const hasProducts = cart.kind === 'normal';
    if (!reachable || !hasProducts) continue;
    const triggerId = notificationId(cart.id, new Date(String(cart.record.ModifiedDateTime)));
    expected.add(triggerId);
    ownerByTriggerId.set(triggerId, owner);
  }
  return { expected, ownerByTriggerId };
}

export interface CycleVerdict {
  expected: number;
  /** Expected reminders delivered. */
  delivered: number;
  lost: number;
  /** Delivered, though the rules call for no such reminder. */
  unexpected: number;
  /** A trigger id delivered twice, or a customer reminded twice in one cycle. */
  twice: number;
}

/** Compares what Emarsys delivered during a cycle (trigger ids, in order) with what the rules call for. */
export function judgeCycle(cycle: Cycle, deliveredTriggerIds: readonly string[]): CycleVerdict {
  const delivered = new Set(deliveredTriggerIds);
  const unexpected = deliveredTriggerIds.filter((id) => !cycle.expected.has(id)).length;
  const lost = [...cycle.expected].filter((id) => !delivered.has(id)).length;
  const owners = deliveredTriggerIds.map((id) => cycle.ownerByTriggerId.get(id) ?? id);
  const twice = owners.length - new Set(owners).size + (deliveredTriggerIds.length - delivered.size);
  return { expected: cycle.expected.size, delivered: deliveredTriggerIds.length - unexpected, lost, unexpected, twice };
}
