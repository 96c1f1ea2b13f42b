import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * The job process's memory while the job runs, two ways:
 * - peak RSS, sampled every 50 ms (and at the start and the end): what a Functions host's memory
 *   limit counts, buffers, sockets and native memory included. V8 lets the heap grow while the
 *   allocation rate is high and collects lazily, so a long run shows a higher RSS than a short one
 *   with the same live data;
 * - peak live heap: the heap in use right after each full (mark-compact) collection, the data the
 *   job actually holds. This is the figure that says whether memory follows the page size or the
 *   window.
 */

export interface MemoryFigures {
  beforeBytes: number;
  peakBytes: number;
  /** Largest heap in use just after a full collection; 0 when none ran. */
  peakLiveHeapBytes: number;
  fullCollections: number;
  /** The heap flags the process runs with (`--max-old-space-size`, `--heap-growing-percent`), as it was started. */
  heapFlags: string[];
}

export interface MemorySampler {
  stop(): MemoryFigures;
}

export function sampleMemory(intervalMs = 50): MemorySampler {
  const beforeBytes = process.memoryUsage.rss();
  let peakBytes = beforeBytes;
  let peakLiveHeapBytes = 0;
  let fullCollections = 0;
  const sample = () => {
    peakBytes = Math.max(peakBytes, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!isFullCollection(entry)) continue;
      fullCollections++;
      peakLiveHeapBytes = Math.max(peakLiveHeapBytes, process.memoryUsage().heapUsed);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      clearInterval(timer);
      observer.disconnect();
      sample();
      const heapFlags = process.execArgv.filter((arg) => /^--(max-old-space-size|heap-growing-percent)=/.test(arg));
      return { beforeBytes, peakBytes, peakLiveHeapBytes, fullCollections, heapFlags };
    },
  };
}

function isFullCollection(entry: PerformanceEntry): boolean {
  // Node puts the collection's kind in `detail` (its typings leave the field out).
  const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
  return detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}
