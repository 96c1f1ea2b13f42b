import { createEmarsysProvider } from '../../src/providers/emarsys';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import type { RunReport } from '../../src/job/report';
import { EMARSYS_SECRET, EMARSYS_USER, EVENT_ID, fastRetry, startHarness, type Harness } from '../support/harness';
import { FaultyLedger, FaultyProvider, faultyRetail, seeded, type Faults, type RetailFaults } from '../support/crash-world';

/**
 * Property: runs that die, fail or run out of time part-way, then runs again until done, remind
 * each customer exactly once, for the latest cart; the checkpoint never stands past a cart whose
 * outcome is not final; each report's counts add up. `CRASH_SEEDS` and `CRASH_SEED` choose the
 * seeds, `CRASH_KINDS` the faults (a comma list), and `CRASH_MODIFY=1` adds customers changing and
 * adding carts between runs, and reruns over HTTP.
 */
const NOW = '2026-11-23T12:00:00Z';
const SEEDS = Number(process.env.CRASH_SEEDS ?? 40);
const FIRST_SEED = Number(process.env.CRASH_SEED ?? 1);
const MODIFY = process.env.CRASH_MODIFY === '1';
const KINDS = (process.env.CRASH_KINDS ?? 'die,die,provider-after-send,provider-throws,store-writes,ambiguous,retail,retail-mid,retail-mid,time,time,reads,mixed,mixed').split(',');

interface StoreCart {
  id: string;
  customer: string;
  at: string;
}

function makeStore(random: () => number) {
  const customers = 3 + Math.floor(random() * 8);
  const carts: StoreCart[] = [];
  let n = 0;
  for (let c = 0; c < customers; c++) {
    const count = 1 + Math.floor(random() * 3);
    for (let k = 0; k < count; k++) {
      const minute = Math.floor(random() * 12);
      carts.push({ id: `cart-${String(n++).padStart(3, '0')}`, customer: `C${c}`, at: new Date(Date.parse('2026-11-23T06:00:00Z') + minute * 60_000).toISOString() });
    }
  }
  const expected = new Map<string, StoreCart>();
  for (const cart of carts) {
    const best = expected.get(cart.customer);
    if (!best || cart.at > best.at || (cart.at === best.at && cart.id > best.id)) expected.set(cart.customer, cart);
  }
  return { customers, carts, expected };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

function countsAddUp(report: RunReport): string[] {
  const { seen, eligible, skipped, notified, failed } = report.carts;
  const problems: string[] = [];
  if (seen !== eligible + skipped) problems.push(`seen ${seen} != eligible ${eligible} + skipped ${skipped}`);
  if (eligible !== notified + failed) problems.push(`eligible ${eligible} != notified ${notified} + failed ${failed}`);
  return problems;
}

async function scenario(seed: number): Promise<string[]> {
  const random = seeded(seed);
  const store = makeStore(random);
  const h: Harness = await startHarness({
    now: NOW,
    data: buildSimulatorData({
      customers: Array.from({ length: store.customers }, (_, i) => customerRecord(`C${i}`)),
      products: [productRecord(1)],
      carts: store.carts.map((cart) => cartRecord({ id: cart.id, customerId: cart.customer, modifiedDateTime: cart.at, lines: [{ productId: 1 }] })),
    }),
  });
  const problems: string[] = [];
  try {
    const ledger = new FaultyLedger();
    const real = createEmarsysProvider({ apiUrl: h.emarsys.apiUrlTemplate, externalEventId: EVENT_ID, auth: { mode: 'wsse', userName: EMARSYS_USER, secret: EMARSYS_SECRET }, clock: h.clock, logger: silentLogger, retry: fastRetry, sleep: async () => undefined });
    const provider = new FaultyProvider(real, ledger);
    const pageSize = pick(random, [2, 3, 4]);
    const pageConcurrency = pick(random, [1, 2, 3, 4]);
    const strategy = pick(random, ['pipelined', 'pipelined', 'sequential'] as const);
    const env = {
      RetailServerClientOptions__PageSize: String(pageSize),
      RetailServerClientOptions__PageConcurrency: String(pageConcurrency),
      RetailServerClientOptions__MaxRunMinutes: '2',
      EmarsysClientOptions__MaxSendAttempts: '50',
      AzureCosmosOptions__ClaimTimeoutMinutes: '15',
    };
    const byId: Map<string, StoreCart> = new Map(store.carts.map((cart) => [notificationId(cart.id, new Date(cart.at)), cart]));
    const log: string[] = [`seed ${seed}: pageSize ${pageSize}, pageConcurrency ${pageConcurrency}, ${strategy}, ${store.carts.length} carts`];

    let channelId: number | undefined;
    let surveyCut = false;
    const checkInvariants = async (label: string, report: RunReport) => {
      if (report.status !== 'unit-busy' && report.status !== 'failed') {
        for (const p of countsAddUp(report)) problems.push(`${log.join('; ')}; ${label}: ${p}`);
      }
      channelId ??= report.channelId;
      const cp = channelId === undefined ? undefined : await ledger.inner.getCheckpoint('128', channelId);
      if (!cp) return;
      const at = Date.parse(cp.lastModifiedAt);
      const records = await ledger.inner.getNotifications([...byId.keys()]);
      for (const cart of store.carts) {
        const t = Date.parse(cart.at);
        const passed = t < at || (t === at && cp.cartIdsAtLastModified.includes(cart.id));
        if (!passed) continue;
        const stored = records.get(notificationId(cart.id, new Date(cart.at)));
        const final = stored && (stored.record.status === 'sent' || stored.record.status === 'skipped' || (stored.record.status === 'failed' && (!stored.record.retryable || stored.record.attempts >= 50)));
        if (!final) problems.push(`${log.join('; ')}; ${label}: checkpoint ${cp.lastModifiedAt} passed ${cart.id} (${cart.at}) whose record is ${stored ? stored.record.status : 'missing'}`);
      }
    };

    const faultyRuns = 1 + Math.floor(random() * 4);
    for (let r = 0; r < faultyRuns; r++) {
      const kind = pick(random, KINDS);
      const faults: Faults = {};
      const retailFaults: RetailFaults = {};
      const share = 0.2 + random() * 0.5;
      const hit = (id: string) => {
        // Deterministic per id and run.
        let x = seed * 31 + r * 17;
        for (const ch of id) x = (x * 33 + ch.charCodeAt(0)) >>> 0;
        return (x % 1000) / 1000 < share;
      };
      if (kind === 'die' || kind === 'mixed') faults.dieAfterLedgerCalls = 2 + Math.floor(random() * 20);
      if (kind === 'provider-after-send' || kind === 'mixed') {
        const first = 1 + Math.floor(random() * 3);
        faults.providerTimesOutAfterSending = (call) => call >= first;
      }
      if (kind === 'provider-throws') faults.providerThrows = (call) => call % 2 === 0;
      if (kind === 'store-writes' || kind === 'mixed') faults.refuseWrite = hit;
      if (kind === 'ambiguous') faults.ambiguousWrite = hit;
      if (kind === 'reads') faults.failRead = hit;
      if (kind === 'retail') h.retail.failNext(pick(random, ['customers', 'cartSearch'] as const), Array.from({ length: 4 }, () => ({ status: 503 })));
      if (kind === 'time' || kind === 'mixed') {
        const step = 0.1 + random() * 0.4;
        faults.onLedgerCall = () => h.clock.advanceMinutes(step);
        retailFaults.onCall = () => h.clock.advanceMinutes(step);
      }
      if (kind === 'retail-mid' || kind === 'mixed') {
        const method = pick(random, ['getCustomers', 'getProducts', 'searchCarts']);
        const nth = 1 + Math.floor(random() * 5);
        const how = pick(random, ['outage', 'time-up'] as const);
        retailFaults.fail = (m, n) => (m === method && n === nth ? how : undefined);
      }
      ledger.arm(faults);
      provider.resetCalls();
      const rerun = MODIFY && random() < 0.2;
      log.push(`run ${r}: ${kind}${rerun ? ' (rerun)' : ''}`);
      const request = rerun ? { trigger: 'http' as const, from: new Date('2026-11-23T05:00:00Z'), to: new Date(h.clock.now().getTime() - 11 * 60_000) } : { trigger: 'timer' as const };
      const logsBefore = h.logs.length;
      const report = await h.run(request, env, {}, (built) => ({ ledger, provider, retail: faultyRetail(built.retail, retailFaults) }));
      if (h.logs.slice(logsBefore).some((l) => String(l.message).includes('cut its window'))) {
        log.push('(survey cut)');
        surveyCut = true;
      }
      log.push(`-> ${report.status}${report.error ? ` (${report.error.slice(0, 80)})` : ''}`);
      ledger.arm({});
      await checkInvariants(`after run ${r}`, report);
      h.clock.advanceMinutes(16);
      if (MODIFY) {
        // Some customers come back: a cart touched (moves to now) or a new one.
        for (let c = 0; c < store.customers; c++) {
          if (random() >= 0.25) continue;
          const at = new Date(h.clock.now().getTime() - 11 * 60_000 - Math.floor(random() * 3) * 60_000).toISOString();
          const mine = store.carts.filter((cart) => cart.customer === `C${c}`);
          if (random() < 0.5 && mine.length > 0) {
            const cart = pick(random, mine);
            cart.at = at;
            const rec = h.retail.data.carts.find((x) => x.Id === cart.id) as Record<string, unknown>;
            rec.ModifiedDateTime = at;
          } else {
            const cart = { id: `cart-${String(store.carts.length).padStart(3, '0')}`, customer: `C${c}`, at };
            store.carts.push(cart);
            h.retail.data.carts.push(cartRecord({ id: cart.id, customerId: cart.customer, modifiedDateTime: cart.at, lines: [{ productId: 1 }] }));
          }
          log.push(`touch C${c}`);
        }
        byId.clear();
        for (const cart of store.carts) byId.set(notificationId(cart.id, new Date(cart.at)), cart);
      }
    }
    // Clean runs until the window is done.
    for (let r = 0; r < 8; r++) {
      ledger.arm({});
      const report = await h.run({ trigger: 'timer' }, env, {}, () => ({ ledger, provider }));
      await checkInvariants(`clean run ${r}`, report);
      h.clock.advanceMinutes(16);
    }
    if (MODIFY) {
      // Every customer's latest cart as it stands now is reminded, at its current modification.
      const latest = new Map<string, StoreCart>();
      for (const cart of store.carts) {
        const best = latest.get(cart.customer);
        if (!best || cart.at > best.at || (cart.at === best.at && cart.id > best.id)) latest.set(cart.customer, cart);
      }
      const triggers = new Set(h.emarsys.deliveries.map((d) => d.triggerId));
      const lostNow = [...latest.values()].filter((cart) => !triggers.has(notificationId(cart.id, new Date(cart.at))));
      if (lostNow.length > 0) problems.push(`${log.join('; ')}: lost ${lostNow.map((c) => `${c.id}@${c.at}`).join(',')}`);
      return problems;
    }
    const delivered = new Map<string, number>();
    for (const d of h.emarsys.deliveries) delivered.set(String(d.data.cartId), (delivered.get(String(d.data.cartId)) ?? 0) + 1);
    const expectedCarts = new Set([...store.expected.values()].map((c) => c.id));
    const lost = [...expectedCarts].filter((id) => !delivered.has(id));
    const extra = [...delivered.keys()].filter((id) => !expectedCarts.has(id));
    const perCustomer = new Map<string, number>();
    for (const id of delivered.keys()) {
      const cart = store.carts.find((c) => c.id === id);
      if (cart) perCustomer.set(cart.customer, (perCustomer.get(cart.customer) ?? 0) + 1);
    }
    const twice = [...perCustomer].filter(([, n]) => n > 1).map(([c]) => c);
    if (lost.length > 0) problems.push(`${log.join('; ')}: lost ${lost.join(',')}`);
    if (extra.length > 0 && !surveyCut) problems.push(`${log.join('; ')}: reminded though superseded ${extra.join(',')}`);
    if (twice.length > 0 && !surveyCut) problems.push(`${log.join('; ')}: customers reminded twice ${twice.join(',')}`);
  } finally {
    await h.close();
  }
  return problems;
}

test(`runs that die or fail part-way, then rerun until done: every customer reminded once, for the latest cart (${SEEDS} seeds)`, async () => {
  const problems: string[] = [];
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) problems.push(...(await scenario(seed)));
  expect(problems).toEqual([]);
}, 600_000);
