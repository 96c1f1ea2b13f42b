import { lowerBound, type Bound } from './bound';
import type { ScenarioOutcome, StandInsSummary, StoreCapacity } from './types';
import { CHUNK_CONCURRENCY } from '../src/store/cosmos-bulk';

/**
 * The figures of one scenario, derived from what the processes measured. Everything the table and
 * the JSON line show comes from here.
 *
 * Request units are an estimate, not a measurement (the embedded server charges nothing): about
 * 1 RU per point read or bulk read operation of a small document, about 6 RU per create or
 * replace of a ~1 KB document with the container's default indexing (Azure's published figures
 * for a 1 KB item: ~1 RU read, ~5.5 RU write). Checkpoint, lease and run writes count as writes.
 */

export const RU_PER_READ = 1;
export const RU_PER_WRITE = 6;

export interface Figures {
  scenario: string;
  strategy: string;
  store: string;
  status: string;
  cartsInWindow: number;
  seen: number;
  notified: number;
  failed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  pages: number;
  /** Cart searches that had to follow one another, in the survey and in the processing pass. */
  searchChain: { survey: number; pass: number };
  wallSeconds: number;
  cartsPerSecond: number;
  calls: { cartSearch: number; customers: number; products: number; channel: number; token: number; provider: number };
  storeCost: { requests: number; reads: number; writes: number; operationsPerNotifiedCart: number; requestUnitsPer1000Carts: number };
  /** With `--store-ops-per-second`: operations the store refused with 429 (sent again; counted once in reads and writes). */
  storeRefused: number | undefined;
  /** `--store-ops-per-second`: the limit the bound's store term uses when it is below the measured capacity. */
  storeOpsPerSecond: number | undefined;
  peakRssMb: number;
  maxRssMb: number;
  rssBeforeMb: number;
  peakLiveHeapMb: number;
  /** Full collections during the run; the live heap is known only when there was one. */
  fullCollections: number;
  /** The heap flags the job process ran with; empty: Node's and V8's defaults. */
  jobHeapFlags: string[];
  cpuSeconds: number;
  standInsCpuSeconds: number | undefined;
  /** The fixed workload of cpu-reference.ts, timed just before the scenario (`npm run bench` only). */
  cpuReferenceMs: number | undefined;
  peakInFlight: StandInsSummary['peakInFlight'];
  bound: Bound;
  wallOverBound: number;
  /** How long the job's JavaScript thread was busy during the run. */
  jobThreadBusySeconds: number;
  /**
   * The survey: when it had read its last page (seconds from the run's start) and how long the job
   * thread was busy until then. No cart is claimed before it ends, so the part of the run before it
   * waits on Retail Server's searches, and the store's work all comes after it.
   */
  survey: { endedSeconds: number; threadBusySeconds: number } | undefined;
  /**
   * The run's CPU floor: no schedule of the work this run did ends sooner on this machine. The
   * larger of the job thread's busy time (JavaScript runs on one thread) and the CPU the job and
   * the stand-ins used, spread over the machine's cores. The bound above counts latency and the
   * store's capacity, measured while the store had the machine to itself; this floor shows when
   * the job's own thread, or the cores the job shares with the stand-ins, are what the run waits
   * for. Undefined when the stand-ins' CPU is not known (they ran in the job's process).
   */
  cpuFloor: { ms: number; limitedBy: 'job thread' | 'cores'; cores: number } | undefined;
  wallOverCpuFloor: number | undefined;
  capacity: StoreCapacity | undefined;
  deliveries: number;
  payloadDigest: string;
  errors: string[];
  /** With `--repeat`: the wall time, CPU and wall / bound of every run, in the order they ran. */
  runs?: { wallSeconds: number[]; cpuSeconds: number[]; wallOverBound: number[] } | undefined;
}

/**
 * The run with the median wall time (the faster of the two middle ones for an even count), with
 * every run's wall time, CPU and wall / bound beside it. Its own figures stay whole and
 * consistent, rather than medians of each figure taken from different runs.
 */
export function medianRun(runs: readonly Figures[]): Figures {
  if (runs.length === 0) throw new RangeError('medianRun needs at least one run');
  const sorted = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as Figures;
  if (runs.length === 1) return median;
  return {
    ...median,
    runs: {
      wallSeconds: runs.map((f) => f.wallSeconds),
      cpuSeconds: runs.map((f) => f.cpuSeconds),
      wallOverBound: runs.map((f) => f.wallOverBound),
    },
  };
}

const MB = 1024 * 1024;

export function figuresOf(outcome: ScenarioOutcome, cpuReferenceMs?: number): Figures {
  const { config, job, standIns, capacity } = outcome;
  const calls = job.report.calls;
  const call = (name: string) => calls[name] ?? 0;
  const { requests, reads } = job.store;
  // Operations a limited store refused were sent again: they count once, as the writes that ran.
  const refused = standIns.storeRefused ?? 0;
  const writes = job.store.writes - refused;
  // What the job can have in flight at once: the sequential strategy works one page at a time.
  const pagesAtOnce = config.strategy === 'sequential' ? 1 : config.pageConcurrency;
  const bound = lowerBound({
    latencyMs: config.latencyMs,
    concurrency: config.concurrency,
    emarsysConcurrency: pagesAtOnce,
    storeConcurrency: pagesAtOnce * CHUNK_CONCURRENCY,
    calls: { channel: call('channel'), cartSearch: call('cartSearch'), customers: call('customers'), products: call('products'), provider: call('provider') },
    searchChain: job.searchChain.survey + job.searchChain.pass,
    pages: job.report.pages,
    store:
      config.store === 'modeled'
        ? { kind: 'modeled', latencyMs: config.storeLatencyMs, requests }
        : {
            kind: 'embedded',
            requestMs: capacity?.requestMs ?? 0,
            operations: reads + writes,
            // A limited store takes no more than its limit, whatever the server could do.
            operationsPerSecond: Math.min(capacity?.operationsPerSecond ?? 0, config.storeOpsPerSecond ?? Number.POSITIVE_INFINITY),
          },
  });
  const notified = job.report.carts.notified;
  const wallSeconds = job.wallMs / 1000;
  const jobCpuMs = job.cpuMs.user + job.cpuMs.system;
  const cpuFloor = cpuFloorOf(job.threadBusyMs, jobCpuMs, standIns.cpuMs, outcome.cores);
  return {
    scenario: `${config.strategy}/${config.store}`,
    strategy: config.strategy,
    store: config.store,
    status: job.report.status,
    cartsInWindow: outcome.cartsInWindow,
    seen: job.report.carts.seen,
    notified,
    failed: job.report.carts.failed,
    skipped: job.report.carts.skipped,
    skippedByReason: { ...job.report.carts.skippedByReason },
    pages: job.report.pages,
    searchChain: job.searchChain,
    wallSeconds,
    cartsPerSecond: outcome.cartsInWindow / wallSeconds,
    calls: {
      cartSearch: call('cartSearch'),
      customers: call('customers'),
      products: call('products'),
      channel: call('channel'),
      token: call('token'),
      provider: call('provider'),
    },
    storeCost: {
      requests,
      reads,
      writes,
      operationsPerNotifiedCart: notified > 0 ? (reads + writes) / notified : 0,
      requestUnitsPer1000Carts: outcome.cartsInWindow > 0 ? ((reads * RU_PER_READ + writes * RU_PER_WRITE) * 1000) / outcome.cartsInWindow : 0,
    },
    peakRssMb: job.memory.peakBytes / MB,
    maxRssMb: job.memory.maxRssBytes / MB,
    rssBeforeMb: job.memory.beforeBytes / MB,
    peakLiveHeapMb: job.memory.peakLiveHeapBytes / MB,
    fullCollections: job.memory.fullCollections,
    jobHeapFlags: job.memory.heapFlags,
    cpuSeconds: jobCpuMs / 1000,
    jobThreadBusySeconds: job.threadBusyMs / 1000,
    survey: job.survey && { endedSeconds: job.survey.endedMs / 1000, threadBusySeconds: job.survey.threadBusyMs / 1000 },
    standInsCpuSeconds: standIns.cpuMs === undefined ? undefined : standIns.cpuMs / 1000,
    cpuReferenceMs,
    peakInFlight: standIns.peakInFlight,
    storeRefused: standIns.storeRefused,
    storeOpsPerSecond: config.storeOpsPerSecond,
    bound,
    wallOverBound: bound.ms > 0 ? job.wallMs / bound.ms : 0,
    cpuFloor,
    wallOverCpuFloor: cpuFloor && cpuFloor.ms > 0 ? job.wallMs / cpuFloor.ms : undefined,
    capacity,
    deliveries: standIns.deliveries,
    payloadDigest: standIns.payloadDigest,
    errors: job.errors,
  };
}

/**
 * The larger of the job thread's busy time and all the CPU the run used spread over the cores;
 * undefined without the stand-ins' CPU or the core count.
 */
export function cpuFloorOf(threadBusyMs: number, jobCpuMs: number, standInsCpuMs: number | undefined, cores: number | undefined): Figures['cpuFloor'] {
  if (standInsCpuMs === undefined || cores === undefined || cores < 1) return undefined;
  const spread = (jobCpuMs + standInsCpuMs) / cores;
  return threadBusyMs >= spread ? { ms: threadBusyMs, limitedBy: 'job thread', cores } : { ms: spread, limitedBy: 'cores', cores };
}

/** How two strategies compare on the same store: speed, and whether they sent the same emails. */
export interface Comparison {
  store: string;
  /** Sequential wall time / pipelined wall time. */
  speedup: number;
  sameNotifications: boolean;
}

export function compare(all: readonly Figures[]): Comparison[] {
  const comparisons: Comparison[] = [];
  for (const store of new Set(all.map((f) => f.store))) {
    const pipelined = all.find((f) => f.store === store && f.strategy === 'pipelined');
    const sequential = all.find((f) => f.store === store && f.strategy === 'sequential');
    if (!pipelined || !sequential) continue;
    comparisons.push({
      store,
      speedup: sequential.wallSeconds / pipelined.wallSeconds,
      sameNotifications: pipelined.payloadDigest === sequential.payloadDigest && pipelined.notified === sequential.notified,
    });
  }
  return comparisons;
}
