#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { RunProgress } from '../job/run-abandoned-cart-job';
import { disposeRuntimes } from '../runtime/create-dependencies';
import { checkRerun, runJobFromSettings, type CheckedRerun, type EntryPointOptions } from '../runtime/run-from-settings';
import { ConfigurationError, toError } from '../shared/errors';
import { jsonLineLogger } from '../shared/logger';
import { withoutControlCharacters } from '../shared/redact';
import { runDoctor } from './doctor';
import { formatReport } from './format-report';
import { previewCart } from './preview-cart';

/**
 * Exit codes: 0 a completed run (per-cart failures show in the report), 1 a failed run, 2 bad
 * configuration or arguments, 3 nothing done because another run holds the operating unit (HTTP
 * answers 409 for it): a scripted rerun must not take that for done.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal: progress is shown only there. */
  isTTY?: boolean;
  /** Extra runtime options for tests (clock, retry policy). */
  runtime?: EntryPointOptions['runtime'];
}

const USAGE = `Usage: abandoned-carts <command> [options]

Commands:
  run      find the carts left behind and send the reminders, once
  doctor   check the configuration and every dependency, sending nothing
  preview  render one cart's reminder to a file, sending and recording nothing

Run "abandoned-carts <command> --help" for a command's options.
`;

const RUN_USAGE = `Usage: abandoned-carts run [options]

Finds the carts left behind on Retail Server and sends reminders through Emarsys, once.

Options:
  --settings <path>  appSettings.json to read (default: ./appSettings.json if present);
                     Section__Property environment variables override it
  --from <iso>       start of the window, e.g. 2026-11-23T00:00:00Z (default: the checkpoint)
  --to <iso>         end of the window (default: now minus ExcludeAbandonedCartsModifiedSinceLastMinutes)
  --dry-run          read and evaluate everything; send and record nothing
  --json             print only the run report, as JSON, on stdout
  --verbose          log debug detail (per page) on stderr
  -h, --help         show this help

Examples:
  abandoned-carts run --dry-run
  abandoned-carts run --from 2026-11-22T00:00:00Z --to 2026-11-23T00:00:00Z --json

Exit codes: 0 run completed, 1 run failed, 2 bad configuration or arguments,
3 another run holds the operating unit (nothing was done; try again when it ends).
`;

const PREVIEW_USAGE = `Usage: abandoned-carts preview --cart <id> [--out <dir>] [--settings <path>]

Reads the cart, its customer and products from Retail Server and renders the reminder a run would
send, as HTML and as the provider payload (JSON), into out/preview/ (or --out). Sends nothing,
records nothing; says so when a run would skip the cart, and why.

Examples:
  abandoned-carts preview --cart 8f0c1d2e-3b4a-5c6d-7e8f-90a1b2c3d4e5
  abandoned-carts preview --cart 8f0c1d2e-3b4a-5c6d-7e8f-90a1b2c3d4e5 --out /tmp/previews

Exit codes: 0 rendered, 1 not found or would be skipped, 2 bad configuration or arguments.
`;

const DOCTOR_USAGE = `Usage: abandoned-carts doctor [--settings <path>]

Resolves the configuration (secrets hidden), then checks in turn: MaxRunMinutes is under the host's
functionTimeout (AzureFunctionsJobHost__functionTimeout, else host.json beside the settings), the
secrets can be read, a token comes from the authority, Retail Server answers with that token and
OUN, Cosmos DB is reachable with its container and may be written, and Emarsys accepts the
credentials and has the external event ExternalEventId names.
Sends nothing. Its one write is a probe document of its own in the ledger's container, deleted
again at once (should the delete fail, its 60 s ttl removes it when the container's time to live
is on): a read-only role or key passes every read, and would fail a run at its first write.

Examples:
  abandoned-carts doctor
  abandoned-carts doctor --settings ./appSettings.production.json

Exit codes: 0 every check passed, 1 a check failed, 2 bad configuration.
`;

export async function runCli(argv: readonly string[], terminal: CliIo): Promise<number> {
  // What is printed carries other services' words (an error, a failure reason, a doctor check's
  // answer): no control character of theirs reaches the terminal. The progress line alone
  // writes its own, to the terminal itself.
  const io: CliIo = {
    ...terminal,
    stdout: (text) => terminal.stdout(withoutControlCharacters(text)),
    stderr: (text) => terminal.stderr(withoutControlCharacters(text)),
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        settings: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        cart: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr(`${toError(error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help) {
    io.stdout(command === 'run' ? RUN_USAGE : command === 'doctor' ? DOCTOR_USAGE : command === 'preview' ? PREVIEW_USAGE : USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || (command !== 'run' && command !== 'doctor' && command !== 'preview')) {
    io.stderr(`${positionals.length === 0 ? 'Missing command.' : `Unknown command: ${positionals.join(' ')}.`}\n\n${USAGE}`);
    return EXIT.usage;
  }
  // Each command refuses the options of another: ignored, `preview --json` would print text and
  // `doctor --verbose` log nothing more, leaving a script or an engineer to guess.
  const given = (names: readonly (keyof typeof values)[]) => names.filter((name) => values[name] !== undefined && values[name] !== false).map((name) => `--${name}`);
  const runOptions = given(['from', 'to', 'dry-run', 'json', 'verbose']);
  const ofRun = `${runOptions.join(', ')} ${runOptions.length === 1 ? 'belongs' : 'belong'} to the run command`;
  if (command === 'preview') {
    if (runOptions.length > 0) {
      io.stderr(`${ofRun}; preview takes only --cart, --out and --settings.\n\n${PREVIEW_USAGE}`);
      return EXIT.usage;
    }
    if (!values.cart) {
      io.stderr(`preview needs --cart <id>.\n\n${PREVIEW_USAGE}`);
      return EXIT.usage;
    }
    try {
      return await previewCart({
        cartId: values.cart,
        outDir: values.out,
        settingsPath: values.settings,
        env: io.env,
        write: io.stdout,
        client: { retryPolicy: io.runtime?.retryPolicy, sleep: io.runtime?.sleep },
      });
    } catch (error) {
      if (error instanceof ConfigurationError) {
        io.stderr(`${error.message}\n`);
        return EXIT.usage;
      }
      io.stderr(`The preview failed: ${toError(error).message}\n`);
      return EXIT.failed;
    }
  }
  if (values.cart !== undefined || values.out !== undefined) {
    io.stderr(`--cart and --out belong to the preview command.\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (command === 'doctor') {
    if (runOptions.length > 0) {
      io.stderr(`${ofRun}; doctor takes only --settings.\n\n${DOCTOR_USAGE}`);
      return EXIT.usage;
    }
    try {
      return await runDoctor({ settingsPath: values.settings, env: io.env, write: io.stdout, credential: io.runtime?.credential });
    } finally {
      await disposeRuntimes();
    }
  }
  const rerunOptions = { ...(values.from !== undefined ? { from: values.from } : {}), ...(values.to !== undefined ? { to: values.to } : {}), dryRun: values['dry-run'] };
  const invalidArguments = (problems: readonly string[]) => {
    // A problem of one field names it (`from ...`): shown as the option; one of the window as it is.
    io.stderr(`Invalid arguments:\n${problems.map((p) => `  - ${/^(from|to|dryRun) /.test(p) ? `--${p.replace(/^dryRun/, 'dry-run')}` : p}`).join('\n')}\n`);
    return EXIT.usage;
  };
  // A bad --from is reported with or without settings; settings that do not load exit 2 too.
  let rerun: CheckedRerun;
  try {
    rerun = checkRerun(rerunOptions, { settingsPath: values.settings, env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    io.stderr(`${error.message}\n`);
    return EXIT.usage;
  }
  if (!rerun.ok) return invalidArguments(rerun.problems);
  const progress = io.isTTY && !values.json && !values.verbose ? progressLine(terminal.stderr) : undefined;
  const logger = jsonLineLogger(
    (line) => {
      progress?.clear();
      io.stderr(line);
    },
    values.verbose ? 'debug' : values.json || progress ? 'warn' : 'info',
  );
  try {
    const report = await runJobFromSettings(
      { trigger: 'cli', ...rerun.request },
      { logger, env: io.env, settingsPath: values.settings, settings: rerun.settings, runtime: io.runtime, onProgress: progress?.update },
    );
    progress?.clear();
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.status === 'failed' ? EXIT.failed : report.status === 'unit-busy' ? EXIT.busy : EXIT.ok;
  } catch (error) {
    if (error instanceof ConfigurationError) {
      io.stderr(`${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`The run could not start: ${toError(error).message}\n`);
    return EXIT.failed;
  } finally {
    await disposeRuntimes();
  }
}

/** One line on the terminal, rewritten as pages go by, and cleared before anything else is printed. */
function progressLine(write: (text: string) => void): { update: (p: RunProgress) => void; clear: () => void } {
  let shown = false;
  return {
    update(p) {
      const text = p.phase === 'survey' ? `Reading the window: page ${p.pages}` : `Page ${p.pages}: ${p.seen} carts, ${p.notified} sent, ${p.failed} failed`;
      write(`\r\x1b[2K${text}`);
      shown = true;
    },
    clear() {
      if (shown) write('\r\x1b[2K');
      shown = false;
    },
  };
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: process.stderr.isTTY === true,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${toError(error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
