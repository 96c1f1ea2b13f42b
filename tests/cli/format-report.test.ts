import { formatReport } from '../../src/cli/format-report';
import type { RunReport } from '../../src/job/report';

function report(overrides: Partial<RunReport>): RunReport {
  return {
    runId: '6f1c1a52-8d4e-4b8e-9a51-0d7c1f3b2a10',
    status: 'completed',
    dryRun: false,
    trigger: 'cli',
    operatingUnitNumber: '128',
    window: { from: '2026-11-23T03:40:00.000Z', to: '2026-11-23T11:50:00.000Z', source: 'include-minutes' },
    pages: 3,
    carts: { seen: 30, eligible: 30, notified: 30, failed: 0, skipped: 0, skippedByReason: {} },
    lines: { dropped: 0, droppedByReason: {} },
    invalidRecords: { customers: 0, products: 0 },
    failures: [],
    failuresByDependency: {},
    calls: {},
    retries: {},
    startedAt: '2026-11-23T12:00:00.000Z',
    finishedAt: '2026-11-23T12:08:00.000Z',
    durationMs: 480_000,
    ...overrides,
  };
}

const remaining = { from: '2026-11-23T06:10:00.000Z', to: '2026-11-23T11:50:00.000Z' };

describe('formatReport', () => {
  test('says nothing of a time limit when the run worked its whole window', () => {
    expect(formatReport(report({}))).not.toContain('Time limit');
  });

  test('a run that reached its time limit says the next run goes on from the checkpoint', () => {
    expect(formatReport(report({ remaining }))).toMatch(
      /Time limit +reached; 2026-11-23T06:10:00.000Z \.\. 2026-11-23T11:50:00.000Z not worked: the next run goes on from the checkpoint/,
    );
  });

  test('a rerun or a dry run that reached it says how to finish the window', () => {
    const advice = 'run again with --from 2026-11-23T06:10:00.000Z --to 2026-11-23T11:50:00.000Z';
    expect(formatReport(report({ remaining, window: { ...report({}).window, source: 'request' } }))).toContain(advice);
    expect(formatReport(report({ remaining, dryRun: true }))).toContain(advice);
  });
});
