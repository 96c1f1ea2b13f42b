import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './cli-build';

/**
 * The figures a reliability suite measured, written to `.test-artifacts/<name>.json` (ignored by
 * git) so CI can keep them and docs/reliability-crash-overlap.md can quote them.
 */
export function writeArtifact(name: string, figures: unknown): string {
  const dir = join(PROJECT_ROOT, '.test-artifacts');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(figures, null, 2)}\n`);
  return path;
}
