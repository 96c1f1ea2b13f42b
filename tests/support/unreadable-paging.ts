import { cartPages } from '../../src/job/cart-pages';
import type { CartSearchQuery, RetailServerClient } from '../../src/retail/retail-client';
import { RemoteServiceError } from '../../src/shared/errors';
import { buildSimulatorData, cartRecord, type RawRecord } from '../../src/simulators/retail-server';
import { directCartSearch } from './direct-cart-search';

/**
 * Cart paging around carts Retail Server cannot load, without HTTP: `changeable` is the
 * simulator's own search over carts at the given minutes, failing (HTTP 500) any page that would
 * hold one of the unreadable carts; `extra` may fail a request first; `raw` adds records as they
 * are (hostile ones). The data is returned too, so that a test can change a cart between pages.
 */
export const from = new Date('2026-11-23T00:00:00Z');
export const to = new Date('2026-11-23T04:00:00Z');
export const id = (i: number) => `cart-${String(i).padStart(2, '0')}`;
export const at = (minute: number) => new Date(from.getTime() + minute * 60_000);

export const http500 = () => new RemoteServiceError('POST Carts/Search failed with HTTP 500.', { service: 'RetailServer', operation: 'POST Carts/Search', statusCode: 500, retryable: true });

export function changeable(
  minutes: readonly number[],
  unreadable: ReadonlySet<string>,
  extra?: (query: CartSearchQuery) => RemoteServiceError | undefined,
  raw: readonly RawRecord[] = [],
) {
  const data = buildSimulatorData({
    carts: [
      ...minutes.map((minute, i) => cartRecord({ id: id(i), customerId: `C${i}`, modifiedDateTime: at(minute).toISOString(), lines: [{ productId: 1 }] })),
      ...raw,
    ],
  });
  const direct = directCartSearch(data);
  const searches: CartSearchQuery[] = [];
  const retail = {
    async searchCarts(query: CartSearchQuery): Promise<unknown[]> {
      searches.push(query);
      const injected = extra?.(query);
      if (injected) throw injected;
      const records = (await direct.searchCarts(query)) as { Id: string }[];
      if (records.some((record) => unreadable.has(record.Id))) throw http500();
      return records;
    },
  };
  return { retail, data, searches };
}

/** Ids read in order (the window ends at `to`); an unreadable cart as '!', a record without a usable key as '?'. */
export async function readAll(retail: Pick<RetailServerClient, 'searchCarts'>, range: { from: Date; to: Date; before?: number | undefined; cartIdsDoneAtFrom: readonly string[] }, pageSize: number) {
  const ids: string[] = [];
  for await (const page of cartPages(retail, { ...range, pageSize, includeAnonymous: false, horizon: to })) ids.push(...page.map((cart) => (cart.unreadable ? '!' : (cart.key?.id ?? '?'))));
  return ids;
}

/**
 * Which of `count` carts (by index, in search order) Retail Server cannot load: the picks, plus a
 * run of carts side by side. Carts side by side are read past when a readable cart follows them in
 * the window, so a run of two or more that would reach the last cart ends one short of it.
 */
export function unreadableIds(count: number, picks: readonly number[], run: { start: number; length: number } = { start: 0, length: 0 }): Set<string> {
  const bad = new Set([...picks, ...Array.from({ length: run.length }, (_, i) => run.start + i)].filter((i) => i < count));
  if (bad.has(count - 1) && bad.has(count - 2)) bad.delete(count - 1);
  return new Set([...bad].map(id));
}
