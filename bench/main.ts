#!/usr/bin/env node
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { ensureLocalTls } from '../src/local/tls';
import { toError } from '../src/shared/errors';
import { measureCpuReference } from './cpu-reference';
import { compare, figuresOf, medianRun, type Figures } from './figures';
import { formatJsonLine, formatTable } from './format';
import { jobHeapFlags, parseBenchOptions, scenarioConfigs, USAGE } from './options';
import { isMessage, type FromJobProcess, type TlsFiles, type ToJobProcess } from './protocol';
import type { ScenarioConfig, ScenarioOutcome } from './types';

/**
 * `npm run bench`: runs each scenario (strategy x store) one after another, each in a fresh job
 * process that starts its own stand-ins process, then prints one table and one JSON line.
 * Scenarios never run at the same time: on a 2-core machine they would take each other's CPU.
 */

/** A sibling module, compiled (.js) or run from source (.ts) alike. */
function sibling(name: string): string {
  return join(__dirname, `${name}${extname(__filename)}`);
}

function runInJobProcess(config: ScenarioConfig, tls: TlsFiles, heapFlags: readonly string[]): Promise<ScenarioOutcome> {
  return new Promise((resolve, reject) => {
    const child = fork(sibling('job-process'), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // NODE_EXTRA_CA_CERTS is read at start-up: the real clients then trust the stand-ins' certificate.
      env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.certPath },
      execArgv: [...process.execArgv, '--expose-gc', ...heapFlags],
    });
    let settled = false;
    child.on('message', (message: unknown) => {
      if (!isMessage<FromJobProcess>(message)) return;
      settled = true;
      if (message.kind === 'result') resolve(message.outcome);
      else reject(new Error(`${config.strategy}/${config.store}: ${message.message}`));
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`${config.strategy}/${config.store}: the job process exited (${code ?? 'signal'}) without a result`));
    });
    const message: ToJobProcess = { kind: 'run', config, tls };
    child.send(message);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseBenchOptions(argv);
  if (!parsed.ok) {
    if (parsed.help) process.stdout.write(USAGE);
    else process.stderr.write(`${parsed.problems.join('\n')}\n\n${USAGE}`);
    return parsed.help ? 0 : 2;
  }
  const { options } = parsed;
  const dir = join(tmpdir(), 'abandoned-carts-bench-tls');
  const { certPath } = await ensureLocalTls(dir);
  const tls: TlsFiles = { keyPath: join(dir, 'key.pem'), certPath };

  // Every scenario gets the same store: generated for one moment, replayed by each job's clock.
  const configs = scenarioConfigs(options, new Date());
  const runs: Figures[][] = configs.map(() => []);
  // Repeats go in turns (A B A B, not A A B B), so a drift in the machine's speed falls on every scenario alike.
  for (let round = 1; round <= options.repeat; round++) {
    for (const [index, config] of configs.entries()) {
      const label = `${config.strategy}/${config.store}${options.repeat > 1 ? ` (run ${round} of ${options.repeat})` : ''}`;
      if (!options.json) process.stderr.write(`running ${label} ...\n`);
      // Timed here, not in the job process, whose heap it would grow before the run.
      const cpuReferenceMs = measureCpuReference();
      const result = figuresOf(await runInJobProcess(config, tls, jobHeapFlags(options)), cpuReferenceMs);
      if (!options.json) process.stderr.write(`  ${result.wallSeconds.toFixed(2)} s, ${result.notified} notified\n`);
      runs[index]?.push(result);
    }
  }
  const figures = runs.map(medianRun);
  const comparisons = compare(figures);
  if (!options.json) process.stdout.write(`${formatTable(options, figures, comparisons)}\n\n`);
  process.stdout.write(`${formatJsonLine(options, figures, comparisons)}\n`);
  // Every run of a scenario, not only the median one, must have completed and sent the same emails.
  const repeatable = runs.every((all) => all.every((f) => f.status === 'completed' && f.payloadDigest === all[0]?.payloadDigest));
  if (!repeatable) process.stderr.write('Runs of the same scenario did not all complete with the same emails; see the JSON line.\n');
  const healthy = repeatable && comparisons.every((c) => c.sameNotifications);
  return healthy ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${toError(error).stack ?? toError(error).message}\n`);
    process.exitCode = 1;
  },
);
