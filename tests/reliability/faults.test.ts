import { cosmosFaults } from './faults/cosmos';
import { emarsysFaults } from './faults/emarsys';
import { retailFaults } from './faults/retail';
import { tokenFaults } from './faults/token';
import { summarize, writeSummary } from './support/fault-figures';

/**
 * Fault injection in front of every dependency of the real job (issue 5): for each fault, the run
 * retries what may be retried with bounded backoff, records what failed with a reason, finishes
 * the rest, and a later run completes what is left; Emarsys ends up having delivered every cart
 * that should reach a customer exactly once. The totals go to .test-artifacts/reliability-faults.json
 * and one summary line, which docs/reliability-faults.md quotes.
 *
 * One file on purpose: the summary covers every scenario. `npx jest tests/reliability/faults`.
 */

describe('fault injection', () => {
  retailFaults();
  tokenFaults();
  emarsysFaults();
  cosmosFaults();
});

test('in total: faults injected in front of every dependency, nothing delivered twice, nothing lost', () => {
  const summary = summarize();
  // The totals are those of the scenarios that ran: every one in a full run; with -t, those it
  // picked (none when it picks this test alone, and then there is nothing to check).
  const ran = (['retail', 'token', 'emarsys', 'cosmos'] as const).filter((dependency) => (summary.scenariosByDependency[dependency] ?? 0) > 0);
  for (const dependency of ran) {
    expect(summary.injectedByDependency[dependency] ?? 0).toBeGreaterThan(0);
  }
  expect(summary.duplicates).toBe(0);
  expect(summary.lost).toBe(0);
});

afterAll(() => {
  const { line, path } = writeSummary();
  console.log(`${line}\n(details: ${path})`);
});
