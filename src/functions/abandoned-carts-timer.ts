import { app, type InvocationContext, type Timer } from '@azure/functions';
import type { RunReport } from '../job/report';
import { runJobFromSettings } from '../runtime/run-from-settings';
import { invocationLogger } from './support/invocation-logger';

/**
 * The scheduled run. The schedule comes from the app setting `AbandonedCartSchedule` (an NCRONTAB
 * expression). A failed run fails the invocation, so the Functions host records and alerts on it,
 * and so does a run that sent nothing because the email provider failed every reminder as a whole
 * (down, the credentials or the event refused); a run that finds the unit busy (a manual rerun is
 * working it) ends quietly.
 */
export async function abandonedCartsTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const logger = invocationLogger(context);
  if (timer.isPastDue) logger.warn('The timer is past due; running now');
  const report = await runJobFromSettings({ trigger: 'timer' }, { logger });
  if (report.status === 'failed') throw new Error(`Abandoned cart run ${report.runId} failed: ${report.error ?? 'unknown error'}`);
  const down = providerDownMessage(report);
  // Completed, and nothing lost (the carts wait for the next run), but the provider took none of
  // its reminders: a failed invocation is what monitoring alerts on.
  if (down !== undefined) throw new Error(down);
}

/**
 * Why a completed run fails its timer invocation: it sent nothing, and the email provider failed
 * reminders as a whole (`carts.providerDown`). Undefined for any other run. The report's failure
 * reasons are not told apart by service, so the most frequent is quoted as such.
 */
export function providerDownMessage(report: Pick<RunReport, 'runId' | 'carts' | 'failures'>): string | undefined {
  const providerDown = report.carts.providerDown ?? 0;
  if (report.carts.notified > 0 || providerDown === 0) return undefined;
  const others = report.carts.failed - providerDown;
  const which = others > 0 ? `${providerDown} of the ${report.carts.failed} reminders that failed` : `all ${providerDown} reminders`;
  const reason = report.failures[0] ? `; the run's most frequent failure: ${report.failures[0].reason}` : '';
  return `Abandoned cart run ${report.runId} sent nothing: the email provider failed ${which} as a whole${reason}; they wait for a run in which it works`;
}

app.timer('abandonedCartsTimer', {
  schedule: '%AbandonedCartSchedule%',
  runOnStartup: false,
  handler: abandonedCartsTimer,
});
