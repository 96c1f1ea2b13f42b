import { spawn } from 'node:child_process';
import type { BuiltCli } from './cli-build';

/**
 * The CLI as a real operating-system process: its own event loop, its own Cosmos, MSAL and axios
 * clients, killed by a signal the way a host kills a function or a container. The child gets a
 * minimal environment (the settings given, PATH, the test CA, NODE_PATH) so nothing of the test
 * worker's environment leaks into its configuration.
 */

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CliProcess {
  readonly pid: number;
  readonly startedAt: number;
  /** Whether the process is still running. */
  running(): boolean;
  /** Sends the signal if it still runs; true when it did. */
  kill(signal: NodeJS.Signals): boolean;
  readonly exited: Promise<CliExit>;
}

export interface StartCliOptions {
  /** Settings and secrets, as `Section__Property` and secret variables. */
  env: Record<string, string>;
  /** A folder without appSettings.json, so only `env` configures the run. */
  cwd: string;
}

export function startCli(cli: BuiltCli, args: readonly string[], options: StartCliOptions): CliProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_PATH: cli.nodePath,
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
    ...options.env,
  };
  const startedAt = Date.now();
  const child = spawn(process.execPath, [cli.mainPath, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let done = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<CliExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - startedAt });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${cli.mainPath}`);
  const pid = child.pid;
  return {
    pid,
    startedAt,
    running: () => !done && child.exitCode === null && child.signalCode === null,
    kill(signal) {
      if (done || child.exitCode !== null || child.signalCode !== null) return false;
      return child.kill(signal);
    },
    exited,
  };
}
