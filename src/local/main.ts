#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport } from '../cli/format-report';
import { ConfigurationError, toError } from '../shared/errors';
import { jsonLineLogger } from '../shared/logger';
import { closingNotes, runLocal } from './run-local';
import { ensureLocalTls } from './tls';

const USAGE = `Usage: npm run local -- [options]

Runs the whole job on this machine against local stand-ins: a Retail Server simulator with a
seeded store, an image server, a token endpoint and an embedded Cosmos DB server whose contents
are kept in .local/ between runs. Emails are written as previews to out/emails/.

Options:
  --reset                   forget the ledger, the seed and the previews; start over
  --provider <name>         preview (default) or emarsys: send for real with the Emarsys settings
                            of appSettings.json / Section__Property variables
  --settings <path>         appSettings.json for --provider emarsys (default ./appSettings.json)
  --cosmos-endpoint <url>   use this Cosmos DB (e.g. the emulator, https://localhost:8081)
  --cosmos-key <key>        its key (default: AzureCosmosOptions__PrimaryKey)
  --out <dir>               where previews go (default out/emails)
  --state <dir>             where local state goes (default .local)
  --json                    print only the run report, as JSON
  --verbose                 log debug detail on stderr
  -h, --help                show this help

Examples:
  npm run local
  npm run local -- --reset
  npm run local -- --cosmos-endpoint https://localhost:8081 --cosmos-key <emulator key>
`;

/** NODE_EXTRA_CA_CERTS is read when Node starts, so trusting the local certificate takes a child process. */
const CHILD_MARKER = 'ABANDONED_CARTS_LOCAL_CHILD';

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        reset: { type: 'boolean', default: false },
        provider: { type: 'string', default: 'preview' },
        settings: { type: 'string' },
        'cosmos-endpoint': { type: 'string' },
        'cosmos-key': { type: 'string' },
        out: { type: 'string', default: join('out', 'emails') },
        state: { type: 'string', default: '.local' },
        json: { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${toError(error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.provider !== 'preview' && values.provider !== 'emarsys') {
    process.stderr.write(`--provider must be preview or emarsys, got ${values.provider}\n`);
    return 2;
  }
  const stateDir = resolve(values.state);
  const tls = await ensureLocalTls(join(stateDir, 'tls'));

  if (process.env[CHILD_MARKER] !== '1') {
    // Trust the local certificate (and whatever the user already trusts, e.g. the emulator's).
    const bundle = join(stateDir, 'tls', 'trusted.pem');
    const existing = process.env.NODE_EXTRA_CA_CERTS;
    const extra = existing && existsSync(existing) ? `\n${readFileSync(existing, 'utf8')}` : '';
    writeFileSync(bundle, `${tls.cert}${extra}`);
    const child = spawn(process.execPath, [__filename, ...argv], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle, [CHILD_MARKER]: '1' },
    });
    return new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit(code ?? (signal ? 1 : 0))));
  }

  const out = process.stdout;
  const logger = jsonLineLogger((line) => process.stderr.write(line), values.verbose ? 'debug' : 'warn');
  const tty = process.stderr.isTTY === true && !values.json;
  try {
    const { report, indexPath } = await runLocal({
      stateDir,
      outDir: values.out,
      reset: values.reset,
      provider: values.provider,
      cosmosEndpoint: values['cosmos-endpoint'],
      cosmosKey: values['cosmos-key'] ?? process.env.AzureCosmosOptions__PrimaryKey,
      settingsPath: values.settings,
      env: process.env,
      tls,
      logger,
      announce: (line) => {
        if (!values.json) out.write(`${line}\n`);
      },
      onProgress: tty
        ? (p) => process.stderr.write(`\r\x1b[2K${p.phase === 'survey' ? `Reading the window: page ${p.pages}` : `Page ${p.pages}: ${p.seen} carts, ${p.notified} sent`}`)
        : undefined,
    });
    if (tty) process.stderr.write('\r\x1b[2K');
    if (values.json) {
      out.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      out.write(`\n${formatReport(report)}\n`);
      if (indexPath) {
        const shown = relative(process.cwd(), indexPath);
        out.write(`\nOpen the previews: ${shown.startsWith('..') ? indexPath : shown}\n`);
      }
      for (const note of closingNotes(report)) out.write(`${note}\n`);
    }
    return report.status === 'failed' ? 1 : report.status === 'unit-busy' ? 3 : 0;
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    process.stderr.write(`The local run failed: ${toError(error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${toError(error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
