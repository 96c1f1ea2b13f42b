import type { LedgerAnswer, LedgerCall } from './ipc-ledger';
import type { StandInsConfig } from './stand-ins';
import type { Endpoints, ScenarioConfig, ScenarioOutcome, StandInsSummary } from './types';

/**
 * The messages between the benchmark's processes: the orchestrator (main.ts) runs each scenario
 * in a fresh job process (job-process.ts), which starts its stand-ins in a process of their own
 * (stand-ins-process.ts). Fresh processes per scenario keep one scenario's heap and JIT state out
 * of the next one's figures.
 */

/** Where the TLS key and certificate (key.pem, cert.pem) of the stand-ins are. */
export interface TlsFiles {
  keyPath: string;
  certPath: string;
}

export type ToStandIns = { kind: 'start'; config: StandInsConfig; tls: TlsFiles } | LedgerCall | { kind: 'summary' } | { kind: 'stop' };

export type FromStandIns =
  | { kind: 'ready'; endpoints: Endpoints; cartsInWindow: number }
  | LedgerAnswer
  | { kind: 'summary'; summary: StandInsSummary }
  | { kind: 'failed'; message: string };

export type ToJobProcess = { kind: 'run'; config: ScenarioConfig; tls: TlsFiles };

export type FromJobProcess = { kind: 'result'; outcome: ScenarioOutcome } | { kind: 'failed'; message: string };

/** Messages come from our own processes; this only tells them apart. */
export function isMessage<T extends { kind: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { kind?: unknown }).kind === 'string';
}

/** The database the job's ledger is created in; `--store-ops-per-second` limits it, not the capacity probe's. */
export const JOB_DATABASE_PREFIX = 'bench-job-';
