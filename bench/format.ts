import type { Comparison, Figures } from './figures';
import type { BenchOptions } from './options';

/** The benchmark's one table (a column per scenario) and its one JSON line. */

type Row = [label: string, value: (f: Figures) => string];

const whole = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (digits: number) => (n: number) => n.toFixed(digits);
const seconds = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));

const rows: Row[] = [
  ['carts in window', (f) => whole(f.cartsInWindow)],
  ['pages', (f) => whole(f.pages)],
  ['notified', (f) => whole(f.notified)],
  ['skipped (superseded)', (f) => `${whole(f.skipped)} (${whole(f.skippedByReason.superseded ?? 0)})`],
  ['failed', (f) => whole(f.failed)],
  ['wall time (s)', (f) => fixed(2)(f.wallSeconds)],
  ['  every run (s)', (f) => (f.runs ? f.runs.wallSeconds.map(fixed(2)).join(' ') : '-')],
  ['carts per second', (f) => whole(f.cartsPerSecond)],
  ['lower bound (s)', (f) => seconds(f.bound.ms)],
  ['  limited by', (f) => f.bound.limitedBy],
  ['wall / bound', (f) => fixed(2)(f.wallOverBound)],
  ['  chain (s)', (f) => seconds(f.bound.terms.chain)],
  ['  retail (s)', (f) => seconds(f.bound.terms.retail)],
  ['  emarsys (s)', (f) => seconds(f.bound.terms.emarsys)],
  ['  store (s)', (f) => seconds(f.bound.terms.storeRequests ?? f.bound.terms.storeCapacity)],
  ['calls: cart search', (f) => whole(f.calls.cartSearch)],
  ['  of them in a chain: survey + pass', (f) => `${f.searchChain.survey} + ${f.searchChain.pass}`],
  ['calls: customers', (f) => whole(f.calls.customers)],
  ['calls: products', (f) => whole(f.calls.products)],
  ['calls: channel', (f) => whole(f.calls.channel)],
  ['calls: token', (f) => whole(f.calls.token)],
  ['calls: provider', (f) => whole(f.calls.provider)],
  ['store requests', (f) => whole(f.storeCost.requests)],
  ['store reads / writes', (f) => `${whole(f.storeCost.reads)} / ${whole(f.storeCost.writes)}`],
  ['  refused with 429, sent again', (f) => (f.storeRefused === undefined ? '-' : whole(f.storeRefused))],
  ['store ops per notified cart', (f) => fixed(2)(f.storeCost.operationsPerNotifiedCart)],
  ['RU per 1,000 carts (est.)', (f) => whole(f.storeCost.requestUnitsPer1000Carts)],
  ['peak RSS (MB)', (f) => fixed(1)(f.peakRssMb)],
  ['  RSS before the job (MB)', (f) => fixed(1)(f.rssBeforeMb)],
  ['peak live heap (MB)', (f) => (f.fullCollections > 0 ? fixed(1)(f.peakLiveHeapMb) : '-')],
  ['job CPU (s)', (f) => fixed(2)(f.cpuSeconds)],
  ['  every run (s)', (f) => (f.runs ? f.runs.cpuSeconds.map(fixed(2)).join(' ') : '-')],
  ['stand-ins CPU (s)', (f) => (f.standInsCpuSeconds === undefined ? '-' : fixed(2)(f.standInsCpuSeconds))],
  ['job thread busy (s)', (f) => fixed(2)(f.jobThreadBusySeconds)],
  ['survey read by (s), thread busy in it (s)', (f) => (f.survey ? `${fixed(2)(f.survey.endedSeconds)}, ${fixed(2)(f.survey.threadBusySeconds)}` : '-')],
  ['CPU floor (s)', (f) => seconds(f.cpuFloor?.ms)],
  ['  limited by', (f) => (f.cpuFloor ? (f.cpuFloor.limitedBy === 'cores' ? `${f.cpuFloor.cores} cores` : f.cpuFloor.limitedBy) : '-')],
  ['wall / CPU floor', (f) => (f.wallOverCpuFloor === undefined ? '-' : fixed(2)(f.wallOverCpuFloor))],
  ['CPU reference (ms, lower is faster)', (f) => (f.cpuReferenceMs === undefined ? '-' : fixed(1)(f.cpuReferenceMs))],
  ['peak in flight: retail/emarsys/store', (f) => `${f.peakInFlight.retail}/${f.peakInFlight.emarsys}/${f.peakInFlight.store}`],
  [
    'store capacity (ops/s)',
    (f) =>
      !f.capacity
        ? '-'
        : f.storeOpsPerSecond === undefined
          ? whole(f.capacity.operationsPerSecond)
          : `${whole(f.storeOpsPerSecond)} (limit; server ${whole(f.capacity.operationsPerSecond)})`,
  ],
  ['  its client thread busy while measured', (f) => (f.capacity ? `${Math.round(f.capacity.clientThreadBusy * 100)}%` : '-')],
  ['store request (ms)', (f) => (f.capacity ? fixed(1)(f.capacity.requestMs) : '-')],
];

export function formatTable(options: BenchOptions, figures: readonly Figures[], comparisons: readonly Comparison[]): string {
  const header = ['', ...figures.map((f) => f.scenario)];
  const body = rows.map(([label, value]) => [label, ...figures.map(value)]);
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0))).join('   ');
  const out = [
    `${whole(options.carts)} carts, page size ${options.pageSize}, latency ${options.latencyMs} ms, concurrency ${options.concurrency}, ${options.pageConcurrency} pages at once` +
      (options.stores.includes('modeled') ? `, modeled store ${options.storeLatencyMs} ms per request` : '') +
      (options.storeOpsPerSecond === undefined ? '' : `, embedded store limited to ${whole(options.storeOpsPerSecond)} operations a second`) +
      (options.heapLimitMb === undefined ? '' : `, job heap limit ${options.heapLimitMb} MB`) +
      (options.heapGrowingPercent === 0 ? ", V8's own heap growing" : `, job heap growing ${options.heapGrowingPercent}%`) +
      (options.cartUnreadKb > 0 ? `, ${options.cartUnreadKb} KB of unread fields per cart` : '') +
      (options.repeat > 1 ? `; each column is the median of ${options.repeat} runs by wall time` : ''),
    '',
    line(header),
    ...body.map(line),
  ];
  for (const c of comparisons) {
    out.push('', `${c.store} store: pipelined is ${c.speedup.toFixed(2)}x as fast as sequential; same carts notified with the same data: ${c.sameNotifications ? 'yes' : 'NO'}`);
  }
  for (const f of figures) {
    if (f.status !== 'completed') out.push('', `${f.scenario}: the run ended ${f.status}: ${f.errors.join(' | ')}`);
  }
  return out.join('\n');
}

export function formatJsonLine(options: BenchOptions, figures: readonly Figures[], comparisons: readonly Comparison[]): string {
  return JSON.stringify({ benchmark: 'abandoned-carts', options, scenarios: figures, comparisons });
}
