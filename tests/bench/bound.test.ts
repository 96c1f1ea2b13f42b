import { lowerBound } from '../../bench/bound';
import { measureChain, type SearchRecord } from '../../bench/search-chain';

describe('lowerBound', () => {
  const calls = { channel: 1, cartSearch: 23, customers: 98, products: 51, provider: 11 };

  test('each term by its formula; the largest one is the bound', () => {
    const bound = lowerBound({ latencyMs: 100, concurrency: 4, emarsysConcurrency: 2, storeConcurrency: 5, calls, searchChain: 14, pages: 10, store: { kind: 'modeled', latencyMs: 10, requests: 325 } });
    expect(bound.terms).toEqual({
      // channel + lease + checkpoint read, 14 searches, last page (lookups, claim, send, record),
      // the page's checkpoint + the last checkpoint + the lease's release + the run report
      chain: 100 + 10 + 10 + 14 * 100 + (100 + 10 + 100 + 10) + (10 + 10 + 10 + 10),
      retail: ((1 + 23 + 98 + 51) * 100) / 4,
      emarsys: (11 * 100) / 2,
      storeRequests: (325 * 10) / 5,
    });
    expect(bound).toMatchObject({ ms: 4325, limitedBy: 'retail' });
  });

  test('a window with no carts: no page, so no page checkpoint in the chain', () => {
    const none = { channel: 1, cartSearch: 1, customers: 0, products: 0, provider: 0 };
    const bound = lowerBound({ latencyMs: 100, concurrency: 4, emarsysConcurrency: 2, storeConcurrency: 5, calls: none, searchChain: 1, pages: 0, store: { kind: 'modeled', latencyMs: 10, requests: 5 } });
    // channel + lease + checkpoint read, one search, then the last checkpoint, the release and the report.
    expect(bound.terms.chain).toBe(100 + 10 + 10 + 100 + (10 + 10 + 10));
  });

  test('a long chain with little else to do is bound by the chain', () => {
    const bound = lowerBound({
      latencyMs: 100,
      concurrency: 32,
      emarsysConcurrency: 10,
      storeConcurrency: 100,
      calls: { ...calls, customers: 2, products: 2 },
      searchChain: 40,
      pages: 2,
      store: { kind: 'modeled', latencyMs: 10, requests: 50 },
    });
    expect(bound.limitedBy).toBe('chain');
  });

  test('the embedded store counts its operations against the capacity measured', () => {
    const bound = lowerBound({
      latencyMs: 0,
      concurrency: 4,
      emarsysConcurrency: 10,
      storeConcurrency: 100,
      calls,
      searchChain: 14,
      pages: 10,
      store: { kind: 'embedded', requestMs: 2, operations: 28_000, operationsPerSecond: 7000 },
    });
    expect(bound.terms.storeCapacity).toBe(4000);
    expect(bound.terms.storeRequests).toBeUndefined();
    expect(bound).toMatchObject({ ms: 4000, limitedBy: 'storeCapacity' });
  });
});

describe('measureChain', () => {
  const to = new Date('2026-11-23T11:50:00.000Z');
  const from = new Date('2026-11-23T03:40:00.000Z');
  const at = (minutes: number) => new Date(from.getTime() + minutes * 60_000);
  let clock = 0;
  /** A search answered with a full page (`count` 100) ending at `newest`, or a short last page. */
  const search = (start: Date, end: Date, newest: Date | undefined, startedAt: number, duration = 10): SearchRecord => ({
    query: { from: start, to: end, includeAnonymous: false, top: 100, skip: 0 },
    startedAt,
    endedAt: startedAt + duration,
    count: newest ? 100 : 20,
    newest: newest ? newest.getTime() : at(0).getTime(),
  });

  test('two slices read in parallel, then one pass: the longest slice plus the pass', () => {
    clock = 0;
    const half = at(240);
    const survey = [
      // slice 1: three searches in a chain
      search(from, half, at(80), clock),
      search(at(80), half, at(160), clock + 10),
      search(at(160), half, undefined, clock + 20),
      // slice 2, at the same time: two
      search(half, to, at(400), clock),
      search(at(400), to, undefined, clock + 10),
    ];
    const pass = [search(from, to, at(100), 40), search(at(100), to, at(300), 50), search(at(300), to, at(450), 60), search(at(450), to, undefined, 70)];
    expect(measureChain([...survey, ...pass], from)).toEqual({ survey: 3, pass: 4 });
  });

  test('one pass read twice in turn (survey, then pages) counts twice; a window read once counts once', () => {
    const read = (offset: number) => [search(from, to, at(100), offset), search(at(100), to, at(300), offset + 10), search(at(300), to, undefined, offset + 20)];
    expect(measureChain([...read(0), ...read(30)], from)).toEqual({ survey: 3, pass: 3 });
    expect(measureChain(read(0), from)).toEqual({ survey: 3, pass: 0 });
  });

  test('when the job reports the end of its survey, the pass is what came after, wherever it starts', () => {
    const survey = [search(from, to, at(100), 0), search(at(100), to, at(300), 10), search(at(300), to, undefined, 20)];
    // The pass works its first range from the survey's copy: it starts at a later range.
    const pass = [search(at(100), at(300), undefined, 35), search(at(300), to, undefined, 35)];
    expect(measureChain([...survey, ...pass], from, 30)).toEqual({ survey: 3, pass: 1 });
    expect(measureChain([...survey, ...pass], from)).toEqual({ survey: 3, pass: 0 });
  });

  test('a pass that starts while the survey is still reading is not a second chain', () => {
    const survey = [search(from, to, at(100), 0, 50), search(at(100), to, undefined, 50, 50)];
    const overlapping = [search(from, to, at(100), 60, 10), search(at(100), to, undefined, 70, 10)];
    expect(measureChain([...survey, ...overlapping], from)).toEqual({ survey: 2, pass: 0 });
  });
});
