/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (size < 1) throw new RangeError(`chunk size must be at least 1, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Resolves after the event loop has run the I/O callbacks that are ready now and the work they
 * queued: requests just made go out, answers that have come in are taken in.
 */
export function yieldToPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Maps with at most `limit` calls in flight; results keep the input order. After a call fails, no
 * new one starts, and the failure is thrown once the calls in flight have settled: nothing is left
 * running (a request to a service that is failing) after the caller has moved on.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * A semaphore: a call starts once fewer than `limit` are in flight. Waiting calls start lowest
 * `priority` first, in arrival order among equals; the job gives each page's calls the page's
 * place in the window, so the oldest page in flight finishes first and the pipeline keeps moving.
 */
export function createLimiter(limit: number): <T>(fn: () => Promise<T>, priority?: number) => Promise<T> {
  let active = 0;
  const waiting: { priority: number; start: () => void }[] = [];
  // A slot that ends goes straight to the first waiting call: were it freed first, a call arriving
  // before that one has started would take it too, and one more than `limit` would run.
  const release = () => {
    const next = waiting.shift();
    if (next) next.start();
    else active--;
  };
  return async <T>(fn: () => Promise<T>, priority = 0): Promise<T> => {
    if (active >= limit) {
      await new Promise<void>((start) => {
        // After every waiting call of the same or a lower priority (few wait: a scan is enough).
        let at = waiting.length;
        while (at > 0 && (waiting[at - 1] as { priority: number }).priority > priority) at--;
        waiting.splice(at, 0, { priority, start });
      });
    } else {
      active++;
    }
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
