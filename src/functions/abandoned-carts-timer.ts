import { app, type InvocationContext, type Timer } from '@azure/functions';
import { runJobFromSettings } from '../runtime/run-from-settings';
import { invocationLogger } from './support/invocation-logger';

/**
 * The scheduled run. The schedule comes from the app setting `AbandonedCartSchedule` (an NCRONTAB
 * expression). A failed run fails the invocation, so the Functions host records and alerts on it;
 * a run that finds the unit busy (a manual rerun is working it) ends quietly.
 */
export async function abandonedCartsTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const logger = invocationLogger(context);
  if (timer.isPastDue) logger.warn('The timer is past due; running now');
  const report = await runJobFromSettings({ trigger: 'timer' }, { logger });
  if (report.status === 'failed') throw new Error(`Abandoned cart run ${report.runId} failed: ${report.error ?? 'unknown error'}`);
}

app.timer('abandonedCartsTimer', {
  schedule: '%AbandonedCartSchedule%',
  runOnStartup: false,
  handler: abandonedCartsTimer,
});
