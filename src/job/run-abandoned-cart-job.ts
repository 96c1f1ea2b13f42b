import { randomUUID } from 'node:crypto';
import type { ChannelConfiguration } from '../retail/models';
import { LeaseLostError } from '../store/ledger';
import { withCallBudget } from '../shared/call-budget';
import { toError } from '../shared/errors';
import { withFields, withLogFields } from '../shared/logger';
import { withRunTally } from '../shared/run-tally';
import type { RunReport } from './report';
import { runLimits, type RunLimits } from './run-limits';
import { RunCounters } from './run-counters';
import type { JobDependencies, JobRequest, JobSettings } from './run-inputs';
import { UnitLease } from './unit-lease';
import { assertRerunWithinRecords, planWindow, type RunWindow } from './window';
import { workWindow, type CheckpointPosition } from './work-window';

export type { JobDependencies, JobRequest, JobSettings, RunProgress } from './run-inputs';

function emptyReport(runId: string, request: JobRequest, settings: JobSettings, startedAt: Date): RunReport {
  return {
    runId,
    status: 'completed',
    dryRun: request.dryRun ?? false,
    trigger: request.trigger,
    operatingUnitNumber: settings.operatingUnitNumber,
    window: { from: '', to: '', source: 'include-minutes' },
    pages: 0,
    carts: { seen: 0, eligible: 0, notified: 0, failed: 0, skipped: 0, skippedByReason: {} },
    lines: { dropped: 0, droppedByReason: {} },
    invalidRecords: { customers: 0, products: 0 },
    failures: [],
    failuresByDependency: {},
    calls: {},
    retries: {},
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    durationMs: 0,
  };
}

/**
 * One run for one operating unit: take the unit's lease, work out the window, work it (see
 * `workWindow`) and store the run's report. Returns the report; a failure of a dependency ends the
 * run with status `failed` and the reason, never an unhandled throw.
 */
export async function runAbandonedCartJob(deps: JobDependencies, request: JobRequest): Promise<RunReport> {
  const startedAt = deps.clock.now();
  const limits = runLimits(startedAt, deps.clock, deps.settings.maxRunMinutes, request.maxRunMinutes);
  const runId = (deps.newRunId ?? randomUUID)();
  // The fields every log line of the run carries, so that an operator finds the run's lines by the
  // id the report, the stored run record and GET /runs/{runId} give: the job's own lines through
  // its logger, the shared clients' lines through the async context the run's calls are made in.
  const log = { runId, operatingUnitNumber: deps.settings.operatingUnitNumber, trigger: request.trigger, dryRun: request.dryRun ?? false };
  const run: JobDependencies = { ...deps, logger: withFields(deps.logger, log) };
  // The run's Retail Server and Cosmos DB calls (point and bulk) retry only while their waits fit
  // before its limit and the minute's grace the pages in flight have; and they are counted apart
  // from those of a run beside it in the process, whose clients are the same.
  return withLogFields(log, () => withCallBudget(limits.callTimeLeft, () => withRunTally(() => runJob(run, request, runId, startedAt, limits))));
}

async function runJob(deps: JobDependencies, request: JobRequest, runId: string, startedAt: Date, limits: RunLimits): Promise<RunReport> {
  const { retail, ledger, clock, logger, settings } = deps;
  const report = emptyReport(runId, request, settings, startedAt);
  const statsAtStart = callStats(deps);
  const counters = new RunCounters();
  const dryRun = request.dryRun ?? false;
  const lease = new UnitLease(ledger, clock, settings.claimTimeoutMinutes * 60_000);

  try {
    const channel = await retail.getChannelConfiguration();
    report.channelId = channel.RecordId;

    const busy = dryRun ? undefined : await lease.acquire(settings.operatingUnitNumber, runId);
    if (busy) {
      report.status = 'unit-busy';
      report.error =
        `Operating unit ${settings.operatingUnitNumber} is being processed by run ${busy.heldByRunId} ` +
        `(lease until ${busy.expiresAt}); this run did nothing. Try again after that run ends.`;
      // Logged and stored like any run, so a busy timer leaves a trace.
      return await finishReport(report, counters, deps, startedAt, statsAtStart);
    }

    const rerun = request.from !== undefined || request.to !== undefined;
    const checkpoint = rerun ? undefined : await ledger.getCheckpoint(settings.operatingUnitNumber, channel.RecordId);
    const plan = planWindow({
      now: startedAt,
      includeMinutes: settings.includeMinutes,
      excludeMinutes: settings.excludeMinutes,
      checkpoint,
      requested: { from: request.from, to: request.to },
      recordTtlDays: settings.recordTtlDays,
    });
    const { window } = plan;
    if (plan.expiredCheckpoint) {
      logger.warn('The checkpoint is older than AzureCosmosOptions.TimeToLiveDays: the run starts where the ledger still knows which carts were reminded, and carts modified before then are not reminded', {
        checkpoint: plan.expiredCheckpoint.toISOString(),
        from: window.from.toISOString(),
      });
    }
    const behindMinutes = Math.floor((startedAt.getTime() - window.from.getTime()) / 60_000);
    if (window.source === 'checkpoint' && !plan.checkpointAhead && isLate(behindMinutes, settings)) {
      // Nothing is lost to an outage: the checkpoint waited. But its carts go out late, later than a
      // first run reaches back, and the operator should know before customers ask.
      logger.warn('The run starts further back than IncludeAbandonedCartsModifiedSinceLastMinutes: the checkpoint waited while runs failed or could not send, so the carts left since then are reminded late, up to behindMinutes after they were left', {
        from: window.from.toISOString(),
        behindMinutes,
        includeMinutes: settings.includeMinutes,
      });
    }
    report.window = { from: window.from.toISOString(), to: window.to.toISOString(), source: window.source };
    assertRerunWithinRecords(window, startedAt, settings.recordTtlDays);
    logger.info('Abandoned cart run started', { window: report.window, ...(Number.isFinite(limits.limitMinutes) ? { limitMinutes: limits.limitMinutes } : {}) });

    if (plan.checkpointAhead) {
      logger.info('The checkpoint is past the end of the window (ExcludeAbandonedCartsModifiedSinceLastMinutes was raised since?): nothing to read, the checkpoint stays', {
        checkpoint: plan.checkpointAhead.toISOString(),
      });
    } else {
      await workWindow(
        {
          deps,
          runId,
          dryRun,
          limits,
          counters,
          channel,
          keepLease: () => lease.keep(),
          saveCheckpoint: (position) => saveCheckpoint(deps, report, { runId, channel, window, dryRun }, position),
          leaveRemaining: (remaining) => {
            report.remaining = remaining;
          },
        },
        window,
      );
    }
  } catch (error) {
    const failure = toError(error);
    report.status = 'failed';
    report.error =
      failure instanceof LeaseLostError
        ? leaseLostMessage(runId, settings)
        : failure.message;
  } finally {
    await lease.release(logger);
  }
  return finishReport(report, counters, deps, startedAt, statsAtStart);
}

/**
 * A run renews its lease as it works, so it may last longer than the lease: it loses it only by
 * going that long without a renewal (a call that stalled), when another run may take the unit.
 */
function leaseLostMessage(runId: string, settings: { operatingUnitNumber: string; claimTimeoutMinutes: number }): string {
  return (
    `Run ${runId} lost the lease on operating unit ${settings.operatingUnitNumber}: it went longer than AzureCosmosOptions.ClaimTimeoutMinutes ` +
    `(${settings.claimTimeoutMinutes}) without renewing it, while a call stalled, and another run may have taken the unit over; it stopped so ` +
    'that two runs never work the unit at once. Its claimed carts are taken over by a later run once ClaimTimeoutMinutes have passed. ' +
    "If this recurs, raise ClaimTimeoutMinutes above the longest stall in this run's log."
  );
}

/** Moves the unit's checkpoint and says so in the report; a dry run or a rerun never moves it. */
async function saveCheckpoint(
  deps: JobDependencies,
  report: RunReport,
  run: { runId: string; channel: ChannelConfiguration; window: RunWindow; dryRun: boolean },
  position: CheckpointPosition,
): Promise<void> {
  if (run.dryRun || run.window.source === 'request') return;
  const lastModifiedAt = position.lastModifiedAt.toISOString();
  await deps.ledger.saveCheckpoint({
    operatingUnitNumber: deps.settings.operatingUnitNumber,
    channelId: run.channel.RecordId,
    lastModifiedAt,
    cartIdsAtLastModified: position.cartIdsAtLastModified,
    runId: run.runId,
    updatedAt: deps.clock.now().toISOString(),
  });
  report.checkpoint = { lastModifiedAt, cartIdsAtLastModified: position.cartIdsAtLastModified.length };
}

/**
 * A run's window normally starts where the last run's ended: Exclude plus the time since that run
 * ago. Late means the window is half as long again as a first run's (Include) or two hours,
 * whichever is longer: so a small Include beside a half-hourly or hourly schedule, or a schedule
 * about as long as Include with a timer a little late, is not late at every run.
 */
const LATE_WINDOW_MINUTES = 120;
const LATE_WINDOW_FACTOR = 1.5;
function isLate(behindMinutes: number, settings: { includeMinutes: number; excludeMinutes: number }): boolean {
  return behindMinutes - settings.excludeMinutes > LATE_WINDOW_FACTOR * Math.max(settings.includeMinutes, LATE_WINDOW_MINUTES);
}

type CallStats = { calls: Record<string, number>; retries: Record<string, number> };

/**
 * Round trips and retries per dependency. Clients outlive a run (Functions reuse them), so a run
 * reports differences; within a run, a client's stats are the run's own (see run-tally).
 */
function callStats(deps: JobDependencies): CallStats {
  const retail = deps.retail.stats();
  const provider = deps.provider.stats();
  const ledger = deps.ledger.stats();
  return {
    calls: { ...retail.calls, provider: provider.calls, store: ledger.requests },
    retries: { ...retail.retries, provider: provider.retries, store: ledger.retries },
  };
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (before[key] ?? 0)]));
}

async function finishReport(
  report: RunReport,
  counters: RunCounters,
  deps: JobDependencies,
  startedAt: Date,
  statsAtStart: CallStats,
): Promise<RunReport> {
  const finishedAt = deps.clock.now();
  const statsAtEnd = callStats(deps);
  Object.assign(report, counters.summary(), {
    calls: difference(statsAtEnd.calls, statsAtStart.calls),
    retries: difference(statsAtEnd.retries, statsAtStart.retries),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  });
  if (!report.dryRun) {
    await deps.ledger.saveRun(report).catch((error: unknown) => {
      deps.logger.warn('Could not store the run report', { reason: toError(error).message });
    });
  }
  // A run that completed but failed carts (they wait for the next run) is a warn: an operator who
  // alerts on warn and up sees it once a run, whatever its pages said.
  const level = report.status === 'failed' ? 'error' : report.carts.failed > 0 ? 'warn' : 'info';
  deps.logger[level]('Abandoned cart run finished', { report });
  return report;
}
