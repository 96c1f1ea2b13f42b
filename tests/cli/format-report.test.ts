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

  test('says how many of the failed carts failed while the email provider was down, and that they wait', () => {
    const base = runReport();
    const table = formatReport(runReport({ carts: { ...base.carts, notified: 0, failed: 3, providerDown: 3 } }));
    expect(table).toMatch(/^Failed +3 \(3 while the email provider failed them as a whole: no attempt of theirs, the next run sends them\)$/m);
    expect(formatReport(runReport({ carts: { ...base.carts, failed: 1 } }))).toMatch(/^Failed +1$/m);
  });

  test('prints no control character a failure reason or the error holds, whoever built the report', () => {
    const ESC = '\u001b';
    const report = runReport({
      failures: [{ reason: `Emarsys said ${ESC}[2J${ESC}[1;1HStatus completed`, count: 1 }],
      error: `Retail Server said: ${ESC}]8;;https://evil.example/${ESC}\\fix here\r\u009b31m\u202eevil`,
    });
    const table = formatReport(report);
    expect(table).toMatch(/^ {2}failed: Emarsys said \[2J\[1;1HStatus completed +1$/m);
    expect(table).toMatch(/^Error +Retail Server said: \]8;;https:\/\/evil\.example\/\\fix here 31mevil$/m);
    // eslint-disable-next-line no-control-regex
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});
