import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import type { LogLevel, LogRecord } from '../../src/shared/logger';
import type { ProxiedRequest } from '../../src/simulators/fault-rules';

// A store for runs on a bad day: good carts, and as many carts, customers and products that do
// not parse as a test asks for (tests/job/log-lines-bounded.test.ts, cosmos-refuses-claims.test.ts).

/** 12:00 is the runs' now: the default window is 03:40 to 11:50. */
export const NOW = '2026-11-23T12:00:00Z';
const START = Date.parse('2026-11-23T04:00:00Z');

export interface Store {
  good: number;
  /** Carts whose CartLines is not an array: they do not parse. */
  badCarts?: number;
  /** The first N customers have a numeric Email: their records do not parse. */
  badCustomers?: number;
  /** The first N products have a numeric ProductName: their records do not parse. */
  badProducts?: number;
  /** The carts' modification times, from 04:00, this many ms apart. */
  spacingMs?: number;
}

/** `good` customers with a cart each (one line, 50 products), and the bad records asked for. */
export function store(spec: Store) {
  const spacing = spec.spacingMs ?? 5_000;
  const products = Array.from({ length: 50 }, (_, i) => productRecord(i + 1, i < (spec.badProducts ?? 0) ? { ProductName: 42 } : {}));
  const customers = Array.from({ length: spec.good }, (_, i) => customerRecord(`C${i}`, i < (spec.badCustomers ?? 0) ? { Email: 12345 } : {}));
  const carts = Array.from({ length: spec.good }, (_, i) =>
    cartRecord({ id: `cart-${i}`, customerId: `C${i}`, modifiedDateTime: new Date(START + i * spacing).toISOString(), lines: [{ productId: (i % 50) + 1 }] }),
  );
  const bad = Array.from({ length: spec.badCarts ?? 0 }, (_, i) =>
    cartRecord({ id: `bad-${i}`, customerId: `B${i}`, modifiedDateTime: new Date(START + i * 1_000).toISOString(), lines: [{ productId: 1 }], overrides: { CartLines: 'not-a-list' } }),
  );
  return buildSimulatorData({ customers, products, carts: [...carts, ...bad] });
}

export function atLevels(logs: readonly LogRecord[], ...levels: LogLevel[]): LogRecord[] {
  return logs.filter((log) => levels.includes(log.level));
}

export function countBy(logs: readonly LogRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { level, message } of logs) counts[`${level}: ${message}`] = (counts[`${level}: ${message}`] ?? 0) + 1;
  return counts;
}

const isBulk = (request: ProxiedRequest) => String(request.headers['x-ms-cosmos-is-batch-request']).toLowerCase() === 'true';

/** The Cosmos DB bulk replace that records the outcome of each send. */
export function outcomeWrites(request: ProxiedRequest): boolean {
  if (!isBulk(request)) return false;
  const operations = JSON.parse(request.text()) as { operationType: string; resourceBody?: { status?: string } }[];
  return operations.some((op) => op.operationType === 'Replace' && (op.resourceBody?.status === 'sent' || op.resourceBody?.status === 'failed'));
}
