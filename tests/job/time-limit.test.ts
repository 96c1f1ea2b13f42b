import type { Clock } from '../../src/shared/clock';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * MaxRunMinutes: a run that reaches it starts no new page, records what it did, moves the
 * checkpoint past it and releases its lease; the report's `remaining` is the part of the window it
 * left. Now is 12:00, so the default window is 03:40 to 11:50.
 */
const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');

/** 60 carts a minute apart; customer C0 also has a newer cart (the last), so their first is superseded. */
function seed() {
  const carts = Array.from({ length: 60 }, (_, i) =>
    cartRecord({
      id: `cart-${String(i).padStart(2, '0')}`,
      customerId: i === 59 ? 'C0' : `C${i}`,
      modifiedDateTime: new Date(START + i * 60_000).toISOString(),
      lines: [{ productId: 1 }],
    }),
  );
  return buildSimulatorData({ customers: Array.from({ length: 59 }, (_, i) => customerRecord(`C${i}`)), products: [productRecord(1)], carts });
}

/** The harness's clock, except that it jumps `minutes` ahead once the first reminder has been sent. */
function jumpsAfterFirstSend(h: Harness, minutes: number): Clock {
  return { now: () => new Date(h.clock.now().getTime() + (h.emarsys.deliveries.length > 0 ? minutes * 60_000 : 0)) };
}

const PAGES = { RetailServerClientOptions__PageSize: '10', RetailServerClientOptions__PageConcurrency: '1', RetailServerClientOptions__MaxRunMinutes: '5' };

describe('a run that reaches its time limit', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ data: seed(), now: NOW });
  });
  afterEach(() => h.close());

  const sentCarts = () => h.emarsys.deliveries.map((d) => String(d.data.cartId));

  test('starts no new page, leaves the rest to the next run, and the two runs remind everyone once', async () => {
    const first = await h.run({}, PAGES, {}, { clock: jumpsAfterFirstSend(h, 6) });

    expect(first.status).toBe('completed');
    expect(first.remaining).toBeDefined();
    const remaining = first.remaining as { from: string; to: string };
    expect(remaining.to).toBe(first.window.to);
    // It worked the window's oldest page and no other; the checkpoint stands where it stopped.
    expect(first.pages).toBe(1);
    expect(first.carts.seen).toBeGreaterThan(0);
    expect(first.carts.seen).toBeLessThan(60);
    expect(first.checkpoint?.lastModifiedAt).toBe(remaining.from);
    const cut = Date.parse(remaining.from);
    const firstSent = sentCarts();
    expect(firstSent.length).toBeGreaterThan(0);
    for (const id of firstSent) expect(START + Number(id.slice(5)) * 60_000).toBeLessThanOrEqual(cut);
    // C0's first cart was superseded by the newer one the survey saw at the window's end.
    expect(firstSent).not.toContain('cart-00');
    expect(first.carts.skippedByReason.superseded).toBe(1);
    expect(h.logs.some((log) => log.message === 'Abandoned cart run reached its time limit; it started no new page')).toBe(true);
    // The stored report says so too (GET /runs/{runId}).
    expect((await (await h.ledger()).getRun(first.runId))?.remaining).toEqual(remaining);

    // The lease was released: the next run, right away, is not turned away, and finishes the window.
    const second = await h.run({}, { ...PAGES, RetailServerClientOptions__MaxRunMinutes: '60' });
    expect(second.status).toBe('completed');
    expect(second.remaining).toBeUndefined();
    expect(second.window).toMatchObject({ source: 'checkpoint', from: remaining.from });
    const all = sentCarts();
    expect(all).toHaveLength(59);
    expect(new Set(all).size).toBe(59);
    expect(all).not.toContain('cart-00');
    expect(all).toContain('cart-59');
  });

  test.each([
    ['pipelined, three pages at once', { RetailServerClientOptions__PageConcurrency: '3' }, 'pipelined' as const],
    ['sequential', {}, 'sequential' as const],
  ])('%s: the pages in flight finish; nothing is sent twice or left out over two runs', async (_name, env, strategy) => {
    const first = await h.run({}, { ...PAGES, ...env }, { strategy }, { clock: jumpsAfterFirstSend(h, 6) });
    const remaining = first.remaining as { from: string; to: string };
    expect(remaining).toBeDefined();
    expect(first.checkpoint?.lastModifiedAt).toBe(remaining.from);
    for (const id of sentCarts()) expect(START + Number(id.slice(5)) * 60_000).toBeLessThanOrEqual(Date.parse(remaining.from));
    expect(sentCarts().length).toBeLessThan(59);

    const second = await h.run({}, { ...PAGES, ...env, RetailServerClientOptions__MaxRunMinutes: '60' }, { strategy });
    expect(second.remaining).toBeUndefined();
    expect(sentCarts()).toHaveLength(59);
    expect(new Set(sentCarts()).size).toBe(59);
  });

  test('a rerun that reaches it reports the window to rerun, and rerunning it finishes the job', async () => {
    const window = { from: new Date('2026-11-23T03:00:00Z'), to: new Date('2026-11-23T11:00:00Z') };
    const first = await h.run(window, PAGES, {}, { clock: jumpsAfterFirstSend(h, 6) });
    expect(first.window.source).toBe('request');
    expect(first.remaining?.to).toBe('2026-11-23T11:00:00.000Z');
    // A rerun's window does not move the checkpoint.
    expect(first.checkpoint).toBeUndefined();
    const sentFirst = sentCarts().length;
    expect(sentFirst).toBeGreaterThan(0);
    expect(sentFirst).toBeLessThan(59);

    const remaining = first.remaining as { from: string; to: string };
    const rest = await h.run({ from: new Date(remaining.from), to: new Date(remaining.to) }, { ...PAGES, RetailServerClientOptions__MaxRunMinutes: '60' });
    expect(rest.remaining).toBeUndefined();
    const all = sentCarts();
    expect(new Set(all).size).toBe(59);
    expect(all).toHaveLength(59);
  });

  test('a run past its limit with nothing left to take is complete: no remaining, the checkpoint at the window end', async () => {
    // The whole window is one page of 100: the limit passes during it, with no second page to skip.
    const report = await h.run({}, { ...PAGES, RetailServerClientOptions__PageSize: '100' }, {}, { clock: jumpsAfterFirstSend(h, 6) });
    expect(report.remaining).toBeUndefined();
    expect(report.checkpoint?.lastModifiedAt).toBe(report.window.to);
    expect(sentCarts()).toHaveLength(59);
  });

  test('the entry point may ask for less time than MaxRunMinutes; the smaller limit applies', async () => {
    const limited = await h.run({ maxRunMinutes: 1 }, { ...PAGES, RetailServerClientOptions__MaxRunMinutes: '60' }, {}, { clock: jumpsAfterFirstSend(h, 2) });
    expect(limited.remaining).toBeDefined();
    expect(limited.pages).toBe(1);
  });

  test('a dry run that reaches it says how far it read, and sends and records nothing', async () => {
    // A dry run sends nothing, so its clock jumps once the first page has been read.
    const clock: Clock = { now: () => new Date(h.clock.now().getTime() + (pagesRead > 0 ? 6 * 60_000 : 0)) };
    let pagesRead = 0;
    const dry = await h.run({ dryRun: true }, PAGES, {}, {
      clock,
      onProgress: ({ phase }) => {
        if (phase === 'pages') pagesRead++;
      },
    });
    expect(dry.dryRun).toBe(true);
    expect(dry.remaining).toBeDefined();
    expect(dry.pages).toBeLessThan(6);
    expect(Date.parse(dry.remaining?.from ?? '')).toBeGreaterThan(Date.parse(dry.window.from));
    expect(dry.checkpoint).toBeUndefined();
    expect(h.emarsys.deliveries).toHaveLength(0);
    const ledger = await h.ledger();
    expect(await ledger.getCheckpoint('128', dry.channelId as number)).toBeUndefined();
  });
});

describe('a window too large to survey in half the run', () => {
  let h: Harness;
  const CARTS = 300;
  beforeEach(async () => {
    // 300 carts a minute apart, one customer each: 30 pages of 10.
    h = await startHarness({
      now: NOW,
      data: buildSimulatorData({
        customers: Array.from({ length: CARTS }, (_, i) => customerRecord(`C${i}`)),
        products: [productRecord(1)],
        carts: Array.from({ length: CARTS }, (_, i) =>
          cartRecord({ id: `cart-${String(i).padStart(3, '0')}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * 60_000).toISOString(), lines: [{ productId: 1 }] }),
        ),
      }),
    });
  });
  afterEach(() => h.close());

  test.each(['pipelined' as const, 'sequential' as const])(
    '%s: the survey stops where it got to, the run works that stretch and no further, the next run the rest',
    async (strategy) => {
      // Five minutes pass once the survey has read two pages: past the survey's half of MaxRunMinutes (8).
      let surveyPages = 0;
      const clock: Clock = { now: () => new Date(h.clock.now().getTime() + (surveyPages >= 2 ? 5 * 60_000 : 0)) };
      const env = { RetailServerClientOptions__PageSize: '10' };
      const first = await h.run({}, env, { strategy }, {
        clock,
        onProgress: ({ phase, pages }) => {
          if (phase === 'survey') surveyPages = pages;
        },
      });

      expect(first.status).toBe('completed');
      const remaining = first.remaining as { from: string; to: string };
      expect(remaining).toBeDefined();
      expect(remaining.to).toBe(first.window.to);
      expect(first.checkpoint?.lastModifiedAt).toBe(remaining.from);
      expect(h.logs.some((log) => log.message === 'Abandoned cart run cut its window: the survey ran out of time')).toBe(true);
      // It worked a stretch from the window's start, every cart of it, and nothing after it.
      const cut = Date.parse(remaining.from);
      const sent = h.emarsys.deliveries.map((d) => Number(String(d.data.cartId).slice(5)));
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.length).toBeLessThan(CARTS);
      expect([...sent].sort((a, b) => a - b)).toEqual(Array.from({ length: sent.length }, (_, i) => i));
      for (const i of sent) expect(START + i * 60_000).toBeLessThanOrEqual(cut);

      const second = await h.run({}, env, { strategy });
      expect(second.remaining).toBeUndefined();
      const all = h.emarsys.deliveries.map((d) => String(d.data.cartId));
      expect(new Set(all).size).toBe(CARTS);
      expect(all).toHaveLength(CARTS);
    },
  );
});
