import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_REASONS } from '../../src/job/report';

test('every skip reason a report can carry is documented in the README', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const undocumented = SKIP_REASONS.filter((reason) => !readme.includes(`\`${reason}\``));
  expect(undocumented).toEqual([]);
});
