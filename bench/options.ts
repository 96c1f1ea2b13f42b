import { parseArgs } from 'node:util';
import { DEFAULT_PAGE_CONCURRENCY } from '../src/config/schema';
import { DEFAULT_SHAPE } from './data';
import type { ScenarioConfig, StoreKind, Strategy } from './types';

/**
 * The job process runs with the heap growing factor that local.settings.sample.json gives the
 * Functions worker (`languageWorkers__node__arguments`), so the figures are the deployment's.
 */
export const RECOMMENDED_HEAP_GROWING_PERCENT = 75;

export const USAGE = `Usage: npm run bench -- [options]

Runs the real job against a Retail Server simulator holding N generated carts and an Emarsys
stand-in, both adding the given latency to every response, in a separate process from the job;
measures wall time, calls, store cost, CPU and memory, and compares them with the lower bound.

Options:
  --carts <n>             carts in the window (default 10000)
  --latency-ms <ms>       added to every Retail Server and Emarsys response (default 100)
  --page-size <n>         RetailServerClientOptions.PageSize, 1..1000 (default 1000)
  --concurrency <n>       RetailServerClientOptions.MaxConcurrency, 1..32 (default 4)
  --page-concurrency <n>  RetailServerClientOptions.PageConcurrency, 1..16 (default ${DEFAULT_PAGE_CONCURRENCY})
  --strategy <s>          pipelined, sequential or both, side by side (default both)
  --store <s>             modeled, embedded or both (default modeled)
  --store-latency-ms <ms> what the modeled store charges per request (default 10)
  --store-ops-per-second <n>
                          the embedded store takes this many notification operations a second
                          and refuses the rest with 429, as a container's RU/s does (about RU/s / 6
                          writes a second); default: no limit
  --heap-limit-mb <MB>    the job process's --max-old-space-size (default: Node's own, from the machine's memory)
  --heap-growing-percent <n>
                          the job process's --heap-growing-percent: V8 lets the old generation grow
                          to (1 + n/100) times what survived its last full collection (default
                          ${RECOMMENDED_HEAP_GROWING_PERCENT}, the worker flag Deploying recommends; 0: V8's own factor,
                          up to 4 times)
  --cart-unread-kb <KB>   KB of fields per cart that the connector does not read, as a real Commerce
                          cart carries (default 0)
  --seed <n>              seed of the generated store (default 1)
  --repeat <n>            run every scenario n times, in turns, and report each one's median run
                          by wall time (default 1; this machine's speed drifts, see bench/README.md)
  --json                  print only the JSON line
  -h, --help              show this help

Examples:
  npm run bench
  npm run bench -- --carts 100000
  npm run bench -- --carts 2000 --store embedded
  npm run bench -- --carts 100000 --repeat 3
  npm run bench -- --carts 2000 --store embedded --strategy pipelined --store-ops-per-second 400
`;

export interface BenchOptions {
  carts: number;
  latencyMs: number;
  pageSize: number;
  concurrency: number;
  pageConcurrency: number;
  strategies: Strategy[];
  stores: StoreKind[];
  storeLatencyMs: number;
  /** The embedded store's limit in operations a second; undefined: none. */
  storeOpsPerSecond: number | undefined;
  /** The job process's `--max-old-space-size`; undefined: Node's default. */
  heapLimitMb: number | undefined;
  /** The job process's `--heap-growing-percent`; 0: V8's own factor. */
  heapGrowingPercent: number;
  /** KB of unread fields per generated cart. */
  cartUnreadKb: number;
  seed: number;
  /** Runs of each scenario; the median one by wall time is reported. */
  repeat: number;
  json: boolean;
}

export type ParsedOptions = { ok: true; options: BenchOptions } | { ok: false; help: true } | { ok: false; help: false; problems: string[] };

export function parseBenchOptions(argv: readonly string[]): ParsedOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        carts: { type: 'string', default: '10000' },
        'latency-ms': { type: 'string', default: '100' },
        'page-size': { type: 'string', default: '1000' },
        concurrency: { type: 'string', default: '4' },
        'page-concurrency': { type: 'string', default: String(DEFAULT_PAGE_CONCURRENCY) },
        strategy: { type: 'string', default: 'both' },
        store: { type: 'string', default: 'modeled' },
        'store-latency-ms': { type: 'string', default: '10' },
        'store-ops-per-second': { type: 'string' },
        'heap-limit-mb': { type: 'string' },
        'heap-growing-percent': { type: 'string', default: String(RECOMMENDED_HEAP_GROWING_PERCENT) },
        'cart-unread-kb': { type: 'string', default: '0' },
        seed: { type: 'string', default: '1' },
        repeat: { type: 'string', default: '1' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return { ok: false, help: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
  if (values.help) return { ok: false, help: true };

  const problems: string[] = [];
  const integer = (name: string, text: string, min: number, max: number): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) problems.push(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    return value;
  };
  const choice = <T extends string>(name: string, text: string, allowed: readonly T[]): T[] => {
    if (text === 'both') return [...allowed];
    if ((allowed as readonly string[]).includes(text)) return [text as T];
    problems.push(`--${name} must be ${allowed.join(', ')} or both, got "${text}"`);
    return [];
  };
  const options: BenchOptions = {
    carts: integer('carts', values.carts, 1, 10_000_000),
    latencyMs: integer('latency-ms', values['latency-ms'], 0, 60_000),
    pageSize: integer('page-size', values['page-size'], 1, 1000),
    concurrency: integer('concurrency', values.concurrency, 1, 32),
    pageConcurrency: integer('page-concurrency', values['page-concurrency'], 1, 16),
    strategies: choice<Strategy>('strategy', values.strategy, ['pipelined', 'sequential']),
    stores: choice<StoreKind>('store', values.store, ['modeled', 'embedded']),
    storeLatencyMs: integer('store-latency-ms', values['store-latency-ms'], 0, 60_000),
    storeOpsPerSecond: values['store-ops-per-second'] === undefined ? undefined : integer('store-ops-per-second', values['store-ops-per-second'], 1, 1_000_000),
    heapLimitMb: values['heap-limit-mb'] === undefined ? undefined : integer('heap-limit-mb', values['heap-limit-mb'], 64, 65_536),
    heapGrowingPercent: integer('heap-growing-percent', values['heap-growing-percent'], 0, 1_000),
    cartUnreadKb: integer('cart-unread-kb', values['cart-unread-kb'], 0, 256),
    seed: integer('seed', values.seed, 0, 2 ** 31),
    repeat: integer('repeat', values.repeat, 1, 20),
    json: values.json,
  };
  if (options.storeOpsPerSecond !== undefined && options.stores.includes('modeled')) {
    problems.push('--store-ops-per-second limits the embedded store: use it with --store embedded');
  }
  return problems.length > 0 ? { ok: false, help: false, problems } : { ok: true, options };
}

/** The V8 flags the job process runs with for `--heap-limit-mb` and `--heap-growing-percent`. */
export function jobHeapFlags(options: Pick<BenchOptions, 'heapLimitMb' | 'heapGrowingPercent'>): string[] {
  return [
    ...(options.heapLimitMb === undefined ? [] : [`--max-old-space-size=${options.heapLimitMb}`]),
    ...(options.heapGrowingPercent === 0 ? [] : [`--heap-growing-percent=${options.heapGrowingPercent}`]),
  ];
}

/** One scenario per store and strategy, every one over the same store (generated for `now`). */
export function scenarioConfigs(options: BenchOptions, now: Date): ScenarioConfig[] {
  return options.stores.flatMap((store) =>
    options.strategies.map((strategy) => ({
      strategy,
      store,
      carts: options.carts,
      latencyMs: options.latencyMs,
      pageSize: options.pageSize,
      concurrency: options.concurrency,
      pageConcurrency: options.pageConcurrency,
      storeLatencyMs: options.storeLatencyMs,
      storeOpsPerSecond: options.storeOpsPerSecond,
      seed: options.seed,
      now: now.toISOString(),
      shape: options.cartUnreadKb > 0 ? { ...DEFAULT_SHAPE, unreadKb: options.cartUnreadKb } : DEFAULT_SHAPE,
    })),
  );
}
