import { LOOK_FURTHER, searchPastUnreadableCart, type NarrowingOptions } from '../../src/retail/unreadable-cart';
import { RemoteServiceError } from '../../src/shared/errors';

/**
 * The narrowing that finds the cart a cart search page fails for. `search` stands in for one
 * request of the page (offset and $top from where the page starts): these tests count the requests
 * and check what it concludes; the reliability suite (unreadable-carts) runs it through the real
 * client and job against the simulator.
 */

const status = (statusCode: number) =>
  new RemoteServiceError(`POST Carts/Search failed with HTTP ${statusCode}.`, {
    service: 'RetailServer',
    operation: 'POST Carts/Search',
    statusCode,
    retryable: statusCode >= 500,
  });

interface Request {
  offset: number;
  top: number;
  narrowing: boolean;
}

/**
 * A range of `size` carts (positions 0..size-1) from where the page starts, of which Retail Server
 * cannot load those at `poison`: any search whose answer would hold one fails with `statusCode`.
 * `down` fails every request (the probe too); `failFirst` fails that many requests whatever they ask.
 */
function range(size: number, poison: ReadonlySet<number>, options: { statusCode?: number; down?: boolean; failFirst?: number } = {}) {
  const requests: Request[] = [];
  let probes = 0;
  let failFirst = options.failFirst ?? 0;
  const search: NarrowingOptions['search'] = async (offset, top, narrowing) => {
    requests.push({ offset, top, narrowing });
    const positions = Array.from({ length: Math.max(0, Math.min(top, size - offset)) }, (_, i) => offset + i);
    if (options.down || failFirst-- > 0 || positions.some((position) => poison.has(position))) throw status(options.statusCode ?? 500);
    return positions.map((position) => ({ position }));
  };
  const probe = async (): Promise<unknown> => {
    probes++;
    if (options.down) throw status(options.statusCode ?? 500);
    return undefined;
  };
  return { requests, search, probe, probes: () => probes };
}

const positions = (records: unknown[]) => records.map((record) => (record as { position: number }).position);

describe('searchPastUnreadableCart', () => {
  test('a page that is answered is the only request', async () => {
    const r = range(5000, new Set());
    const page = await searchPastUnreadableCart(1000, r);
    expect([page.records.length, page.unreadable, r.requests.length, r.probes()]).toEqual([1000, undefined, 1, 0]);
  });

  test.each([0, 1, 637, 998, 999])('one cart at %i of a page of 1,000 is found by halving: the carts before it, it alone again, and the one after', async (at) => {
    const r = range(5000, new Set([at]));
    const page = await searchPastUnreadableCart(1000, r);
    expect(positions(page.records)).toEqual(Array.from({ length: at }, (_, i) => i));
    expect(page.unreadable).toEqual({ index: at, reason: 'POST Carts/Search failed with HTTP 500.', after: [{ position: at + 1 }] });
    // The page, a probe, nine or ten halvings (ceil(log2 1000)), the cart alone (every retry), the
    // cart after it, the cart alone once more, and the carts before it once more (when there are any).
    const last = at > 0 ? [{ offset: 0, top: at, narrowing: true }] : [];
    expect(r.probes()).toBe(1);
    expect(r.requests.length).toBeGreaterThanOrEqual(13 + last.length);
    expect(r.requests.length).toBeLessThanOrEqual(14 + last.length);
    expect(r.requests.slice(-3 - last.length)).toEqual([
      { offset: at, top: 1, narrowing: false },
      { offset: at + 1, top: 1, narrowing: true },
      { offset: at, top: 1, narrowing: true },
      ...last,
    ]);
    expect(r.requests.slice(1, -3 - last.length).every((request) => request.narrowing && request.offset === 0)).toBe(true);
  });

  test('the last cart of the range: nothing after it', async () => {
    const r = range(300, new Set([299]));
    const page = await searchPastUnreadableCart(1000, r);
    expect([page.records.length, page.unreadable?.index, page.unreadable?.after]).toEqual([299, 299, []]);
  });

  test('two carts on a page: the first is found; the page after it meets the second', async () => {
    const r = range(5000, new Set([10, 20]));
    const first = await searchPastUnreadableCart(1000, r);
    expect(first.unreadable?.index).toBe(10);
    const second = await searchPastUnreadableCart(1000, { ...r, search: (offset, top, narrowing) => r.search(offset + 11, top, narrowing) });
    expect([second.records.length, second.unreadable?.index]).toEqual([9, 9]);
  });

  test('two carts side by side: the first is found (carts before it were answered), with nothing known after it', async () => {
    const r = range(5000, new Set([10, 11]));
    const page = await searchPastUnreadableCart(1000, r);
    expect([page.records.length, page.unreadable?.index, page.unreadable?.after]).toEqual([10, 10, undefined]);
  });

  test('two carts side by side at the page\'s start: the first is found once a cart further on is answered', async () => {
    const r = range(5000, new Set([0, 1]));
    const page = await searchPastUnreadableCart(1000, r);
    expect([page.records.length, page.unreadable?.index, page.unreadable?.after]).toEqual([0, 0, undefined]);
    // After the cart alone and the one after it (both failing): the one after that, answered, then the cart once more.
    expect(r.requests.slice(-4)).toEqual([
      { offset: 0, top: 1, narrowing: false },
      { offset: 1, top: 1, narrowing: true },
      { offset: 2, top: 1, narrowing: true },
      { offset: 0, top: 1, narrowing: true },
    ]);
  });

  test.each([2, LOOK_FURTHER + 1])('%i carts side by side at the page\'s start: each page after meets the next, and each is found', async (run) => {
    const poison = new Set(Array.from({ length: run }, (_, i) => 40 + i));
    const r = range(5000, poison);
    for (let i = 0; i < run; i++) {
      const page = await searchPastUnreadableCart(1000, { ...r, search: (offset, top, narrowing) => r.search(offset + 40 + i, top, narrowing) });
      expect([page.records.length, page.unreadable?.index, page.unreadable?.after]).toEqual([0, 0, i === run - 1 ? [{ position: 40 + run }] : undefined]);
    }
  });

  test('a cart that fails with every cart after it that is asked for, and none before it answered, is no one cart\'s fault: the page fails', async () => {
    // As a search that fails for every cart looks, from where the page starts.
    const r = range(5000, new Set(Array.from({ length: LOOK_FURTHER + 2 }, (_, i) => i)));
    await expect(searchPastUnreadableCart(1000, r)).rejects.toThrow('HTTP 500');
    // The cart alone, the one after it, then the next LOOK_FURTHER, one at a time; no more.
    expect(r.requests.slice(-(LOOK_FURTHER + 2)).map((request) => request.offset)).toEqual(Array.from({ length: LOOK_FURTHER + 2 }, (_, i) => i));
  });

  test('carts side by side at the end of the range, none answered after them: the page fails (an empty answer holds no cart, so it tells nothing)', async () => {
    const r = range(3, new Set([0, 1, 2]));
    await expect(searchPastUnreadableCart(1000, r)).rejects.toThrow('HTTP 500');
  });

  test('an outage (the probe fails too) is not narrowed', async () => {
    const r = range(5000, new Set(), { down: true });
    await expect(searchPastUnreadableCart(1000, r)).rejects.toThrow('HTTP 500');
    expect([r.requests.length, r.probes()]).toEqual([1, 1]);
  });

  test('failures that end before the cart is asked for alone: the page is read again whole', async () => {
    // The page and the first five halvings fail whatever they ask; everything after is answered.
    const r = range(5000, new Set(), { failFirst: 6 });
    const page = await searchPastUnreadableCart(1000, r);
    expect([page.records.length, page.unreadable]).toEqual([1000, undefined]);
    expect(r.requests.at(-1)).toEqual({ offset: 0, top: 1000, narrowing: false });
  });

  test('statuses no record causes (throttling, a gateway, a refused token) are not narrowed', async () => {
    for (const statusCode of [401, 403, 404, 429, 502, 503]) {
      const r = range(5000, new Set([5]), { statusCode });
      await expect(searchPastUnreadableCart(1000, r)).rejects.toThrow(`HTTP ${statusCode}`);
      expect(r.requests.length).toBe(1);
    }
  });

  test('a shorter answer than asked while narrowing (the range changed) fails the page', async () => {
    // Position 900 fails the page of 1,000, but the range then has only 400 carts.
    let size = 5000;
    const r = range(5000, new Set([900]));
    const page = searchPastUnreadableCart(1000, {
      ...r,
      search: async (offset, top, narrowing) => {
        const records = await r.search(offset, Math.min(top, size - offset), narrowing);
        size = 400;
        return records;
      },
    });
    await expect(page).rejects.toThrow('HTTP 500');
  });

  test('an outage that begins during the halving: no readable cart is taken for the unreadable one, the page fails', async () => {
    // Cart 600 cannot be loaded. The page fails (cart 600), the probe and $top=500 are answered,
    // $top=750 fails (cart 600), and from the fifth request on the search is down for a while.
    let requests = 0;
    const r = range(5000, new Set([600]));
    const outcome = await searchPastUnreadableCart(1000, {
      probe: async () => {
        requests++;
        return r.probe();
      },
      search: async (offset, top, narrowing) => {
        requests++;
        if (requests >= 5 && requests <= 30) throw status(500);
        return r.search(offset, top, narrowing);
      },
    }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(RemoteServiceError);
  });

  test('a cart that fails alone, then is answered once its neighbour is: the failures were brief, and the page is read again whole', async () => {
    // Every request fails until the cart after the one found is asked for; from then on all answer.
    let down = true;
    const r = range(5000, new Set());
    const page = await searchPastUnreadableCart(1000, {
      probe: r.probe,
      search: async (offset, top, narrowing) => {
        if (down && !(top === 1 && narrowing && offset === 1)) throw status(500);
        down = false;
        return r.search(offset, top, narrowing);
      },
    });
    expect([page.records.length, page.unreadable]).toEqual([1000, undefined]);
  });

  test('a request of the narrowing that ran out of time for its retries is no verdict on a cart: the page ends as at the time limit', async () => {
    // The transport ends a call whose next wait would not fit with its last error, marked outOfTime.
    const r = range(4, new Set([3]));
    const outcome = await searchPastUnreadableCart(4, {
      ...r,
      search: async (offset, top, narrowing) => {
        const records = await r.search(offset, top, narrowing).catch((error: unknown) => {
          // The first request (the page) had every attempt; the narrowing's ran out of time.
          throw r.requests.length === 1 ? error : new RemoteServiceError((error as Error).message, { ...(error as RemoteServiceError), outOfTime: true });
        });
        return records;
      },
    }).catch((error: unknown) => error);
    expect(outcome).toMatchObject({ outOfTime: true, retryable: true });
    expect((outcome as Error).message).toMatch(/no time left \(MaxRunMinutes\)/);
  });

  test('out of time: no narrowing request is sent, and the error says so (retryable, outOfTime)', async () => {
    const r = range(5000, new Set([3]));
    const error = await searchPastUnreadableCart(1000, { ...r, outOfTime: () => true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect(error).toMatchObject({ outOfTime: true, retryable: true, statusCode: 500 });
    expect((error as Error).message).toMatch(/no time left \(MaxRunMinutes\)/);
    expect([r.requests.length, r.probes()]).toEqual([1, 0]);
  });
});
