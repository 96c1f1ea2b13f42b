import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { toError } from '../src/shared/errors';
import { createCosmosContainer } from '../src/store/cosmos-client';
import { CosmosLedger } from '../src/store/cosmos-ledger';
import type { NotificationLedger } from '../src/store/ledger';
import { measureStoreCapacity } from './capacity';
import { IpcLedger } from './ipc-ledger';
import { runJob } from './job-runner';
import { isMessage, JOB_DATABASE_PREFIX, type FromJobProcess, type FromStandIns, type TlsFiles, type ToJobProcess, type ToStandIns } from './protocol';
import type { Endpoints, ScenarioConfig, ScenarioOutcome, StandInsSummary } from './types';

/**
 * One scenario, in a fresh process: start the stand-ins in a child process, measure the embedded
 * store's capacity when that is the store, run the job here and measure it, collect what the
 * stand-ins saw, and hand everything to the orchestrator. The orchestrator starts this process
 * with NODE_EXTRA_CA_CERTS (read only at start-up) so the real clients trust the stand-ins' TLS.
 */

interface StandInsHandle {
  endpoints: Endpoints;
  cartsInWindow: number;
  ledger: IpcLedger;
  summary(): Promise<StandInsSummary>;
  stop(): Promise<void>;
}

/** A sibling module, compiled (.js) or run from source (.ts) alike. */
function sibling(name: string): string {
  return join(__dirname, `${name}${extname(__filename)}`);
}

async function startStandInsProcess(config: ScenarioConfig, tls: TlsFiles): Promise<StandInsHandle> {
  const child: ChildProcess = fork(sibling('stand-ins-process'), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The job's own flags (its heap limit and growing factor, --expose-gc) are not the stand-ins' business.
    // The stand-ins keep everything they are sent (deliveries, the modeled store's documents), so
    // most of what they allocate survives; a larger young generation copies it less often. They
    // share the two cores with the job: measured at 100,000 carts, their CPU 4.3 -> 3.9 s and the
    // job's wall time 10.5 -> 10.3 s.
    execArgv: [...process.execArgv.filter((arg) => !/^--(expose-gc|max-old-space-size|heap-growing-percent)/.test(arg)), '--max-semi-space-size=64'],
  });
  const send = (message: ToStandIns) => child.send(message);
  const ledger = new IpcLedger(send);
  let ready: { resolve: (value: { endpoints: Endpoints; cartsInWindow: number }) => void; reject: (error: Error) => void } | undefined;
  let summary: ((summary: StandInsSummary) => void) | undefined;

  child.on('message', (message: unknown) => {
    if (!isMessage<FromStandIns>(message)) return;
    if (message.kind === 'ledger-answer') ledger.receive(message);
    else if (message.kind === 'ready') ready?.resolve(message);
    else if (message.kind === 'summary') summary?.(message.summary);
    else ready?.reject(new Error(`The stand-ins failed: ${message.message}`));
  });
  child.on('exit', (code) => {
    ready?.reject(new Error(`The stand-ins process exited (${code ?? 'signal'})`));
    ledger.abandon('The stand-ins process exited');
  });

  const started = await new Promise<{ endpoints: Endpoints; cartsInWindow: number }>((resolve, reject) => {
    ready = { resolve, reject };
    send({ kind: 'start', config, tls });
  });
  return {
    ...started,
    ledger,
    summary: () =>
      new Promise((resolve) => {
        summary = resolve;
        send({ kind: 'summary' });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        send({ kind: 'stop' });
      }),
  };
}

async function runScenario(config: ScenarioConfig, tls: TlsFiles): Promise<ScenarioOutcome> {
  const standIns = await startStandInsProcess(config, tls);
  let dispose: (() => void) | undefined;
  try {
    let ledger: NotificationLedger = standIns.ledger;
    let capacity: ScenarioOutcome['capacity'];
    const cosmos = standIns.endpoints.cosmos;
    if (config.store === 'embedded') {
      if (!cosmos) throw new Error('The stand-ins started no embedded Cosmos DB server');
      capacity = await measureStoreCapacity(cosmos);
      const container = await createCosmosContainer({ endpoint: cosmos.endpoint, key: cosmos.key, databaseId: `${JOB_DATABASE_PREFIX}${randomUUID()}` });
      dispose = () => container.database.client.dispose();
      ledger = new CosmosLedger({ container });
    }
    // The stand-ins' CPU is counted over the job alone: the capacity probe is not serving the job.
    const before = await standIns.summary();
    // Start the job from a collected heap, so that peak RSS is the job's, not start-up garbage.
    (globalThis as { gc?: () => void }).gc?.();
    const job = await runJob({ endpoints: standIns.endpoints, config, ledger });
    const after = await standIns.summary();
    const cpuMs = after.cpuMs === undefined || before.cpuMs === undefined ? undefined : after.cpuMs - before.cpuMs;
    return { config, cartsInWindow: standIns.cartsInWindow, job, standIns: { ...after, cpuMs }, capacity, cores: availableParallelism() };
  } finally {
    dispose?.();
    await standIns.stop();
  }
}

function reply(message: FromJobProcess): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, () => resolve());
  });
}

process.once('message', (message: unknown) => {
  if (!isMessage<ToJobProcess>(message) || message.kind !== 'run') return;
  runScenario(message.config, message.tls)
    .then((outcome) => reply({ kind: 'result', outcome }))
    .catch((error: unknown) => reply({ kind: 'failed', message: toError(error).stack ?? toError(error).message }))
    .finally(() => process.exit(0));
});
