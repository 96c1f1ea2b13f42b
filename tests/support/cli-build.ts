import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/**
 * The `abandoned-carts` CLI as JavaScript, for tests that run it as a child process.
 *
 * Measured on the CI machine: `tsc -p tsconfig.build.json` takes about 7 s (it type-checks the
 * whole program), `ts-node` costs about a second on every start, while transpiling each file on
 * its own (`ts.transpileModule`, no type check) takes about 1 s once and the built CLI then starts
 * in about 0.4 s. Type errors are caught by `npm run typecheck`, so transpiling is enough here.
 * The output lives in a temporary folder; NODE_PATH lets it resolve the project's node_modules.
 */

export const PROJECT_ROOT = resolve(__dirname, '..', '..');

export interface BuiltCli {
  /** `<dir>/src/cli/main.js`. */
  mainPath: string;
  /** The project's node_modules, for the child's NODE_PATH. */
  nodePath: string;
  dir: string;
  files: number;
  durationMs: number;
  remove(): void;
}

/** Transpiles every file of tsconfig.build.json into a fresh temporary folder. */
export function buildCli(): BuiltCli {
  const started = Date.now();
  const configPath = join(PROJECT_ROOT, 'tsconfig.build.json');
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, PROJECT_ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'abandoned-carts-cli-'));
  const compilerOptions: ts.CompilerOptions = { ...parsed.options, sourceMap: false, declaration: false };
  let files = 0;
  for (const fileName of parsed.fileNames) {
    if (!fileName.endsWith('.ts') || fileName.endsWith('.d.ts')) continue;
    const output = ts.transpileModule(readFileSync(fileName, 'utf8'), { compilerOptions, fileName, reportDiagnostics: false });
    const target = join(dir, relative(PROJECT_ROOT, fileName)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output.outputText);
    files++;
  }
  return {
    mainPath: join(dir, 'src', 'cli', 'main.js'),
    nodePath: join(PROJECT_ROOT, 'node_modules'),
    dir,
    files,
    durationMs: Date.now() - started,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
