import type { RunReport } from '../../src/job/report';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { parseODataOptions } from '../../src/simulators/retail-server/queries';
import type { ProxiedRequest } from '../../src/simulators/fault-rules';
import { startFaultHarness, type FaultHarness, type FaultHarnessOptions } from '../support/fault-harness';
import { answerHolds, failSearchesHolding } from '../support/unreadable-carts';

/**
 * Faults around a cart Retail Server cannot load, through the job and the fault proxy: a cart
 * changed while the run pages past it, the run's time limit during the narrowing, an outage that
 * begins during it, a brief failure of the search after it, a record without a usable id next to
 * it. Each was found by a review with a failing test (a good cart skipped for good as
 * unreadable or missed, or every run failing). Now no readable cart is lost: the run reads past
 * the unreadable one, or fails (or ends at its time limit) before it so that the next run reads it.
 */

const START = Date.parse('2026-11-23T05:00:00Z');
const id = (i: number) => `cart-${String(i).padStart(2, '0')}`;

function store(minutes: readonly number[]) {
  return buildSimulatorData({
    customers: minutes.map((_, i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: minutes.map((minute, i) =>
      cartRecord({ id: id(i), customerId: `C${i}`, modifiedDateTime: new Date(START + minute * 60_000).toISOString(), lines: [{ productId: 1 }] }),
    ),
  });
}
const tenMinutesApart = (count: number) => Array.from({ length: count }, (_, i) => i * 10);

function sent(h: FaultHarness): string[] {
  return [...new Set(h.emarsys.deliveries.map((delivery) => String(delivery.data.cartId)))].sort();
}
function summary(report: RunReport) {
  return { status: report.status, seen: report.carts.seen, notified: report.carts.notified, unreadable: report.carts.skippedByReason['unreadable-record'] ?? 0 };
}

/** cart-00, a record whose Id is null (hostile data) five minutes on, cart-01 (unreadable in the tests) and cart-02. */
function storeWithKeyless() {
  const minute = (m: number) => new Date(START + m * 60_000).toISOString();
  return buildSimulatorData({
    customers: [0, 1, 2].map((i) => customerRecord(`C${i}`)),
    products: [productRecord(1)],
    carts: [
      cartRecord({ id: id(0), customerId: 'C0', modifiedDateTime: minute(0), lines: [{ productId: 1 }] }),
      cartRecord({ id: 'keyless', customerId: 'C0', modifiedDateTime: minute(5), lines: [{ productId: 1 }], overrides: { Id: null } }),
      cartRecord({ id: id(1), customerId: 'C1', modifiedDateTime: minute(20), lines: [{ productId: 1 }] }),
      cartRecord({ id: id(2), customerId: 'C2', modifiedDateTime: minute(30), lines: [{ productId: 1 }] }),
    ],
  });
}

/** The search's $top, $skip and window start. */
function searchOf(request: ProxiedRequest) {
  const options = parseODataOptions(new URL(request.url, 'https://proxy').searchParams);
  const body = JSON.parse(request.text()) as { cartSearchCriteria: { LastModifiedDateTimeFrom?: string } };
  return { top: typeof options === 'string' ? undefined : options.top, skip: typeof options === 'string' ? undefined : options.skip, from: body.cartSearchCriteria.LastModifiedDateTimeFrom };
}

/** Before the pass's search from `minute` with this $skip (the survey sends the same one first), the customer of `cart` changes it. */
function changeBefore(h: FaultHarness, minute: number, skip: number, cart: number): { changed: () => boolean } {
  let changed = false;
  h.proxies.retail.inject({
    name: `customer-changes-${id(cart)}`,
    path: /\/Carts\/Search/,
    match: (request) => {
      const search = searchOf(request);
      return search.top === 4 && search.skip === skip && search.from !== undefined && Date.parse(search.from) === START + minute * 60_000;
    },
    skip: 1,
    times: 1,
    before: () => {
      const record = h.retail.data.carts.find((candidate) => candidate.Id === id(cart)) as { ModifiedDateTime: string };
      record.ModifiedDateTime = '2026-11-23T12:00:00.000Z'; // moves past the window, as any cart changed now does
      changed = true;
    },
  });
  return { changed: () => changed };
}

/**
 * Counts the cart searches Retail Server has in flight, to show a run's strategy took effect: the
 * sequential one sends one search at a time, survey and pass alike.
 */
function searchesInFlight() {
  let now = 0;
  let most = 0;
  return {
    onRetailRequest: ({ endpoint, phase }: { endpoint: string | undefined; phase: 'start' | 'end' }) => {
      if (endpoint !== 'cartSearch') return;
      if (phase === 'start') most = Math.max(most, ++now);
      else now--;
    },
    most: () => most,
  };
}

describe('faults around a cart Retail Server cannot load', () => {
  let h: FaultHarness;
  let searches: ReturnType<typeof searchesInFlight>;
  /**
   * The fault harness, its Retail Server stand-in counting the cart searches in flight. Each answer
   * takes 20 ms, so that searches sent at once (the pipelined survey's slices) are seen together.
   */
  const start = (options: FaultHarnessOptions) => {
    searches = searchesInFlight();
    return startFaultHarness({ ...options, onRetailRequest: searches.onRetailRequest, retailLatencyMs: 20 });
  };
  afterEach(() => h.close());

  // The pass's pages of four: [00..03], then from 05:30 [03, 04, 05!, 06], narrowed to [03, 04]
  // and the unreadable cart; then from 05:40 (cart-04's instant) with $skip=2, expecting cart-06.

  test('sequential: a cart changed during the run at an earlier instant than the last one read shifts nothing', async () => {
    h = await start({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    failSearchesHolding(h, new Set([id(5)]));
    const change = changeBefore(h, 40, 2, 3);
    const first = await h.run({}, {}, { strategy: 'sequential' });
    expect(change.changed()).toBe(true);
    expect({ first: summary(first), sent: sent(h) }).toEqual({
      first: { status: 'completed', seen: 10, notified: 9, unreadable: 1 },
      sent: [0, 1, 2, 3, 4, 6, 7, 8, 9].map(id),
    });
    expect(searches.most()).toBe(1);
  });

  test('sequential: a cart changed during the run at the instant $skip counts from fails the run there, and the next run reads on', async () => {
    h = await start({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    failSearchesHolding(h, new Set([id(5)]));
    const change = changeBefore(h, 40, 2, 4);
    const first = await h.run({}, {}, { strategy: 'sequential' });
    expect(change.changed()).toBe(true);
    // $skip=2 from 05:40 now starts at cart-07, not cart-06: the run fails instead of missing it.
    expect(first.status).toBe('failed');
    expect(first.error).toMatch(/changed while the run read past a cart Retail Server cannot load/);
    h.clock.advanceMinutes(30);
    const second = await h.run({}, {}, { strategy: 'sequential' });
    expect(summary(second)).toMatchObject({ status: 'completed', unreadable: 1 });
    expect(sent(h)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9].map(id));
    expect(searches.most()).toBe(1);
  });

  test('sequential: a brief failure met at the time limit is no unreadable cart: the run ends before it and the next reads it', async () => {
    // Four carts, pages of four: the pass reads [00..03] in one page. cart-03 is fine, but the
    // pass's searches holding it fail with HTTP 500 five times in a row (the page's four attempts,
    // then the first attempt of asking for it alone) and answer again after that; by then the run
    // is in its last millisecond (MaxRunMinutes 60 plus the minute's grace), so the search of the
    // cart alone is not retried (its wait would not fit): no verdict on the cart.
    h = await start({
      now: '2026-11-23T12:00:00Z',
      data: store(tenMinutesApart(4)),
      env: { RetailServerClientOptions__PageSize: '4', RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '1000' },
    });
    const runStart = Date.parse('2026-11-23T12:00:00Z');
    let armed = false;
    let failures = 0;
    h.proxies.retail.inject({
      name: 'brief-failure-at-the-time-limit',
      path: /\/Carts\/Search/,
      match: (request) => armed && answerHolds(h, request, new Set([id(3)])),
      times: 5,
      before: () => {
        if (++failures === 5) h.clock.set(new Date(runStart + 61 * 60_000 - 1));
      },
      fault: { kind: 'status', status: 500, headers: { 'Retry-After': '1' } },
    });
    const first = await h.run({}, {}, { strategy: 'sequential', maxRunMinutes: 60 }, {
      // Armed once the survey is done (its two pages: the head, then the rest from 05:30).
      onProgress: (progress) => {
        if (progress.phase === 'survey' && progress.pages >= 2) armed = true;
      },
    });
    expect(failures).toBe(5);
    h.clock.advanceMinutes(30);
    const second = await h.run({}, {}, { strategy: 'sequential' });
    expect({ first: first.carts.skippedByReason['unreadable-record'] ?? 0, error: first.error, second: summary(second), sent: sent(h) }).toEqual({
      first: 0,
      error: expect.stringMatching(/no time left \(MaxRunMinutes\)/),
      second: { status: 'completed', seen: 4, notified: 4, unreadable: 0 },
      sent: [0, 1, 2, 3].map(id),
    });
    expect(searches.most()).toBe(1);
  });

  test('sequential: an outage that begins during the narrowing is not taken for an unreadable cart', async () => {
    // Ten carts, pages of eight; cart-06 cannot be loaded. The pass's first page [00..07] fails and
    // is narrowed: the probe and $top=4 are answered, and right after that the cart search is down
    // for ten requests: the halvings, the cart "found" alone and its neighbours all fail.
    h = await start({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '8' } });
    failSearchesHolding(h, new Set([id(6)]));
    let outage = false;
    // The survey narrows the same page first; the pass's $top=4 is the second.
    h.proxies.retail.inject({ name: 'outage-begins', path: /\/Carts\/Search/, match: (request) => searchOf(request).top === 4, skip: 1, times: 1, before: () => void (outage = true) });
    const down = h.proxies.retail.inject({ name: 'outage', path: /\/Carts\/Search/, match: () => outage, times: 10, fault: { kind: 'status', status: 500 } });
    const first = await h.run({}, {}, { strategy: 'sequential' });
    expect(down.fired).toBe(10);
    expect(summary(first)).toMatchObject({ status: 'failed', unreadable: 0 });
    // The outage is over; cart-06 still cannot be loaded.
    h.clock.advanceMinutes(30);
    const second = await h.run({}, {}, { strategy: 'sequential' });
    expect({ second: summary(second), sent: sent(h) }).toEqual({
      second: { status: 'completed', seen: 10, notified: 9, unreadable: 1 },
      sent: [0, 1, 2, 3, 4, 5, 7, 8, 9].map(id),
    });
    expect(searches.most()).toBe(1);
  });

  test('sequential: a brief failure (HTTP 500, twice) of the search right after the unreadable cart is retried; no readable cart is lost', async () => {
    // Pages of 2: [00] + unreadable cart-01 (after it: 02); then from 05:00 (cart-00's instant)
    // with $skip 2: [02, 03], both at 05:20, then on with $skip from 05:00 (survey, then pass).
    h = await start({ now: '2026-11-23T12:00:00Z', data: store([0, 10, 20, 20, 20, 30]), env: { RetailServerClientOptions__PageSize: '2' } });
    failSearchesHolding(h, new Set([id(1)]));
    const brief = h.proxies.retail.inject({
      name: 'brief-500',
      path: /\/Carts\/Search/,
      match: (request) => {
        const search = searchOf(request);
        return search.top === 2 && search.skip === 2 && Date.parse(search.from ?? '') === START;
      },
      skip: 1, // the survey's is answered; the pass's fails twice, then is answered
      times: 2,
      fault: { kind: 'status', status: 500 },
    });
    const first = await h.run({}, {}, { strategy: 'sequential' });
    expect(brief.fired).toBe(2);
    expect({ first: summary(first), sent: sent(h) }).toEqual({
      first: { status: 'completed', seen: 6, notified: 5, unreadable: 1 },
      sent: [0, 2, 3, 4, 5].map(id),
    });
    expect(searches.most()).toBe(1);
  });

  test.each([{ label: 'pipelined', job: {} }, { label: 'sequential', job: { strategy: 'sequential' as const } }])('$label: a record without a usable id right before an unreadable cart: both runs complete', async ({ job }) => {
    h = await start({ now: '2026-11-23T12:00:00Z', data: storeWithKeyless(), env: { RetailServerClientOptions__PageSize: '4' } });
    failSearchesHolding(h, new Set([id(1)]));
    const first = await h.run({}, {}, job);
    h.clock.advanceMinutes(30);
    const second = await h.run({}, {}, job);
    expect({ first: summary(first), second: summary(second) }).toEqual({
      first: { status: 'completed', seen: 4, notified: 2, unreadable: 1 },
      second: { status: 'completed', seen: 0, notified: 0, unreadable: 0 },
    });
    if ('strategy' in job) expect(searches.most()).toBe(1);
  });

  test('the fault harness runs the job settings and dependencies it is given', async () => {
    h = await start({ now: '2026-11-23T12:00:00Z', data: store(tenMinutesApart(10)), env: { RetailServerClientOptions__PageSize: '4' } });
    let progress = 0;
    await h.run({}, {}, { strategy: 'sequential' }, { onProgress: () => void progress++ });
    expect(progress).toBeGreaterThan(0);
    expect(searches.most()).toBe(1);
  });
});
