import { runPagePipeline } from '../../src/job/page-pipeline';

async function* pages(count: number, log: string[], failAt?: number) {
  for (let i = 0; i < count; i++) {
    log.push(`read ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (i === failAt) throw new Error(`read ${i} failed`);
    yield i;
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runPagePipeline', () => {
  test('works pages concurrently and commits strictly in order', async () => {
    const log: string[] = [];
    const committed: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    // The first three pages wait for one another, so the pipeline must have three in flight (not a
    // matter of timers on a busy machine); later ones often finish before the pages ahead of them.
    let allThree = () => undefined as void;
    const threeInFlight = new Promise<void>((resolve) => (allThree = resolve));
    await runPagePipeline(
      pages(8, log),
      { concurrency: 3 },
      async (page) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (inFlight === 3) allThree();
        await (page < 3 ? threeInFlight : delay(page % 2 === 0 ? 15 : 2));
        inFlight--;
        return page * 10;
      },
      async (result) => {
        committed.push(result);
      },
    );
    expect(committed).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
    expect(maxInFlight).toBe(3);
  });

  test('one at a time is the sequential strategy', async () => {
    const log: string[] = [];
    await runPagePipeline(
      pages(3, log),
      { concurrency: 1 },
      async (page) => {
        log.push(`work ${page}`);
        return page;
      },
      async (page) => {
        log.push(`commit ${page}`);
      },
    );
    expect(log).toEqual(['read 0', 'work 0', 'commit 0', 'read 1', 'work 1', 'commit 1', 'read 2', 'work 2', 'commit 2']);
  });

  test('a failed page stops the pipeline; the pages before it are committed, none after', async () => {
    const committed: number[] = [];
    await expect(
      runPagePipeline(
        pages(10, []),
        { concurrency: 3 },
        async (page) => {
          await delay(page === 2 ? 1 : 10);
          if (page === 2) throw new Error('page 2 failed');
          return page;
        },
        async (page) => {
          committed.push(page);
        },
      ),
    ).rejects.toThrow('page 2 failed');
    expect(committed).toEqual([0, 1]);
  });

  test('a page that failed for the time limit ends the pipeline cleanly before it, unless it is the first', async () => {
    const timeUp = new Error('no time left');
    const run = (failing: number, committed: number[]) =>
      runPagePipeline(
        pages(10, []),
        { concurrency: 3, isTimeUp: (error) => error === timeUp },
        async (page) => {
          await delay(page === failing ? 1 : 10);
          if (page === failing) throw timeUp;
          return page;
        },
        async (page) => {
          committed.push(page);
        },
      );
    const committed: number[] = [];
    await expect(run(2, committed)).resolves.toEqual({ stoppedEarly: true, timeUp });
    expect(committed).toEqual([0, 1]);
    // The first page: no progress at all, so the run fails rather than end as if it had worked.
    await expect(run(0, [])).rejects.toThrow('no time left');
  });

  test('a time-up does not hide a later page that failed for another reason', async () => {
    const timeUp = new Error('no time left');
    const committed: number[] = [];
    let page3Start = () => undefined as void;
    let timeUpThrown = () => undefined as void;
    const page3Started = new Promise<void>((resolve) => (page3Start = resolve));
    const page2Failed = new Promise<void>((resolve) => (timeUpThrown = resolve));
    await expect(
      runPagePipeline(
        pages(10, []),
        { concurrency: 4, isTimeUp: (error) => error === timeUp },
        async (page) => {
          // Pages 0-3 in flight; page 2 runs out of time once page 3 has started, page 3 fails after it.
          if (page === 2) {
            await page3Started;
            timeUpThrown();
            throw timeUp;
          }
          if (page === 3) {
            page3Start();
            await page2Failed;
            throw new Error('page 3 refused');
          }
          await delay(10);
          return page;
        },
        async (page) => {
          committed.push(page);
        },
      ),
    ).rejects.toThrow('page 3 refused');
    expect(committed).toEqual([0, 1]);
  });

  test('a failed read stops the pipeline after committing the pages read before it', async () => {
    const committed: number[] = [];
    await expect(
      runPagePipeline(pages(10, [], 4), { concurrency: 2 }, async (page) => page, async (page) => {
        committed.push(page);
      }),
    ).rejects.toThrow('read 4 failed');
    expect(committed).toEqual([0, 1, 2, 3]);
  });

  test('a failed commit stops the pipeline', async () => {
    const committed: number[] = [];
    await expect(
      runPagePipeline(pages(6, []), { concurrency: 2 }, async (page) => page, async (page) => {
        if (page === 3) throw new Error('commit 3 failed');
        committed.push(page);
      }),
    ).rejects.toThrow('commit 3 failed');
    expect(committed).toEqual([0, 1, 2]);
  });
});

describe('createLimiter', () => {
  test('never runs more than its limit; waiting calls start lowest priority first, in arrival order among equals', async () => {
    const { createLimiter } = await import('../../src/shared/concurrency');
    const limit = createLimiter(1);
    const order: string[] = [];
    const task = (name: string) => async () => {
      order.push(name);
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    await Promise.all([limit(task('first'), 5), limit(task('page 3'), 3), limit(task('page 1 a'), 1), limit(task('page 3 b'), 3), limit(task('page 1 b'), 1), limit(task('none'))]);
    expect(order).toEqual(['first', 'none', 'page 1 a', 'page 1 b', 'page 3', 'page 3 b']);
  });
});

/** Resolves `started` when page `page` is handed to the work function. */
function startOf(page: number): { started: Promise<void>; seen: (started: number) => void } {
  let resolve = () => undefined as void;
  const started = new Promise<void>((r) => (resolve = r));
  return { started, seen: (startedPage) => void (startedPage === page && resolve()) };
}

/**
 * Lets the pipeline run until it waits on something only the test can give: it yields to pending
 * I/O (setImmediate) after each page it takes, and a page it takes is read from the source (which
 * logs the read) before anything else, so a few setImmediate turns show every page it would take.
 * Not a wall-clock wait: a stalled machine (the CI's two cores under load) cannot make it too short.
 */
async function pipelineSettled(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('runPagePipeline with waitingCommits', () => {
  test('a slow page does not hold back the pages after it; their results wait for it and commit in order', async () => {
    const started: number[] = [];
    const committed: number[] = [];
    const reads: string[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const page4 = startOf(4);
    const run = runPagePipeline(
      pages(8, reads),
      { concurrency: 2, waitingCommits: 3 },
      async (page) => {
        started.push(page);
        page4.seen(page);
        if (page === 0) await slow;
        return page;
      },
      async (page) => {
        committed.push(page);
      },
    );
    // Page 0 holds one slot; the other works pages 1-4 and their results wait for page 0
    // (at most concurrency + waitingCommits = 5 pages between starting and being committed).
    await page4.started;
    await pipelineSettled();
    expect(committed).toEqual([]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(reads).toEqual(['read 0', 'read 1', 'read 2', 'read 3', 'read 4']);
    release();
    await run;
    expect(committed).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('without waitingCommits a page holds its slot until it is committed', async () => {
    const started: number[] = [];
    const reads: string[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const page1 = startOf(1);
    const run = runPagePipeline(
      pages(6, reads),
      { concurrency: 2 },
      async (page) => {
        started.push(page);
        page1.seen(page);
        if (page === 0) await slow;
        return page;
      },
      async () => undefined,
    );
    await page1.started;
    await pipelineSettled();
    expect(started).toEqual([0, 1]);
    expect(reads).toEqual(['read 0', 'read 1']);
    release();
    await run;
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('runPagePipeline with shouldStop', () => {
  async function* closable(count: number, log: string[]) {
    try {
      for (let i = 0; i < count; i++) {
        log.push(`read ${i}`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  }

  test('takes no page once it says stop; the pages in flight finish and commit in order', async () => {
    const log: string[] = [];
    const committed: number[] = [];
    let stop = false;
    const result = await runPagePipeline(
      closable(10, log),
      { concurrency: 3, shouldStop: () => stop },
      async (page) => {
        // Page 3 is taken while pages 1 and 2 are still in flight; it asks to stop and ends first.
        if (page === 3) stop = true;
        await delay(page === 3 ? 1 : 10);
        return page;
      },
      async (page) => {
        committed.push(page);
      },
    );
    expect(result).toEqual({ stoppedEarly: true });
    expect(committed).toEqual([0, 1, 2, 3]);
    // Page 4 was read (so there was more to do) and dropped, and the source is closed.
    expect(log).toEqual(['read 0', 'read 1', 'read 2', 'read 3', 'read 4', 'closed']);
  });

  test('a source that runs out first is not a stop', async () => {
    const committed: number[] = [];
    let stop = false;
    const result = await runPagePipeline(closable(4, []), { concurrency: 2, shouldStop: () => stop }, async (page) => {
      // Asked to stop once the last page is taken: nothing is left, so it is not a stop.
      if (page === 3) stop = true;
      return page;
    }, async (page) => {
      committed.push(page);
    });
    expect(result).toEqual({ stoppedEarly: false });
    expect(committed).toEqual([0, 1, 2, 3]);
  });

  test('is never asked before the first page, so a run always makes progress', async () => {
    const asked: number[] = [];
    const committed: number[] = [];
    const result = await runPagePipeline(
      closable(5, []),
      { concurrency: 1, shouldStop: () => (asked.push(committed.length), true) },
      async (page) => page,
      async (page) => {
        committed.push(page);
      },
    );
    expect(result).toEqual({ stoppedEarly: true });
    expect(committed).toEqual([0]);
    expect(asked).toEqual([1]);
  });
});
