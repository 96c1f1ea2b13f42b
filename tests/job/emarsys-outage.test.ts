import type { RunReport } from '../../src/job/report';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import type { Fault } from '../../src/simulators/fault-proxy';
import { notificationId } from '../../src/store/ledger';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';

/**
 * Emarsys failing every request for longer than MaxSendAttempts timer runs (down, a rotated API
 * secret not yet in Key Vault, a deleted external event), with the real clients against the
 * stand-ins and a timer run every 30 minutes by the test clock; carts come in every 5 minutes.
 * Each such run used to count against every waiting cart's MaxSendAttempts, so after 2.5 hours the
 * outage's first carts were given up for good: the checkpoint moved past them, a rerun skipped
 * them as already handled, and nothing told them from the other failures.
 */

const NOW = '2026-11-23T12:00:00Z';
const FIRST_CART = Date.parse('2026-11-23T06:00:00Z');
const CART_COUNT = 120; // 06:00 to 15:55
const cartTime = (i: number) => FIRST_CART + i * 5 * 60_000;

const store = () =>
  buildSimulatorData({
    customers: Array.from({ length: CART_COUNT }, (_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: Array.from({ length: CART_COUNT }, (_, i) =>
      cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(cartTime(i)).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });

/** The carts a run at the harness's now should have reminded by now (Exclude: 10 minutes). */
const due = (h: FaultHarness) =>
  Array.from({ length: CART_COUNT }, (_, i) => i)
    .filter((i) => cartTime(i) <= h.clock.now().getTime() - 10 * 60_000)
    .map((i) => `cart-${i}`);

/** One cart per id, each its own customer's (C0, C1, ...), a minute apart from 11:00, one line each. */
const cartsAMinuteApart = (ids: readonly string[]) =>
  buildSimulatorData({
    customers: ids.map((_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: ids.map((id, i) => cartRecord({ id, customerId: `C${i}`, modifiedDateTime: `2026-11-23T11:0${i}:00Z`, lines: [{ productId: 1 }] })),
  });

/** Emarsys refusing a request as a whole for something in its data (HTTP 400, replyCode 10001). */
const refusedForData: Fault = {
  kind: 'status',
  status: 400,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ replyCode: 10001, replyText: 'Invalid data in the request', data: '' }),
};

let h: FaultHarness;
afterEach(() => h.close());

describe('Emarsys fails every trigger request for three hours (six timer runs), then works again', () => {
  const json = { 'Content-Type': 'application/json' };
  test.each<[string, Fault, Record<string, string>?]>([
    ['down (HTTP 503)', { kind: 'status', status: 503 }],
    // A 500 past the retries may be one reminder's data; the halves of each request, failed alike, tell it is Emarsys.
    ['failing every request (HTTP 500)', { kind: 'status', status: 500 }],
    // Alone in its request, a reminder cannot be told from Emarsys down by halves; by the send's other requests, failed alike.
    ['failing every request (HTTP 500), one reminder a request', { kind: 'status', status: 500 }, { EmarsysClientOptions__BatchSize: '1' }],
    ['refusing the rotated API secret (HTTP 401)', { kind: 'status', status: 401, headers: json, body: JSON.stringify({ replyCode: 1, replyText: 'Unauthorized', data: '' }) }],
    // The event's own endpoint refuses it too (what tells a refusal of the event from one of a reminder's data).
    // A size limit no reminder of the request comes near (none is 100 kB): about the request, not its reminders.
    ['refusing every request for a record\'s size though none is large (HTTP 403, replyCode 7002)', { kind: 'status', status: 403, headers: json, body: JSON.stringify({ replyCode: 7002, replyText: 'Either the number of recipient records or the size of a single record exceed the maximum limit', data: '' }) }],
    ['refusing the deleted external event (replyCode 6003)', { kind: 'status', status: 400, headers: json, body: JSON.stringify({ replyCode: 6003, replyText: 'Invalid event id: 4711', data: '' }) }],
  ])('%s: once it works, every cart of the outage is reminded, once', async (_name, fault, env = {}) => {
    h = await startFaultHarness({ now: NOW, data: store() });
    expect((await h.run({ trigger: 'timer' })).status).toBe('completed');
    const outage = h.proxies.emarsys.inject({ path: /\/event\//, fault });
    const during: RunReport[] = [];
    for (let run = 0; run < 6; run++) {
      h.clock.advanceMinutes(30);
      during.push(await h.run({ trigger: 'timer' }, env));
    }
    // Every run of the outage says so: each failed its carts, with Emarsys' answer as the reason.
    for (const report of during) {
      expect([report.carts.notified, report.carts.failed > 0, report.failuresByDependency]).toEqual([0, true, { provider: report.carts.failed }]);
      // Every one of them failed while Emarsys was down (what fails the timer's invocation).
      expect(report.carts.providerDown).toBe(report.carts.failed);
    }
    outage.remove();

    h.clock.advanceMinutes(30);
    const recovered = await h.run({ trigger: 'timer' }, env);
    expect(recovered.status).toBe('completed');
    const delivered = h.emarsys.deliveries.map((d) => d.data.cartId);
    expect(delivered.filter((id, i) => delivered.indexOf(id) !== i)).toEqual([]);
    expect(due(h).filter((id) => !delivered.includes(id))).toEqual([]);
  });
});

/**
 * One reminder whose data Emarsys fails with HTTP 500 every time (a bug of Emarsys' on it, as a
 * Retail Server runtime extension throwing on one record's data): every request it is in fails as
 * a whole. Taken for an outage, it cost no attempt: the checkpoint waited for TimeToLiveDays (90 by
 * default), every run read the whole stretch since again, and the carts sent with it were never
 * reminded. Alone in a run's send it still cannot be told from Emarsys down.
 */
test('a reminder Emarsys fails with HTTP 500 every time: the carts sent with it go out, it is given up after MaxSendAttempts runs it was sent with others', async () => {
  const data = buildSimulatorData({
    customers: ['CP', 'CM', 'CN'].map((c) => customerRecord(c)),
    products: [productRecord(1)],
    carts: [
      cartRecord({ id: 'poison', customerId: 'CP', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'mate', customerId: 'CM', modifiedDateTime: '2026-11-23T11:05:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'later', customerId: 'CN', modifiedDateTime: '2026-11-23T12:30:00Z', lines: [{ productId: 1 }] }),
    ],
  });
  h = await startFaultHarness({ now: NOW, data });
  const env = { EmarsysClientOptions__MaxSendAttempts: '2' };
  h.proxies.emarsys.inject({ path: /\/trigger$/, match: (r) => r.text().includes('cp@example.com'), fault: { kind: 'status', status: 500 } });

  const reports = [];
  for (let run = 0; run < 4; run++) {
    reports.push(await h.run({ trigger: 'timer' }, env));
    h.clock.advanceMinutes(30);
  }
  // The cart sent beside it is reminded at once, the later one in its turn.
  expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['later', 'mate']);
  // It fails in three runs, with Emarsys' answer, and is then given up: the checkpoint moves on.
  expect(reports.map((r) => r.carts.failed)).toEqual([1, 1, 1, 0]);
  // Sent alone (the second run: the cart beside it went out, the later one is not due), its
  // failure cannot be told from Emarsys down: that run counts it so, and it costs no attempt.
  expect(reports.map((r) => r.carts.providerDown)).toEqual([undefined, 1, undefined, undefined]);
  expect(reports[1]?.failures).toEqual([{ reason: expect.not.stringMatching(/took/), count: 1 }]);
  const stored = (await (await h.ledger()).getNotifications([notificationId('poison', new Date('2026-11-23T11:00:00Z'))])).values().next().value;
  expect(stored?.record).toMatchObject({ status: 'failed', retryable: true, attempts: 2, reason: expect.stringMatching(/HTTP 500/) });
  // The report tells it from an outage: Emarsys took the rest of its request.
  expect(reports[2]?.failures).toEqual([{ reason: expect.stringMatching(/HTTP 500.*Emarsys took the rest of its request/), count: 1 }]);
  expect(reports[2]?.checkpoint?.lastModifiedAt).toBe('2026-11-23T12:50:00.000Z');
});

/** The run's time limit stops a send before Emarsys is asked: that is not Emarsys down (the timer's invocation fails on that). */
test('a run whose page reaches the send after its time limit: its reminders are not counted as the email provider down', async () => {
  h = await startFaultHarness({
    now: NOW,
    data: buildSimulatorData({
      customers: [customerRecord('C1'), customerRecord('C2')],
      products: [productRecord(1)],
      carts: [
        cartRecord({ id: 'A', customerId: 'C1', modifiedDateTime: '2026-11-23T10:00:00Z', lines: [{ productId: 1 }] }),
        cartRecord({ id: 'B', customerId: 'C2', modifiedDateTime: '2026-11-23T10:05:00Z', lines: [{ productId: 1 }] }),
      ],
    }),
  });
  // Retail Server's customer lookup takes 20 minutes by the run's clock: past MaxRunMinutes and its grace.
  h.proxies.retail.inject({ path: /Customers\/GetByAccountNumbers/, times: 1, before: () => h.clock.advanceMinutes(20) });
  const report = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__MaxRunMinutes: '10' });
  expect(h.emarsys.requests.filter((r) => r.kind === 'trigger')).toHaveLength(0);
  expect(report.carts).toMatchObject({ notified: 0, failed: 2 });
  expect(report.failures).toEqual([{ reason: expect.stringMatching(/time limit/), count: 2 }]);
  // Emarsys was never asked: nothing says it was down (a timer run would fail its invocation blaming it).
  expect(report.carts.providerDown).toBeUndefined();
});

/**
 * One reminder Emarsys refuses as a whole every time (an HTTP 400 with a replyCode, as it answers
 * data it cannot take): every request it is in was refused, taken for the event's or the account's
 * refusal, so no attempt. The checkpoint waited for TimeToLiveDays and the carts sent with it were
 * never reminded.
 */
test('a reminder Emarsys refuses as a whole every time: the carts sent with it go out, it is given up after MaxSendAttempts', async () => {
  const data = buildSimulatorData({
    customers: ['CP', 'CM', 'CN', 'CO'].map((c) => customerRecord(c)),
    products: [productRecord(1)],
    carts: ['poison', 'mate', 'other', 'next'].map((id, i) =>
      cartRecord({ id, customerId: ['CP', 'CM', 'CN', 'CO'][i], modifiedDateTime: `2026-11-23T11:0${i}:00Z`, lines: [{ productId: 1 }] }),
    ),
  });
  h = await startFaultHarness({ now: NOW, data });
  h.proxies.emarsys.inject({
    path: /\/trigger$/,
    match: (r) => r.text().includes('cp@example.com'),
    fault: refusedForData,
  });
  const env = { EmarsysClientOptions__MaxSendAttempts: '2' };
  const first = await h.run({ trigger: 'timer' }, env);
  // The request, its halves, then the half with the reminder halved again: the others went out.
  expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['mate', 'next', 'other']);
  expect(first.carts).toMatchObject({ notified: 3, failed: 1 });
  expect(first.carts.providerDown).toBeUndefined();
  expect(first.failures).toEqual([{ reason: expect.stringMatching(/replyCode 10001.*Emarsys took the rest of its request/), count: 1 }]);
  // Alone in the next run's send (as a cart is on a page whose others went out), Emarsys answering
  // for the event with the same credentials shows the refusal is the reminder's: its second attempt.
  h.clock.advanceMinutes(30);
  const second = await h.run({ trigger: 'timer' }, env);
  expect(second.carts).toMatchObject({ notified: 0, failed: 1 });
  expect(second.carts.providerDown).toBeUndefined();
  expect(second.failures).toEqual([{ reason: expect.stringMatching(/replyCode 10001.*Emarsys answers for external event \d+ with these credentials, so it fails on this reminder/), count: 1 }]);
  const stored = (await (await h.ledger()).getNotifications([notificationId('poison', new Date('2026-11-23T11:00:00Z'))])).values().next().value;
  expect(stored?.record).toMatchObject({ status: 'failed', retryable: true, attempts: 2, reason: expect.stringMatching(/replyCode 10001/) });
  // Given up: the checkpoint moves on, and the next run does not try it again.
  expect(second.checkpoint?.lastModifiedAt).toBe('2026-11-23T12:20:00.000Z');
  h.clock.advanceMinutes(30);
  expect((await h.run({ trigger: 'timer' }, env)).carts).toMatchObject({ seen: 0, failed: 0 });
});

/**
 * Two reminders Emarsys refuses as a whole every time (the same bad data in two carts), one in
 * each half of their request: both halves refused was taken for the event's or the account's
 * refusal, and the send stopped. Its other requests were never sent, in this run or any later one
 * (the same carts, in the same requests): no cart of the window was reminded until TimeToLiveDays.
 */
test('two reminders Emarsys refuses every time, one in each half of their request: the send goes on, they are found and charged', async () => {
  const ids = ['poison', 'mate', 'venom', 'friend', 'a', 'b', 'c', 'd'];
  h = await startFaultHarness({ now: NOW, data: cartsAMinuteApart(ids) });
  h.proxies.emarsys.inject({
    path: /\/trigger$/,
    match: (r) => /"c[02]@example\.com"/.test(r.text()),
    fault: refusedForData,
  });
  const report = await h.run({ trigger: 'timer' }, { EmarsysClientOptions__BatchSize: '4', EmarsysClientOptions__MaxSendAttempts: '2' });
  expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['a', 'b', 'c', 'd', 'friend', 'mate']);
  expect(report.carts).toMatchObject({ notified: 6, failed: 2 });
  expect(report.carts.providerDown).toBeUndefined();
  expect(report.failures).toEqual([{ reason: expect.stringMatching(/replyCode 10001/), count: 2 }]);
});

/**
 * Every reminder of a request refused as a whole (what all of them carry, a template field Emarsys
 * will not take, say), while Emarsys takes the send's other request: each split found no part
 * Emarsys took, yet the reminders were halved down to each one, about two requests per reminder in
 * every run (2,000 for a request of 1,000), and each was charged an attempt.
 */
test('a request whose every reminder Emarsys refuses: split twice, not down to each reminder, and no attempt charged', async () => {
  const bad = Array.from({ length: 8 }, (_, i) => `bad-${i}`);
  const good = Array.from({ length: 4 }, (_, i) => `good-${i}`);
  const data = buildSimulatorData({
    customers: [...bad, ...good].map((id) => customerRecord(`C-${id}`)),
    products: [productRecord(1)],
    carts: [...bad, ...good].map((id, i) => cartRecord({ id, customerId: `C-${id}`, modifiedDateTime: new Date(Date.parse('2026-11-23T11:00:00Z') + i * 60_000).toISOString(), lines: [{ productId: 1 }] })),
  });
  h = await startFaultHarness({ now: NOW, data });
  h.proxies.emarsys.inject({
    path: /\/trigger$/,
    match: (r) => r.text().includes('"cartId":"bad-'),
    fault: refusedForData,
  });
  const report = await h.run({ trigger: 'timer' }, { EmarsysClientOptions__BatchSize: '8' });
  expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(good);
  // The request, its halves, the good request, then each half's halves: none taken, so no further.
  expect(h.proxies.emarsys.requests().filter((r) => r.path.endsWith('/trigger'))).toHaveLength(8);
  expect(report.carts).toMatchObject({ notified: 4, failed: 8, providerDown: 8 });
  const records = await (await h.ledger()).getNotifications(bad.map((id, i) => notificationId(id, new Date(Date.parse('2026-11-23T11:00:00Z') + i * 60_000))));
  expect([...records.values()].map((stored) => stored.record.attempts)).toEqual(Array(8).fill(0));
});

/**
 * Two reminders Emarsys fails with HTTP 500 every time, one in each half of a request, while it
 * takes the send's other request: the request's halves both failed, which was taken for an outage
 * though Emarsys had just taken another request. The same four carts come in the same request every
 * run, so the two sent with them were never reminded and the checkpoint waited for TimeToLiveDays.
 */
test('two reminders Emarsys fails with HTTP 500 every time, one in each half of a request Emarsys takes others beside: their request-mates go out, they are charged', async () => {
  const ids = ['a', 'b', 'c', 'd', 'poison', 'mate', 'venom', 'friend'];
  h = await startFaultHarness({ now: NOW, data: cartsAMinuteApart(ids) });
  h.proxies.emarsys.inject({ path: /\/trigger$/, match: (r) => /"c[46]@example\.com"/.test(r.text()), fault: { kind: 'status', status: 500 } });
  const env = { EmarsysClientOptions__BatchSize: '4', EmarsysClientOptions__MaxSendAttempts: '2' };
  const reports: RunReport[] = [];
  for (let run = 0; run < 2; run++) {
    reports.push(await h.run({ trigger: 'timer' }, env));
    h.clock.advanceMinutes(30);
  }
  expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['a', 'b', 'c', 'd', 'friend', 'mate']);
  expect(reports[0]?.carts).toMatchObject({ notified: 6, failed: 2 });
  expect(reports[0]?.carts.providerDown).toBeUndefined();
  expect(reports[0]?.failures).toEqual([{ reason: expect.stringMatching(/HTTP 500.*Emarsys took the rest of its request, so it fails on this reminder/), count: 2 }]);
  const stored = await (await h.ledger()).getNotifications(['poison', 'venom'].map((id) => notificationId(id, new Date(`2026-11-23T11:0${ids.indexOf(id)}:00Z`))));
  expect([...stored.values()].map((s) => s.record)).toEqual(Array(2).fill(expect.objectContaining({ status: 'failed', attempts: 1 })));
  // Alone in the next run's send, the two cannot be told from Emarsys down (as a lone reminder's HTTP 500).
  expect(reports[1]?.carts).toMatchObject({ notified: 0, failed: 2, providerDown: 2 });
});

/**
 * Emarsys refusing every request for what every reminder meets but the event's own endpoint does
 * not show (a field of the event's), in requests of one or two: Emarsys
 * answering for the event was taken to show each lone refusal (and each refused half of one) the
 * reminder's, so every reminder (with BatchSize 1) or the first request's two (BatchSize 2) were
 * charged an attempt each run and given up after MaxSendAttempts, where a larger request refused
 * the same way costs none (a split of which Emarsys takes no part).
 */
test.each(['1', '2'])('every request refused for what every reminder meets, BatchSize %s: no attempt charged, and once it is fixed every cart is reminded', async (batchSize) => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  h = await startFaultHarness({ now: NOW, data: cartsAMinuteApart(ids) });
  // A refusal whose replyCode says nothing of what it is about, as for a field of the event's.
  const rule = h.proxies.emarsys.inject({ path: /\/trigger$/, fault: refusedForData });
  const env = { EmarsysClientOptions__BatchSize: batchSize, EmarsysClientOptions__MaxSendAttempts: '2' };
  for (let run = 0; run < 3; run++) {
    const report = await h.run({ trigger: 'timer' }, env);
    expect(report.carts).toMatchObject({ notified: 0, failed: 6, providerDown: 6 });
    h.clock.advanceMinutes(30);
  }
  rule.remove();
  expect((await h.run({ trigger: 'timer' }, env)).carts).toMatchObject({ notified: 6, failed: 0 });
  expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(ids);
});

/** A key_id the account lacks is named by its replyCode (2004): the setting's, not a reminder's, so nothing is split or asked. */
test('every request refused with replyCode 2004 (a key_id the account lacks): an outage naming the setting, no request split', async () => {
  const ids = ['a', 'b', 'c', 'd'];
  h = await startFaultHarness({ now: NOW, data: cartsAMinuteApart(ids) });
  const refusal = { replyCode: 2004, replyText: 'Invalid key field id: 9999', data: '' };
  h.proxies.emarsys.inject({ path: /\/trigger$/, fault: { kind: 'status', status: 400, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(refusal) } });
  const report = await h.run({ trigger: 'timer' }, { EmarsysClientOptions__BatchSize: '2' });
  expect(report.carts).toMatchObject({ notified: 0, failed: 4, providerDown: 4 });
  expect(report.failures).toEqual([{ reason: expect.stringMatching(/replyCode 2004 .*EmarsysClientOptions\.EmarsysContactKeyId must be the id of a contact field/), count: 4 }]);
  // Its two requests, once each: no halves, and no GET of the event.
  expect(h.proxies.emarsys.requests().map((r) => `${r.method} ${r.path.replace(/\/\d+/, '/<id>')}`)).toEqual(['POST /api/v2/event/<id>/trigger', 'POST /api/v2/event/<id>/trigger']);
});

/**
 * A refusal answered after the send's last-call time (the run's time limit and its grace): the
 * judgement still asked Emarsys for the event, one more call (and in OAuth 2.0 mode perhaps a token
 * fetch with its retries) past the time the run must end by, and charged the reminder on it.
 */
test('a reminder refused after the run\'s time limit and its grace: the event is not asked for, and the reminder costs no attempt', async () => {
  h = await startFaultHarness({
    now: NOW,
    data: buildSimulatorData({
      customers: [customerRecord('CP')],
      products: [productRecord(1)],
      carts: [cartRecord({ id: 'poison', customerId: 'CP', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] })],
    }),
  });
  // Emarsys answers the trigger request 20 minutes later by the run's clock: past MaxRunMinutes and its grace.
  h.proxies.emarsys.inject({ path: /\/trigger$/, before: () => h.clock.advanceMinutes(20), fault: refusedForData });
  const report = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__MaxRunMinutes: '10' });
  expect(h.proxies.emarsys.requests().filter((r) => !r.path.endsWith('/trigger'))).toEqual([]);
  expect(report.carts).toMatchObject({ notified: 0, failed: 1, providerDown: 1 });
});

/**
 * A reminder Emarsys fails with HTTP 500 every time, whose page-mates went out in an earlier run:
 * every later run sends it alone, its page's send takes nothing, and it was taken for Emarsys down
 * (no attempt, the checkpoint held until TimeToLiveDays) although the same run's next page went
 * out. Emarsys taking another send's request of the run shows it works.
 */
test('a reminder Emarsys fails with HTTP 500 every time, alone in its page: the run\'s other pages going out show it is the reminder', async () => {
  const data = buildSimulatorData({
    customers: ['CP', 'CM', 'CA', 'CB'].map((c) => customerRecord(c)),
    products: [productRecord(1)],
    carts: [
      cartRecord({ id: 'poison', customerId: 'CP', modifiedDateTime: '2026-11-23T11:00:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'mate', customerId: 'CM', modifiedDateTime: '2026-11-23T11:01:00Z', lines: [{ productId: 1 }] }),
    ],
  });
  h = await startFaultHarness({ now: NOW, data });
  const env = { EmarsysClientOptions__MaxSendAttempts: '2', RetailServerClientOptions__PageSize: '2' };
  const delivered = () => h.emarsys.deliveries.map((d) => d.data.cartId);
  let poisonSent = false;
  h.proxies.emarsys.inject({
    path: /\/trigger$/,
    match: (r) => r.text().includes('cp@example.com'),
    // Alone in its send, its request is answered after the run's next page has gone out.
    before: async () => {
      poisonSent = true;
      for (let i = 0; i < 4000 && delivered().length === 1 && !delivered().includes('late-a'); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    fault: { kind: 'status', status: 500 },
  });
  // ... while its send is in flight: what Emarsys took before a send began does not show it still works.
  h.proxies.emarsys.inject({
    path: /\/trigger$/,
    match: (r) => r.text().includes('"cartId":"late-a"'),
    before: async () => {
      for (let i = 0; i < 4000 && !poisonSent; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  });
  // Sent with its page-mate: found by halving, its first attempt.
  expect((await h.run({ trigger: 'timer' }, env)).carts).toMatchObject({ notified: 1, failed: 1 });
  h.retail.data.carts.push(
    cartRecord({ id: 'late-a', customerId: 'CA', modifiedDateTime: '2026-11-23T12:10:00Z', lines: [{ productId: 1 }] }),
    cartRecord({ id: 'late-b', customerId: 'CB', modifiedDateTime: '2026-11-23T12:11:00Z', lines: [{ productId: 1 }] }),
  );
  h.clock.advanceMinutes(30);
  poisonSent = false;
  const second = await h.run({ trigger: 'timer' }, env);
  expect(delivered().sort()).toEqual(['late-a', 'late-b', 'mate']);
  expect(second.carts).toMatchObject({ notified: 2, failed: 1 });
  expect(second.carts.providerDown).toBeUndefined();
  expect(second.failures).toEqual([{ reason: expect.stringMatching(/HTTP 500.*Emarsys took other reminders of this run, so it fails on this reminder/), count: 1 }]);
  const stored = (await (await h.ledger()).getNotifications([notificationId('poison', new Date('2026-11-23T11:00:00Z'))])).values().next().value;
  expect(stored?.record).toMatchObject({ status: 'failed', retryable: true, attempts: 2 });
  expect(second.checkpoint?.lastModifiedAt).toBe('2026-11-23T12:20:00.000Z');
});

/**
 * Emarsys starting to fail every trigger request with HTTP 500 in the middle of a run, after it
 * took the run's first page: every reminder alone in its request in the run's later pages (BatchSize
 * 1, or a page with one reminder to send) was charged an attempt, its failure put down to the
 * reminder ("Emarsys took other reminders of this run"), and none was counted as Emarsys down, for
 * the rest of the run. What Emarsys took before those sends began says nothing of it since.
 */
test.each([
  ['BatchSize 1', { EmarsysClientOptions__BatchSize: '1', RetailServerClientOptions__PageSize: '2' }],
  ['a page with one reminder to send', { RetailServerClientOptions__PageSize: '1' }],
])('Emarsys failing with HTTP 500 from the middle of a run, %s: the later pages\' reminders are Emarsys down, no attempt', async (_name, sizes) => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  h = await startFaultHarness({ now: NOW, data: cartsAMinuteApart(ids) });
  const first = sizes.RetailServerClientOptions__PageSize === '1' ? 1 : 2;
  // Down once the first page has gone out (the pages worked one after another).
  const later = ids.slice(first).map((id) => `"cartId":"${id}"`);
  h.proxies.emarsys.inject({ path: /\/trigger$/, match: (r) => later.some((id) => r.text().includes(id)), fault: { kind: 'status', status: 500 } });
  const logsBefore = h.logs.length;
  const report = await h.run({ trigger: 'timer' }, { ...sizes, RetailServerClientOptions__PageConcurrency: '1' });
  expect(h.emarsys.deliveries.map((d) => d.data.cartId)).toEqual(ids.slice(0, first));
  expect(report.carts).toMatchObject({ notified: first, failed: 6 - first, providerDown: 6 - first });
  expect(report.failures).toEqual([{ reason: expect.not.stringMatching(/took/), count: 6 - first }]);
  const records = await (await h.ledger()).getNotifications(ids.slice(first).map((id, i) => notificationId(id, new Date(`2026-11-23T11:0${i + first}:00Z`))));
  expect([...records.values()].map((stored) => stored.record.attempts)).toEqual(Array(6 - first).fill(0));
  // The on-call engineer sees each failed request once, at error, as Emarsys down.
  const failedRequests = h.logs.slice(logsBefore).filter((log) => log.message === 'emarsys trigger request failed');
  expect(failedRequests.map((log) => [log.level, log.fields?.outage])).toEqual(Array(6 - first).fill(['error', true]));
});
