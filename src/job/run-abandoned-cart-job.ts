import { randomUUID } from 'node:crypto';
import { DEFAULT_PAGE_CONCURRENCY } from '../config/schema';
import { ViewPortImageCache, type ViewPort } from '../enrich/images';
import type { IEmailProvider } from '../providers/email-provider';
import type { ChannelConfiguration } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import type { Lease, NotificationLedger } from '../store/ledger';
import { LeaseLostError } from '../store/ledger';
import type { Clock } from '../shared/clock';
import { RemoteServiceError, toError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { cartPages, takeParsed, type PageCart } from './cart-pages';
import { CheckpointTracker } from './checkpoint-tracker';
import { runPagePipeline } from './page-pipeline';
import { processPage, type PageContext, type PageObservation } from './process-page';
import { ProductCache } from './product-cache';
import type { RunReport } from './report';
import { RunCounters } from './run-counters';
import { surveyLatestCarts, type Survey } from './survey';
import { computeWindow, type RunWindow } from './window';
import { withCallBudget } from '../shared/call-budget';

/** How long after the time limit the pages in flight may still wait on a throttled store. */
const OUT_OF_TIME_GRACE_MS = 60_000;

export interface JobSettings {
  operatingUnitNumber: string;
  includeMinutes: number;
  excludeMinutes: number;
  pageSize: number;
  includeAnonymous: boolean;
  returnToCartUrl: string;
  imageServerUrl: string;
  viewPorts: readonly ViewPort[];
  /** A claim older than this, whose run died, may be taken over. Also the unit lease's length. */
  claimTimeoutMinutes: number;
  maxSendAttempts: number;
  /**
   * `AzureCosmosOptions.TimeToLiveDays`: how long the ledger keeps notification records. A rerun
   * may not reach further back than that: the ledger no longer knows those carts were reminded.
   */
  recordTtlDays?: number | undefined;
  /**
   * `pipelined` (default): the survey's ranges are searched at once and up to `pageConcurrency`
   * pages are worked at once. `sequential`: Microsoft's sample's pattern, one page at a time along
   * one keyset chain and each call awaited in turn; kept to measure the difference.
   */
  strategy?: 'pipelined' | 'sequential' | undefined;
  /** Pages worked at once by the pipelined strategy (default 10). Retail Server calls stay capped by MaxConcurrency. */
  pageConcurrency?: number | undefined;
  /**
   * At most this many time slices the survey reads at once when the window holds many pages
   * (default 8). Twice MaxConcurrency is enough: each slice's chain of searches is then half as
   * long as the survey's share of Retail Server, and every slice costs a part page.
   */
  surveySlices?: number | undefined;
  /**
   * After this many minutes the run starts no new page: the pages in flight finish and are
   * recorded, the checkpoint moves past them, and the report's `remaining` says what is left for
   * the next run. Undefined: no limit.
   */
  maxRunMinutes?: number | undefined;
}

/** Everything the job talks to, passed in so tests and the CLI can give it real stand-ins. */
export interface JobDependencies {
  retail: RetailServerClient;
  ledger: NotificationLedger;
  provider: IEmailProvider;
  clock: Clock;
  logger: Logger;
  settings: JobSettings;
  newRunId?: () => string;
  /** Called after each page, for progress displays. */
  onProgress?: (progress: RunProgress) => void;
}

export interface RunProgress {
  phase: 'survey' | 'pages';
  pages: number;
  seen: number;
  notified: number;
  failed: number;
}

export interface JobRequest {
  trigger: RunReport['trigger'];
  /** A rerun's own window; without it the window runs from the checkpoint (or Include) to now minus Exclude. */
  from?: Date | undefined;
  to?: Date | undefined;
  /** Read and evaluate everything; claim, send and record nothing. */
  dryRun?: boolean | undefined;
  /** The entry point's own limit on the run's length, in minutes; the smaller of it and the setting applies. */
  maxRunMinutes?: number | undefined;
}

async function* arrayPages<T>(pages: readonly T[]): AsyncGenerator<T> {
  yield* pages;
}

/** The survey's copy of a range, a page at a time, taken out of it so that nothing holds a page once it is worked. */
async function* takePages<T>(items: T[], size: number): AsyncGenerator<T[]> {
  while (items.length > 0) yield items.splice(0, size);
}

async function* mapPages<T, R>(pages: AsyncIterable<T>, map: (page: T) => R): AsyncGenerator<R> {
  for await (const page of pages) yield map(page);
}

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

/** One range of the window: called with its priority, it yields the range's pages. */
type PassRange = (priority: number) => AsyncIterable<PageCart[]>;

/**
 * What the processing pass works, range by range. A window that fit in one page is worked from the
 * survey's copy, and so is every range the survey kept. The sequential strategy follows one keyset
 * chain over the window, as the sample does; the pipelined one searches the survey's other ranges
 * at once (each held less than a page). A range's calls go ahead of younger ranges' (its
 * `priority`), so the oldest page in flight finishes first.
 */
function passRanges(retail: RetailServerClient, survey: Survey, window: RunWindow, settings: JobSettings, sequential: boolean): AsyncIterable<PassRange> {
  const search = { pageSize: settings.pageSize, includeAnonymous: settings.includeAnonymous, horizon: window.to };
  const { onlyPage } = survey;
  if (onlyPage !== undefined) return arrayPages(onlyPage.length > 0 ? [() => arrayPages([onlyPage])] : []);
  if (sequential) return mapPages(cartPages(retail, { ...window, ...search }), (page) => () => arrayPages([takeParsed(page)]));
  return arrayPages(
    survey.ranges.map(({ carts, ...range }): PassRange =>
      // A range of one instant may hold more than a page: its copy is worked a page at a time.
      carts ? () => takePages(carts, settings.pageSize) : (priority) => mapPages(cartPages(retail, { ...range, ...search, priority }), takeParsed),
    ),
  );
}

/**
 * One run for one operating unit: take the unit's lease, work out the window, page through the
 * carts oldest first, and for each page dedupe against the ledger, enrich, claim, send and record;
 * move the checkpoint past every cart whose outcome is final. Returns the run report; a failure
 * of a dependency ends the run with status `failed` and the reason, never an unhandled throw.
 */
export async function runAbandonedCartJob(deps: JobDependencies, request: JobRequest): Promise<RunReport> {
  // The run's Retail Server and Cosmos DB calls (point and bulk) retry only while their waits fit
  // before its limit (and the minute's grace the pages in flight have): the budget is set once the
  // run knows its deadline.
  let remainingMs = () => Number.POSITIVE_INFINITY;
  return withCallBudget(
    () => remainingMs(),
    () =>
      runJob(deps, request, (budget) => {
        remainingMs = budget;
      }),
  );
}

async function runJob(deps: JobDependencies, request: JobRequest, setCallBudget: (remainingMs: () => number) => void): Promise<RunReport> {
  const { retail, ledger, provider, clock, logger, settings } = deps;
  const runId = (deps.newRunId ?? randomUUID)();
  const startedAt = clock.now();
  const report = emptyReport(runId, request, settings, startedAt);
  const statsAtStart = callStats(deps);
  const counters = new RunCounters();
  const dryRun = request.dryRun ?? false;
  const leaseMs = settings.claimTimeoutMinutes * 60_000;
  const limitMinutes = Math.min(settings.maxRunMinutes ?? Number.POSITIVE_INFINITY, request.maxRunMinutes ?? Number.POSITIVE_INFINITY);
  const deadline = startedAt.getTime() + limitMinutes * 60_000;
  // Half the run for the survey at most: the pass needs the rest.
  const surveyDeadline = startedAt.getTime() + limitMinutes * 30_000;
  // The pages in flight at the time limit finish; a minute on, what the store still throttles is
  // not retried (those carts fail for the run), so that a slow container cannot hold the run past
  // the host's functionTimeout.
  const store = { outOfTime: () => clock.now().getTime() >= deadline + OUT_OF_TIME_GRACE_MS };
  setCallBudget(() => deadline + OUT_OF_TIME_GRACE_MS - clock.now().getTime());
  // The same bound for the provider's retries (Emarsys throttling or timing out).
  const sendDeadline = Number.isFinite(deadline) ? new Date(deadline + OUT_OF_TIME_GRACE_MS) : undefined;
  let lease: Lease | undefined;
  let channel: ChannelConfiguration | undefined;
  let tracker: CheckpointTracker | undefined;
  let window: RunWindow | undefined;
  const log = { runId, operatingUnitNumber: settings.operatingUnitNumber, trigger: request.trigger, dryRun };

  /**
   * Renews the lease once a quarter of it has passed (not on every call): during the survey after
   * each page, right before each page's claims and before each checkpoint, so it never runs out
   * while the run works, and a run that stalled past it learns so before it claims, sends or moves
   * the checkpoint. One renewal at a time: the survey's slices and the pages call it concurrently.
   */
  let renewing: Promise<void> | undefined;
  const keepLease = (): Promise<void> => {
    if (renewing) return renewing;
    if (!lease || Date.parse(lease.expiresAt) - clock.now().getTime() > (leaseMs * 3) / 4) return Promise.resolve();
    renewing = ledger
      .renewLease(lease, clock.now(), leaseMs)
      .then((renewed) => {
        lease = renewed;
      })
      .finally(() => {
        renewing = undefined;
      });
    return renewing;
  };

  const saveCheckpoint = async () => {
    if (!tracker || !channel || dryRun || window?.source === 'request') return;
    const position = tracker.position();
    await ledger.saveCheckpoint({
      operatingUnitNumber: settings.operatingUnitNumber,
      channelId: channel.RecordId,
      lastModifiedAt: position.lastModifiedAt.toISOString(),
      cartIdsAtLastModified: position.cartIdsAtLastModified,
      runId,
      updatedAt: clock.now().toISOString(),
    });
    report.checkpoint = { lastModifiedAt: position.lastModifiedAt.toISOString(), cartIdsAtLastModified: position.cartIdsAtLastModified.length };
  };

  try {
    channel = await retail.getChannelConfiguration();
    report.channelId = channel.RecordId;

    if (!dryRun) {
      const leaseResult = await ledger.acquireLease(settings.operatingUnitNumber, runId, clock.now(), leaseMs);
      if (!leaseResult.acquired) {
        report.status = 'unit-busy';
        report.error =
          `Operating unit ${settings.operatingUnitNumber} is being processed by run ${leaseResult.heldByRunId} ` +
          `(lease until ${leaseResult.expiresAt}); this run did nothing. Try again after that run ends.`;
        // Logged and stored like any run, so a busy timer leaves a trace.
        return await finishReport(report, counters, deps, startedAt, statsAtStart, log);
      }
      lease = leaseResult.lease;
    }

    const checkpoint = request.from || request.to ? undefined : await ledger.getCheckpoint(settings.operatingUnitNumber, channel.RecordId);
    window = computeWindow({
      now: startedAt,
      includeMinutes: settings.includeMinutes,
      excludeMinutes: settings.excludeMinutes,
      checkpoint,
      requested: { from: request.from, to: request.to },
    });
    if (window.source === 'checkpoint' && settings.recordTtlDays !== undefined) {
      // A checkpoint older than the ledger's records (the app stopped, or every run failed, for
      // longer than TimeToLiveDays): the records of the carts sent after it have expired, so reading
      // from it would remind them again. The run starts where the ledger still knows.
      const oldest = new Date(startedAt.getTime() - settings.recordTtlDays * 86_400_000);
      if (window.from.getTime() < oldest.getTime()) {
        logger.warn('The checkpoint is older than AzureCosmosOptions.TimeToLiveDays: the run starts where the ledger still knows which carts were reminded, and carts modified before then are not reminded', {
          ...log,
          checkpoint: window.from.toISOString(),
          from: oldest.toISOString(),
        });
        window = { ...window, from: oldest, cartIdsDoneAtFrom: [] };
      }
    }
    report.window = { from: window.from.toISOString(), to: window.to.toISOString(), source: window.source };
    if (window.source === 'request' && settings.recordTtlDays !== undefined) {
      const oldest = new Date(startedAt.getTime() - settings.recordTtlDays * 86_400_000);
      if (window.from.getTime() < oldest.getTime()) {
        throw new Error(
          `The rerun window starts ${window.from.toISOString()}, more than AzureCosmosOptions.TimeToLiveDays ` +
            `(${settings.recordTtlDays}) days ago: the ledger's records of those carts have expired, so they would be reminded again. ` +
            `Give a from after ${oldest.toISOString()}.`,
        );
      }
    }
    logger.info('Abandoned cart run started', { ...log, window: report.window, ...(Number.isFinite(limitMinutes) ? { limitMinutes } : {}) });
    if (checkpoint !== undefined && Date.parse(checkpoint.lastModifiedAt) > window.to.getTime()) {
      // An earlier run went further than this window's end (Exclude was raised since): there is
      // nothing to read yet, and the checkpoint must not move back (its carts would be read again).
      logger.info('The checkpoint is past the end of the window (ExcludeAbandonedCartsModifiedSinceLastMinutes was raised since?): nothing to read, the checkpoint stays', {
        ...log,
        checkpoint: checkpoint.lastModifiedAt,
      });
    } else {
      tracker = new CheckpointTracker(window.from, window.cartIdsDoneAtFrom);

      const sequential = settings.strategy === 'sequential';
      const pageConcurrency = settings.pageConcurrency ?? DEFAULT_PAGE_CONCURRENCY;
      const survey = await surveyLatestCarts(
        retail,
        window,
        {
          pageSize: settings.pageSize,
          includeAnonymous: settings.includeAnonymous,
          slices: sequential ? 1 : (settings.surveySlices ?? 8),
          // What the pass holds in flight anyway; a window this small is not searched twice.
          keepCarts: sequential ? 0 : settings.pageSize * pageConcurrency,
          // A window too large to survey in half the run is cut where the survey got to.
          outOfTime: () => clock.now().getTime() >= surveyDeadline,
        },
        async (pages) => {
          deps.onProgress?.({ phase: 'survey', pages, seen: 0, notified: 0, failed: 0 });
          await keepLease();
        },
      );
      // What this run works: the window, or its first stretch when the survey ran out of time.
      const worked: RunWindow = survey.end ? { ...window, to: survey.end } : window;
      if (survey.end) logger.info('Abandoned cart run cut its window: the survey ran out of time', { ...log, limitMinutes, to: survey.end.toISOString() });
      const ranges = passRanges(retail, survey, worked, settings, sequential);

      const isTimeUp = (error: unknown) => error instanceof RemoteServiceError && error.outOfTime;
      const productCache = new ProductCache();
      const images = new ViewPortImageCache(settings.imageServerUrl, settings.viewPorts);
      // Narrowed copies for the closures below (TypeScript does not carry narrowing into them).
      const activeTracker = tracker;
      const activeWindow = worked;
      const activeChannel = channel;
      const { stoppedEarly, timeUp } = await runPagePipeline(
        ranges,
        {
          ...(sequential ? { concurrency: 1, lookahead: 0 } : { concurrency: pageConcurrency, lookahead: 0, waitingCommits: 2 * pageConcurrency }),
          shouldStop: () => clock.now().getTime() >= deadline,
          // Set only when a call gave up because its wait would not fit in the time the run had left.
          isTimeUp,
        },
        async (readRange, index) => {
          const context: PageContext = {
            runId,
            now: clock.now(),
            window: activeWindow,
            channel: activeChannel,
            operatingUnitNumber: settings.operatingUnitNumber,
            includeAnonymous: settings.includeAnonymous,
            claimTimeoutMs: leaseMs,
            maxSendAttempts: settings.maxSendAttempts,
            dryRun,
            payload: settings,
            images,
            latestCarts: survey.latest,
            productCache,
            retail,
            ledger,
            provider,
            logger,
            counters,
            sequential,
            store,
            sendDeadline,
            beforeClaim: async () => {
              await keepLease();
              return clock.now();
            },
            clock,
          };
          const observations: PageObservation[] = [];
          for await (const page of readRange(index)) {
            // A page's tallies join the run's when it ends: a page whose calls (Retail Server or
            // Cosmos DB) ran out of time is the next run's, its carts counted there, not as seen here
            // without an outcome.
            const tallies = new RunCounters();
            tallies.pages++;
            try {
              observations.push(...(await processPage(page, { ...context, counters: tallies, now: clock.now(), priority: index })));
            } catch (error) {
              if (!isTimeUp(error)) counters.add(tallies);
              throw error;
            }
            counters.add(tallies);
            logger.debug('Page done', { ...log, carts: page.length, notified: counters.notified });
          }
          return observations;
        },
        async (observations, index) => {
          for (const { cartId, modifiedAt, final } of observations) activeTracker.observe(cartId, modifiedAt, final);
          deps.onProgress?.({ phase: 'pages', pages: index + 1, seen: counters.seen, notified: counters.notified, failed: counters.failed });
          if (!dryRun) {
            // The lease first: a run that lost it (stalled past it) must not write its checkpoint
            // over the one the unit's new holder has moved on.
            await keepLease();
            await saveCheckpoint();
          }
        },
      );
      if (timeUp !== undefined) {
        logger.warn('A page ran out of time for its calls (Retail Server or Cosmos DB); the run ends before it', { ...log, limitMinutes, reason: toError(timeUp).message });
      } else if (stoppedEarly) {
        logger.info('Abandoned cart run reached its time limit; it started no new page', { ...log, limitMinutes });
      } else {
        tracker.finish(worked.to);
      }
      // Every cart before the tracker's position has its outcome; the rest of the window is the next run's.
      if (stoppedEarly || survey.end) report.remaining = { from: tracker.position().lastModifiedAt.toISOString(), to: window.to.toISOString() };
      await keepLease();
      await saveCheckpoint();
    }
  } catch (error) {
    const failure = toError(error);
    report.status = 'failed';
    report.error =
      failure instanceof LeaseLostError
        ? `Run ${runId} lost the lease on operating unit ${settings.operatingUnitNumber} (it ran longer than AzureCosmosOptions.ClaimTimeoutMinutes); it stopped so that two runs never work the unit at once.`
        : failure.message;
  } finally {
    if (lease) {
      await ledger.releaseLease(lease).catch((error: unknown) => {
        logger.warn('Could not release the operating unit lease; it expires on its own', { ...log, error: toError(error).message });
      });
    }
  }
  return finishReport(report, counters, deps, startedAt, statsAtStart, log);
}

type CallStats = { calls: Record<string, number>; retries: Record<string, number> };

/** Round trips and retries per dependency. Clients outlive a run (Functions reuse them), so a run reports differences. */
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
  log: Record<string, unknown>,
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
      deps.logger.warn('Could not store the run report', { ...log, error: toError(error).message });
    });
  }
  const level = report.status === 'failed' ? 'error' : 'info';
  deps.logger[level]('Abandoned cart run finished', { ...log, report });
  return report;
}
