import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The commands README's Deploying section gives are typed by engineers on Windows as often as
 * on Linux: each must run as written in cmd.exe and Windows PowerShell 5.1 (the shell Windows
 * starts), neither of which reads a `NAME=value command` prefix, and 5.1 has no `&&`.
 */
test("the README's deploy commands run in cmd.exe and Windows PowerShell 5.1: no VAR=value prefix, no && chain", () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const deploying = readme.slice(readme.indexOf('## Deploying to Azure'), readme.indexOf('## Tests'));
  const commands = [...deploying.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string).filter((code) => /(^|\s)(npm|func|az)\s/.test(code));
  expect(commands).toEqual(expect.arrayContaining([expect.stringMatching(/^func azure functionapp publish /)]));
  expect(commands.filter((command) => /(^|&&\s*)[A-Za-z_][A-Za-z0-9_]*=\S*\s/.test(command) || command.includes('&&'))).toEqual([]);
});
