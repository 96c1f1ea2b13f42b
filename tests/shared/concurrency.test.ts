import { createLimiter, mapWithConcurrency } from '../../src/shared/concurrency';

describe('mapWithConcurrency', () => {
  test('keeps the input order with at most `limit` calls at once', async () => {
    let active = 0;
    let most = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++active);
      await new Promise((resolve) => setTimeout(resolve, n));
      active--;
      return n * 10;
    });
    expect([results, most]).toEqual([[50, 10, 40, 20, 30], 2]);
  });

  test('after a call fails, starts no other, and throws once the calls in flight have settled', async () => {
    const started: number[] = [];
    let settled = 0;
    const error = await mapWithConcurrency(Array.from({ length: 20 }, (_, i) => i), 2, async (i) => {
      started.push(i);
      if (i === 0) throw new Error('refused');
      await new Promise((resolve) => setTimeout(resolve, 5));
      settled++;
      return i;
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('refused');
    // Item 1 was in flight beside item 0, and had settled when the failure was thrown; none after it started.
    expect({ started, settled }).toEqual({ started: [0, 1], settled: 1 });
  });
});

describe('createLimiter handing a slot over', () => {
  test('a call arriving between a release and the start of the waiting call it wakes does not run beside them', async () => {
    const limit = createLimiter(1);
    let active = 0;
    let most = 0;
    const work = (wait: Promise<unknown>) => async () => {
      most = Math.max(most, ++active);
      await wait;
      active--;
    };
    let finishFirst!: () => void;
    const first = limit(work(new Promise<void>((resolve) => (finishFirst = resolve))));
    const waiter = limit(work(new Promise((resolve) => setTimeout(resolve, 5))));
    await new Promise((resolve) => setTimeout(resolve, 1));
    finishFirst();
    // A microtask later: after `first` ended, before the waiter it woke has started.
    const latecomer = (async () => {
      await Promise.resolve();
    })().then(() => limit(work(new Promise((resolve) => setTimeout(resolve, 5)))));
    await Promise.all([first, waiter, latecomer]);
    expect(most).toBe(1);
  });
});
