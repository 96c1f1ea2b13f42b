import fc from 'fast-check';
import type { CartSearchQuery } from '../../src/retail/retail-client';
import { RemoteServiceError } from '../../src/shared/errors';
import { cartRecord, type RawRecord } from '../../src/simulators/retail-server';
import { at, changeable, http500, id, readAll, to } from './unreadable-paging';

/**
 * An adversarial case through the paging (`readAll` over `changeable`): unreadable carts
 * (pairs too), records without a usable id, carts done at the start, several ranges with `before`,
 * page sizes 1..6, brief failures (500 or 429) at random requests, and carts changed (moved past the
 * window) at random requests. `check` says what is wrong with a read that COMPLETED: a readable cart
 * not changed read other than once, a done cart read, more '!' than unreadable carts, fewer '?'
 * than keyless records; a retryable failure is always acceptable. With `control`, the same case
 * without unreadable carts (to tell the feature's defects from plain keyset paging's).
 */

const http429 = () => new RemoteServiceError('POST Carts/Search failed with HTTP 429.', { service: 'RetailServer', operation: 'POST Carts/Search', statusCode: 429, retryable: true });

export interface Case {
  gaps: number[];
  unreadable: number[];
  allowPairs: boolean;
  done: number;
  cuts: number[];
  pageSize: number;
  keyless: { minute: number; kind: 'null' | 'empty' | 'number' }[];
  failAt: { request: number; kind: '500' | '429' }[];
  changes: { request: number; cart: number }[];
}

export const caseArb = (opts: { failures: number; changes: number; keyless: number; maxRequest?: number; maxCart?: number }) =>
  fc.integer({ min: 1, max: 20 }).chain((count) =>
    fc.record({
      gaps: fc.array(fc.constantFrom(0, 0, 0, 1, 7), { minLength: count, maxLength: count }),
      unreadable: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 5 }),
      allowPairs: fc.boolean(),
      done: fc.integer({ min: 0, max: count }),
      cuts: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 4 }),
      pageSize: fc.integer({ min: 1, max: 6 }),
      keyless: fc.array(fc.record({ minute: fc.integer({ min: 0, max: 40 }), kind: fc.constantFrom('null' as const, 'empty' as const, 'number' as const) }), { maxLength: opts.keyless }),
      failAt: fc.array(fc.record({ request: fc.integer({ min: 0, max: 60 }), kind: fc.constantFrom('500' as const, '429' as const) }), { maxLength: opts.failures }),
      changes: fc.array(fc.record({ request: fc.integer({ min: 1, max: opts.maxRequest ?? 60 }), cart: fc.integer({ min: 0, max: Math.min(count - 1, opts.maxCart ?? count) }) }), { maxLength: opts.changes }),
    }),
  );

export async function check(c: Case, control = false, betweenPages = false, duringNarrowing = false): Promise<string | undefined> {
  let minute = 0;
  const minutes = c.gaps.map((gap) => (minute += gap));
  const badIdx = control ? [] : c.allowPairs ? c.unreadable : c.unreadable.filter((i) => !c.unreadable.includes(i - 1));
  const bad = new Set(badIdx.map(id));
  const first = minutes[0] as number;
  const doneIds = minutes
    .map((m, i) => ({ m, cart: id(i) }))
    .filter(({ m, cart }) => m === first && !bad.has(cart))
    .slice(0, c.done)
    .map(({ cart }) => cart);
  const keylessMinutes = c.keyless.map((k) => ({ ...k, minute: first + (k.minute % (Math.max(...minutes) - first + 1)) }));
  const raw: RawRecord[] = keylessMinutes.map((k, i) =>
    cartRecord({ id: `k${i}`, customerId: 'CK', modifiedDateTime: at(k.minute).toISOString(), lines: [{ productId: 1 }], overrides: { Id: k.kind === 'null' ? null : k.kind === 'empty' ? '' : 42 } }),
  );
  const boundaries = [...new Set(c.cuts.map((i) => (minutes[i] as number) + (i % 3 === 2 ? 0.5 : 0)).filter((m) => m > first))].sort((a, b) => a - b);
  const starts = [first, ...boundaries];
  const ranges = starts.map((start, i) => {
    const end = starts[i + 1];
    return { from: at(start), to: end === undefined ? to : at(end), before: end === undefined ? undefined : at(end).getTime(), cartIdsDoneAtFrom: i === 0 ? doneIds : [] };
  });
  // Keyless records at the window's first instant done? They cannot be in cartIdsDoneAtFrom; they are read.
  let request = 0;
  const moved = new Set<string>();
  const ref: { data?: { carts: RawRecord[] } } = {};
  const extra = (q: CartSearchQuery) => {
    // betweenPages: changes only right before a page's own first search (never during a narrowing).
    const pageSearch = !q.narrowing && q.top === c.pageSize && q.from.getTime() > 0;
    if (betweenPages && !pageSearch) return undefined;
    // duringNarrowing: the change comes at the given narrowing request (a halving or placing search).
    if (duringNarrowing && !q.narrowing) return undefined;
    const n = request++;
    for (const change of c.changes) {
      if ((betweenPages ? change.request % 8 : duringNarrowing ? change.request % 6 : change.request) === n && ref.data) {
        // A copy changes (a real server answers with copies: what was answered before stays as it was).
        const index = ref.data.carts.findIndex((r) => r.Id === id(change.cart));
        if (index >= 0) {
          ref.data.carts[index] = { ...ref.data.carts[index], ModifiedDateTime: new Date(to.getTime() + 3_600_000).toISOString() };
          moved.add(id(change.cart));
        }
      }
    }
    const f = c.failAt.find((x) => x.request === n);
    if (f) return f.kind === '500' ? http500() : http429();
    return undefined;
  };
  const { retail, data, searches } = changeable(minutes, bad, extra, raw);
  ref.data = data;
  const readable = minutes.map((_, i) => id(i)).filter((cart) => !bad.has(cart) && !doneIds.includes(cart));
  const describeRun = (label: string, ids: string[]) => {
    const problems: string[] = [];
    for (const cart of readable) {
      const n = ids.filter((x) => x === cart).length;
      if (moved.has(cart) ? n > 1 : n !== 1) problems.push(`${cart} read ${n}x`);
    }
    for (const cart of doneIds) if (ids.includes(cart)) problems.push(`done ${cart} read`);
    const bangs = ids.filter((x) => x === '!').length;
    if (bangs > bad.size) problems.push(`${bangs} '!' for ${bad.size} unreadable`);
    const q = ids.filter((x) => x === '?').length;
    if (q < raw.length && moved.size === 0) problems.push(`${q} '?' for ${raw.length} keyless`);
    return problems.length ? `${label}: ${problems.join('; ')} :: ${JSON.stringify(ids)}` : undefined;
  };
  const all: string[] = [];
  try {
    for (const range of ranges) all.push(...(await readAll(retail, range, c.pageSize)));
  } catch (error) {
    if (!(error instanceof RemoteServiceError) || !error.retryable) return `non-retryable failure: ${String(error)}`;
    return undefined;
  }
  void searches;
  return describeRun(`ranges ${JSON.stringify(boundaries)} minutes ${JSON.stringify(minutes)} bad ${JSON.stringify([...bad])} done ${JSON.stringify(doneIds)} keyless ${JSON.stringify(keylessMinutes)} moved ${JSON.stringify([...moved])}`, all);
}


/** Fewer carts at one instant than a page holds: plain keyset paging's own $skip inside one instant (a known limit) stays out of it. */
export function smallInstants(c: Case): boolean {
  let m = 0;
  const counts = new Map<number, number>();
  for (const g of c.gaps) counts.set((m += g), (counts.get(m) ?? 0) + 1);
  return c.pageSize >= 2 && [...counts.values()].every((n) => n < c.pageSize);
}
