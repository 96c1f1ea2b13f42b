import { formatReport } from '../../src/cli/format-report';
import { runReport } from '../store/fixture';

const remaining = { from: '2024-05-01T06:10:00.000Z', to: '2024-05-01T08:00:00.000Z' };
const timer = runReport().window;

describe('formatReport', () => {
  test('says nothing of a time limit when the run worked its whole window', () => {
    expect(formatReport(runReport())).not.toContain('Time limit');
  });

  test('a run that reached its time limit says the next run goes on from the checkpoint', () => {
    expect(formatReport(runReport({ remaining }))).toMatch(
      /Time limit +reached; 2024-05-01T06:10:00.000Z \.\. 2024-05-01T08:00:00.000Z not worked: the next run goes on from the checkpoint/,
    );
  });

  test('a rerun or a dry run that reached it says how to finish the window', () => {
    const advice = 'run again with --from 2024-05-01T06:10:00.000Z --to 2024-05-01T08:00:00.000Z';
    expect(formatReport(runReport({ remaining, window: { ...timer, source: 'request' } }))).toContain(advice);
    expect(formatReport(runReport({ remaining, dryRun: true }))).toContain(advice);
  });
});
