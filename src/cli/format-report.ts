import type { RunReport } from '../job/report';
import { withoutControlCharacters } from '../shared/redact';

/**
 * The run report as a short table for people at a terminal (`--json` prints the report itself).
 * Failure reasons and the error carry other services' words: no control character of theirs
 * reaches the terminal.
 */
export function formatReport(report: RunReport): string {
  const rows: [string, string][] = [
    ['Run', `${report.runId}${report.dryRun ? ' (dry run)' : ''}`],
    ['Status', report.status],
    ['Operating unit', `${report.operatingUnitNumber}${report.channelId ? ` (channel ${report.channelId})` : ''}`],
    ['Window', report.window.from ? `${report.window.from} .. ${report.window.to} (${report.window.source})` : '-'],
    ['Pages', String(report.pages)],
    ['Carts seen', String(report.carts.seen)],
    ['Eligible', String(report.carts.eligible)],
    [report.dryRun ? 'Would notify' : 'Notified', String(report.dryRun ? report.carts.eligible : report.carts.notified)],
    ['Failed', report.carts.providerDown ? `${report.carts.failed} (${report.carts.providerDown} while the email provider failed them as a whole: no attempt of theirs, the next run sends them)` : String(report.carts.failed)],
    ['Skipped', String(report.carts.skipped)],
    ...Object.entries(report.carts.skippedByReason).map(([reason, count]): [string, string] => [`  ${reason}`, String(count)]),
    ['Lines dropped', String(report.lines.dropped)],
    ...report.failures.map(({ reason, count }): [string, string] => [`  failed: ${reason}`, String(count)]),
    ['Time', `${(report.durationMs / 1000).toFixed(1)} s`],
  ];
  if (report.remaining) rows.push(['Time limit', remainingAdvice(report)]);
  if (report.error) rows.push(['Error', report.error]);
  const printable = rows.map(([label, value]) => [withoutControlCharacters(label), withoutControlCharacters(value)] as const);
  const width = Math.max(...printable.map(([label]) => label.length));
  return printable.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** What a run stopped by its time limit left, and how it gets done. */
function remainingAdvice(report: RunReport): string {
  const { from, to } = report.remaining as NonNullable<RunReport['remaining']>;
  const left = `reached; ${from} .. ${to} not worked`;
  if (report.window.source !== 'request' && !report.dryRun) return `${left}: the next run goes on from the checkpoint`;
  return `${left}: run again with --from ${from} --to ${to}`;
}
