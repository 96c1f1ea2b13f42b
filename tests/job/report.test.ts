import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_REASONS } from '../../src/job/report';
import { MAX_FAILURE_REASONS, RunCounters } from '../../src/job/run-counters';

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

test('a run whose carts failed for as many reasons as carts lists the most frequent, and counts the rest in one entry', () => {
  // Reasons that name what failed (a record, a reminder's size): one per cart, 20,000 carts.
  const counters = new RunCounters();
  for (let i = 0; i < 20_000; i++) counters.countFailureReason(`Retail Server: customer C${i} could not be loaded (HTTP 500)`, 'retail');
  for (let i = 0; i < 3; i++) counters.countFailureReason('emarsys: HTTP 503, still failing after 5 attempts', 'provider');
  const { failures, failuresByDependency } = counters.summary();
  expect(failures).toHaveLength(MAX_FAILURE_REASONS);
  expect(failures[0]).toEqual({ reason: 'emarsys: HTTP 503, still failing after 5 attempts', count: 3 });
  expect(failures.at(-1)).toEqual({ reason: `${20_000 - (MAX_FAILURE_REASONS - 2)} other reasons`, count: 20_000 - (MAX_FAILURE_REASONS - 2) });
  // Every failure is still counted, and the dependencies' totals are whole.
  expect(failures.reduce((sum, failure) => sum + failure.count, 0)).toBe(20_003);
  expect(failuresByDependency).toEqual({ retail: 20_000, provider: 3 });
  expect(JSON.stringify(failures).length).toBeLessThan(10_000);
});
