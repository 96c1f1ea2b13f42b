import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_REASONS } from '../../src/job/report';
import { RunCounters } from '../../src/job/run-counters';

test('every skip reason a report can carry is documented in the README', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const undocumented = SKIP_REASONS.filter((reason) => !readme.includes(`\`${reason}\``));
  expect(undocumented).toEqual([]);
});

test('failures are listed most frequent first, equal counts by reason, whatever order pages finished in', () => {
  const counted = (order: readonly [string, 'provider' | 'store' | 'retail'][]) => {
    const counters = new RunCounters();
    for (const [reason, dependency] of order) counters.countFailureReason(reason, dependency);
    return counters.summary().failures;
  };
  const events: [string, 'provider' | 'store' | 'retail'][] = [
    ['emarsys: HTTP 500', 'provider'],
    ['ledger: HTTP 503', 'store'],
    ['Retail Server: the customer lookup fails', 'retail'],
    ['ledger: HTTP 503', 'store'],
  ];
  const expected = [
    { reason: 'ledger: HTTP 503', count: 2 },
    { reason: 'Retail Server: the customer lookup fails', count: 1 },
    { reason: 'emarsys: HTTP 500', count: 1 },
  ];
  expect(counted(events)).toEqual(expected);
  expect(counted([...events].reverse())).toEqual(expected);
});
