import { lookupIsolatingFailures, mayBeAboutARecord } from '../../src/retail/lookup-isolation';
import { RemoteServiceError } from '../../src/shared/errors';

/**
 * The split that finds the ids Retail Server fails every request for. `call` stands in for one
 * lookup request: these tests count the requests it makes and check what it concludes; the
 * reliability suite (poison-lookup) runs it through the real client and job against the simulator.
 */

const status = (statusCode: number) =>
  new RemoteServiceError(`POST Customers/GetByAccountNumbers failed with HTTP ${statusCode}.`, {
    service: 'RetailServer',
    operation: 'POST Customers/GetByAccountNumbers',
    statusCode,
    retryable: statusCode >= 500,
  });

/** A lookup endpoint that fails any request naming one of `poison` with `statusCode` (every request, for `down`). */
function endpoint(poison: ReadonlySet<number>, options: { statusCode?: number; down?: boolean } = {}) {
  const requests: { ids: number[]; probing: boolean }[] = [];
  return {
    requests,
    call: async (ids: number[], probing: boolean) => {
      requests.push({ ids, probing });
      if (options.down || ids.some((id) => poison.has(id))) throw status(options.statusCode ?? 500);
      return ids.map((id) => ({ RecordId: id }));
    },
  };
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

describe('lookupIsolatingFailures', () => {
  test('a request that succeeds is the only one', async () => {
    const e = endpoint(new Set());
    const result = await lookupIsolatingFailures(ids(1000), { call: e.call, knownGood: () => 5000, isolatesUpTo: 16 });
    expect([result.records.length, result.failed, e.requests.length]).toEqual([1000, [], 1]);
  });

  test('one bad id among 1,000 is found in a request per half per level, probing first and asking it alone again last', async () => {
    const e = endpoint(new Set([617]));
    const result = await lookupIsolatingFailures(ids(1000), { call: e.call, knownGood: () => 5000, isolatesUpTo: 16 });
    expect(result.failed).toEqual([{ id: 617, reason: 'POST Customers/GetByAccountNumbers failed with HTTP 500.' }]);
    expect(result.records).toHaveLength(999);
    // The whole chunk, the probe, two halves per level for ten levels (1000 -> 1), the bad id once
    // more, and the probe once more after it (an answer after the failure, not only before).
    expect(e.requests).toHaveLength(1 + 1 + 2 * 10 + 1 + 1);
    expect(e.requests[1]).toEqual({ ids: [5000], probing: true });
    expect(e.requests.at(-2)).toEqual({ ids: [617], probing: true });
    expect(e.requests.at(-1)).toEqual({ ids: [5000], probing: true });
    expect(e.requests.slice(1).every((request) => request.probing)).toBe(true);
    expect(e.requests[0]?.probing).toBe(false);
  });

  test('an outage that ends during the split is no bad record: the id is asked for again and answered', async () => {
    let down = true;
    const requests: number[][] = [];
    const call = async (asked: number[]) => {
      requests.push(asked);
      if (down) {
        down = false;
        throw status(500);
      }
      return asked.map((id) => ({ RecordId: id }));
    };
    const result = await lookupIsolatingFailures([7], { call, knownGood: () => 8, isolatesUpTo: 16 });
    expect([result.failed, result.records, requests]).toEqual([[], [{ RecordId: 7 }], [[7], [8], [7]]]);
  });

  test('several bad ids, HTTP 400: each is found, every other id answered once', async () => {
    const e = endpoint(new Set([3, 4, 90]), { statusCode: 400 });
    const result = await lookupIsolatingFailures(ids(100), { call: e.call, knownGood: () => undefined, isolatesUpTo: 16 });
    expect(result.failed.map((failure) => failure.id).sort((a, b) => a - b)).toEqual([3, 4, 90]);
    const answered = result.records.map((record) => (record as { RecordId: number }).RecordId);
    expect(new Set(answered).size).toBe(97);
    expect(answered).toHaveLength(97);
  });

  test('an outage: the probe of an id answered before fails too, so the lookup fails with its first error and nothing is split', async () => {
    const e = endpoint(new Set(), { down: true });
    await expect(lookupIsolatingFailures(ids(1000), { call: e.call, knownGood: () => 5000, isolatesUpTo: 16 })).rejects.toThrow('HTTP 500');
    expect(e.requests.map((request) => request.ids.length)).toEqual([1000, 1]);
  });

  test('an outage with no id to probe: the split stops two levels down, and the lookup fails', async () => {
    const e = endpoint(new Set(), { down: true });
    await expect(lookupIsolatingFailures(ids(1000), { call: e.call, knownGood: () => undefined, isolatesUpTo: 16 })).rejects.toThrow('HTTP 500');
    expect(e.requests.map((request) => request.ids.length)).toEqual([1000, 500, 500, 250, 250, 250, 250]);
  });

  test('a lone id that fails, nothing else answered and nothing to probe: not taken for a bad record', async () => {
    const e = endpoint(new Set([7]));
    await expect(lookupIsolatingFailures([7], { call: e.call, knownGood: () => undefined, isolatesUpTo: 16 })).rejects.toThrow('HTTP 500');
    // With an id answered before, the probe tells them apart.
    const result = await lookupIsolatingFailures([7], { call: e.call, knownGood: () => 8, isolatesUpTo: 16 });
    expect(result.failed.map((failure) => failure.id)).toEqual([7]);
  });

  test('more bad ids than it looks for: those it has not isolated fail together, the rest are answered', async () => {
    const bad = new Set(ids(10));
    const e = endpoint(bad);
    const result = await lookupIsolatingFailures(ids(100), { call: e.call, knownGood: () => 500, isolatesUpTo: 1 });
    const failedIds = result.failed.map((failure) => failure.id);
    const answered = result.records.map((record) => (record as { RecordId: number }).RecordId);
    expect(failedIds).toEqual(expect.arrayContaining([...bad]));
    expect([...failedIds, ...answered].sort((a, b) => a - b)).toEqual(ids(100));
    expect(answered.length).toBeGreaterThanOrEqual(87);
    expect(result.failed.some((failure) => /ids asked together; the lookup was not split further/.test(failure.reason))).toBe(true);
    // The budget: 2 x 1 bad id x 7 halvings, besides the chunk and the probe.
    expect(e.requests.length).toBeLessThanOrEqual(1 + 1 + 2 * 1 * 7);
  });

  test('ten bad ids spread over a hundred, within the budget: each found, none of the others failed', async () => {
    const bad = new Set([5, 15, 25, 35, 45, 55, 65, 75, 85, 95]);
    const e = endpoint(bad);
    const result = await lookupIsolatingFailures(ids(100), { call: e.call, knownGood: () => 500, isolatesUpTo: 16 });
    expect(result.failed.map((failure) => failure.id).sort((a, b) => a - b)).toEqual([...bad]);
    expect(result.records).toHaveLength(90);
  });

  test('every id bad while Retail Server answers others: each fails on its own', async () => {
    const e = endpoint(new Set([1, 2, 3, 4]));
    const result = await lookupIsolatingFailures([1, 2, 3, 4], { call: e.call, knownGood: () => 8, isolatesUpTo: 16 });
    expect(result.failed.map((failure) => failure.id)).toEqual([1, 2, 3, 4]);
    expect(result.records).toEqual([]);
  });

  test('failures about the service, not a record, are not split', async () => {
    for (const statusCode of [401, 403, 404, 429, 502, 503, 504]) {
      const e = endpoint(new Set([1]), { statusCode });
      await expect(lookupIsolatingFailures(ids(10), { call: e.call, knownGood: () => 50, isolatesUpTo: 16 })).rejects.toThrow(`HTTP ${statusCode}`);
      expect(e.requests).toHaveLength(1);
    }
    // A network failure or a token endpoint failure neither.
    expect(mayBeAboutARecord(new RemoteServiceError('down', { service: 'TokenEndpoint', operation: 'token', statusCode: 500, retryable: true }))).toBe(false);
    expect(mayBeAboutARecord(new RemoteServiceError('reset', { service: 'RetailServer', operation: 'x', code: 'ECONNRESET', retryable: true }))).toBe(false);
    expect(mayBeAboutARecord(new Error('HTTP 500'))).toBe(false);
  });

  test('a probe that is throttled fails the lookup with the throttling, not the record\'s error', async () => {
    let calls = 0;
    const call = async () => {
      calls++;
      throw status(calls === 1 ? 500 : 429);
    };
    await expect(lookupIsolatingFailures(ids(10), { call, knownGood: () => 50, isolatesUpTo: 16 })).rejects.toThrow('HTTP 429');
  });

  test('a split that meets a service failure midway fails the lookup with it', async () => {
    let calls = 0;
    const call = async (asked: number[]) => {
      calls++;
      if (calls === 1) throw status(500);
      if (calls >= 3) throw status(503);
      return asked.map((id) => ({ RecordId: id }));
    };
    await expect(lookupIsolatingFailures(ids(10), { call, knownGood: () => 50, isolatesUpTo: 16 })).rejects.toThrow('HTTP 503');
  });
});
