import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunReport } from '../../../src/job/report';
import type { FaultKind } from '../../../src/simulators/fault-proxy';
import type { Dependency } from '../../support/fault-harness';

/**
 * The figures the fault-injection suite measures, summed over its scenarios, so that
 * docs/reliability-faults.md can quote numbers a reader can reproduce rather than promises.
 */

/** Faults the proxies inject, plus the ones the embedded Cosmos DB server plays itself. */
export type InjectedKind = FaultKind | 'cosmos-429-per-operation' | 'cosmos-dropped-response' | 'cosmos-412-race' | 'token-revoked' | 'token-expired';

/** What the report's `retries` keys roll up to. */
const RETRY_GROUPS: Record<string, Dependency> = {
  channel: 'retail',
  cartSearch: 'retail',
  customers: 'retail',
  products: 'retail',
  token: 'token',
  provider: 'emarsys',
  store: 'cosmos',
};

export interface ScenarioFigures {
  dependency: Dependency;
  scenario: string;
  injected: Partial<Record<InjectedKind, number>>;
  runs: number;
  failedRuns: number;
  retries: Partial<Record<Dependency, number>>;
  /** Carts recorded as failed, summed over the runs (one cart failing in two runs counts twice). */
  cartFailures: number;
  /** Carts the scenario expects to reach Emarsys: every eligible cart not failed for good. */
  expected: number;
  delivered: number;
  /** Deliveries beyond the first per trigger id: reminders a customer would get twice. */
  duplicates: number;
  /** Expected carts never delivered. */
  lost: number;
  /** Eligible carts that ended failed for good, with their reason (a refused batch, an unknown contact). */
  failedForGood: number;
  /** Repeated trigger ids Emarsys accepted and dropped: retries that reached it twice, harmlessly. */
  duplicatesDropped: number;
  durationMs: number;
}

const scenarios: ScenarioFigures[] = [];

export function retriesByDependency(reports: readonly RunReport[]): Partial<Record<Dependency, number>> {
  const totals: Partial<Record<Dependency, number>> = {};
  for (const report of reports) {
    for (const [key, count] of Object.entries(report.retries)) {
      const group = RETRY_GROUPS[key];
      if (group && count > 0) totals[group] = (totals[group] ?? 0) + count;
    }
  }
  return totals;
}

export function recordScenario(figures: ScenarioFigures): void {
  scenarios.push(figures);
}

function add<K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void {
  for (const [key, value] of Object.entries(from) as [K, number | undefined][]) {
    if (value) into[key] = (into[key] ?? 0) + value;
  }
}

export interface FaultSummary {
  scenarios: number;
  /** Scenarios recorded per dependency: those a run with `-t` picked, or every one. */
  scenariosByDependency: Partial<Record<Dependency, number>>;
  runs: number;
  failedRuns: number;
  injected: Partial<Record<InjectedKind, number>>;
  injectedTotal: number;
  injectedByDependency: Partial<Record<Dependency, number>>;
  retries: Partial<Record<Dependency, number>>;
  cartFailures: number;
  expected: number;
  delivered: number;
  duplicates: number;
  lost: number;
  failedForGood: number;
  duplicatesDropped: number;
  durationMs: number;
}

export function summarize(): FaultSummary {
  const summary: FaultSummary = {
    scenarios: scenarios.length,
    scenariosByDependency: {},
    runs: 0,
    failedRuns: 0,
    injected: {},
    injectedTotal: 0,
    injectedByDependency: {},
    retries: {},
    cartFailures: 0,
    expected: 0,
    delivered: 0,
    duplicates: 0,
    lost: 0,
    failedForGood: 0,
    duplicatesDropped: 0,
    durationMs: 0,
  };
  for (const s of scenarios) {
    const injected = Object.values(s.injected).reduce((a, b) => a + (b ?? 0), 0);
    summary.scenariosByDependency[s.dependency] = (summary.scenariosByDependency[s.dependency] ?? 0) + 1;
    summary.runs += s.runs;
    summary.failedRuns += s.failedRuns;
    add(summary.injected, s.injected);
    summary.injectedTotal += injected;
    summary.injectedByDependency[s.dependency] = (summary.injectedByDependency[s.dependency] ?? 0) + injected;
    add(summary.retries, s.retries);
    summary.cartFailures += s.cartFailures;
    summary.expected += s.expected;
    summary.delivered += s.delivered;
    summary.duplicates += s.duplicates;
    summary.lost += s.lost;
    summary.failedForGood += s.failedForGood;
    summary.duplicatesDropped += s.duplicatesDropped;
    summary.durationMs += s.durationMs;
  }
  return summary;
}

/** Writes `.test-artifacts/reliability-faults.json` (ignored by git) and returns the one-line summary. */
export function writeSummary(): { path: string; line: string } {
  const summary = summarize();
  const dir = resolve(__dirname, '..', '..', '..', '.test-artifacts');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'reliability-faults.json');
  writeFileSync(path, `${JSON.stringify({ summary, scenarios }, null, 2)}\n`);
  const kinds = Object.entries(summary.injected)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const retries = Object.entries(summary.retries)
    .map(([dependency, count]) => `${dependency} ${count}`)
    .join(', ');
  const line =
    `reliability-faults: ${summary.scenarios} scenarios, ${summary.runs} runs (${summary.failedRuns} failed as designed); ` +
    `faults injected ${summary.injectedTotal} (${kinds}); retries ${retries}; cart failures recorded ${summary.cartFailures}; ` +
    `carts expected ${summary.expected}, delivered ${summary.delivered}, duplicates ${summary.duplicates}, lost ${summary.lost}, ` +
    `failed for good ${summary.failedForGood}; repeats dropped by Emarsys ${summary.duplicatesDropped}`;
  return { path, line };
}
