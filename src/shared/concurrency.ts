/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (size < 1) throw new RangeError(`chunk size must be at least 1, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Maps with at most `limit` calls in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

/**
 * A semaphore: a call starts once fewer than `limit` are in flight. Urgent calls wait ahead of the
 * others (the job marks the cart searches that every later page waits for), in arrival order.
 */
export function createLimiter(limit: number): <T>(fn: () => Promise<T>, urgent?: boolean) => Promise<T> {
  let active = 0;
  const urgentQueue: (() => void)[] = [];
  const queue: (() => void)[] = [];
  const release = () => {
    active--;
    (urgentQueue.shift() ?? queue.shift())?.();
  };
  return async <T>(fn: () => Promise<T>, urgent = false): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => (urgent ? urgentQueue : queue).push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
