import { DEFAULT_PAGE_CONCURRENCY } from '../config/schema';
import { ViewPortImageCache } from '../enrich/images';
import type { ChannelConfiguration } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import { RemoteServiceError, toError } from '../shared/errors';
import { cartPages, takeParsed, type PageCart } from './cart-pages';
import { CheckpointTracker } from './checkpoint-tracker';
import { runPagePipeline } from './page-pipeline';
import { processPage, type PageContext, type PageObservation } from './process-page';
import { ProductCache } from './product-cache';
import type { RunReport } from './report';
import type { RunLimits } from './run-limits';
import { RunCounters } from './run-counters';
import type { JobDependencies, JobSettings } from './run-inputs';
import { surveyLatestCarts, type Survey } from './survey';
import type { RunWindow } from './window';

/** What working a window needs from the run around it. */
export interface WindowWork {
  deps: JobDependencies;
  runId: string;
  dryRun: boolean;
  limits: RunLimits;
  /** The run's tallies; a page's join them when the page ends. */
  counters: RunCounters;
  channel: ChannelConfiguration;
  /** Renews the unit's lease when it is due. */
  keepLease: () => Promise<void>;
  /** Moves the checkpoint to `position` (nothing for a dry run or a rerun). */
  saveCheckpoint: (position: CheckpointPosition) => Promise<void>;
  /**
   * Told what is left of the window for the next run when the run's time ran out, before the last
   * checkpoint is saved: a run whose last save fails still reports how far it got.
   */
  leaveRemaining: (remaining: NonNullable<RunReport['remaining']>) => void;
}

export type CheckpointPosition = ReturnType<CheckpointTracker['position']>;

/**
 * Works the run's window: the survey finds each customer's latest cart, then the pass reads the
 * window's pages oldest first and works each (dedupe against the ledger, enrich, claim, send,
 * record), and the checkpoint moves past every cart whose outcome is final, page by page in time
 * order. Says what is left of the window for the next run when the run's time ran out.
 */
export async function workWindow(run: WindowWork, window: RunWindow): Promise<void> {
  const { deps, limits } = run;
  const { retail, clock, logger, settings } = deps;
  const tracker = new CheckpointTracker(window.from, window.cartIdsDoneAtFrom);
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
      outOfTime: () => clock.now().getTime() >= limits.surveyDeadline,
    },
    async (pages) => {
      deps.onProgress?.({ phase: 'survey', pages, seen: 0, notified: 0, failed: 0 });
      await run.keepLease();
    },
  );
  // What this run works: the window, or its first stretch when the survey ran out of time.
  const worked: RunWindow = survey.end ? { ...window, to: survey.end } : window;
  if (survey.end) logger.info('Abandoned cart run cut its window: the survey ran out of time', { limitMinutes: limits.limitMinutes, to: survey.end.toISOString() });

  // The pipelined pass knows its ranges before it starts: the last one's commit moves the checkpoint
  // to the window's end, and the run's closing save, finding it there, writes nothing more.
  const lastRange = sequential ? undefined : survey.onlyPage !== undefined ? 0 : survey.ranges.length - 1;
  let saved: string | undefined;
  const save = async () => {
    // The lease first: a run that lost it (stalled past it) must not write its checkpoint over the
    // one the unit's new holder has moved on.
    await run.keepLease();
    const position = tracker.position();
    const key = JSON.stringify(position);
    if (key === saved) return;
    await run.saveCheckpoint(position);
    saved = key;
  };

  const context = pageContext(run, worked, survey);
  const isTimeUp = (error: unknown) => error instanceof RemoteServiceError && error.outOfTime;
  const { stoppedEarly, timeUp } = await runPagePipeline(
    passRanges(retail, survey, worked, settings, sequential),
    {
      ...(sequential ? { concurrency: 1 } : { concurrency: pageConcurrency, waitingCommits: 2 * pageConcurrency }),
      shouldStop: () => clock.now().getTime() >= limits.deadline,
      // Set only when a call gave up because its wait would not fit in the time the run had left.
      isTimeUp,
    },
    async (readRange, index) => {
      const observations: PageObservation[] = [];
      for await (const page of readRange(index)) {
        // A page's tallies join the run's when it ends: a page that failed or ran out of time is
        // the next run's, its carts counted there, not as seen here without an outcome.
        const tallies = new RunCounters();
        tallies.pages++;
        observations.push(...(await processPage(page, { ...context, counters: tallies, now: clock.now(), priority: index })));
        run.counters.add(tallies);
        logger.debug('Page done', { carts: page.length, notified: run.counters.notified });
      }
      return observations;
    },
    async (observations, index) => {
      for (const { cartId, modifiedAt, final } of observations) tracker.observe(cartId, modifiedAt, final);
      // Every range before it is committed, so the window has been read to its end.
      if (index === lastRange) tracker.finish(worked.to);
      const { counters } = run;
      deps.onProgress?.({ phase: 'pages', pages: index + 1, seen: counters.seen, notified: counters.notified, failed: counters.failed });
      if (!run.dryRun) await save();
    },
  );
  if (timeUp !== undefined) {
    logger.warn('A page ran out of time for its calls (Retail Server or Cosmos DB); the run ends before it', { limitMinutes: limits.limitMinutes, reason: toError(timeUp).message });
  } else if (stoppedEarly) {
    logger.info('Abandoned cart run reached its time limit; it started no new page', { limitMinutes: limits.limitMinutes });
  } else {
    tracker.finish(worked.to);
  }
  // Every cart before the tracker's position has its outcome; the rest of the window is the next run's.
  if (stoppedEarly || survey.end) run.leaveRemaining({ from: tracker.position().lastModifiedAt.toISOString(), to: window.to.toISOString() });
  await save();
}

/** What every page of the window is worked with (each page gets its own tallies, time and priority). */
function pageContext(run: WindowWork, window: RunWindow, survey: Survey): PageContext {
  const { deps, limits } = run;
  const { retail, ledger, provider, clock, logger, settings } = deps;
  return {
    runId: run.runId,
    now: clock.now(),
    window,
    channel: run.channel,
    operatingUnitNumber: settings.operatingUnitNumber,
    includeAnonymous: settings.includeAnonymous,
    claimTimeoutMs: settings.claimTimeoutMinutes * 60_000,
    maxSendAttempts: settings.maxSendAttempts,
    dryRun: run.dryRun,
    payloadSettings: settings,
    images: new ViewPortImageCache(settings.imageServerUrl, settings.viewPorts),
    latestCarts: survey.latest,
    productCache: new ProductCache(),
    retail,
    ledger,
    provider,
    logger,
    counters: run.counters,
    sequential: settings.strategy === 'sequential',
    store: limits.store,
    sendDeadline: limits.sendDeadline,
    beforeClaim: async () => {
      await run.keepLease();
      return clock.now();
    },
    clock,
  };
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** The survey's copy of a range, a page at a time, taken out of it so that nothing holds a page once it is worked. */
async function* takePages<T>(items: T[], size: number): AsyncGenerator<T[]> {
  while (items.length > 0) yield items.splice(0, size);
}

async function* mapAsync<T, R>(items: AsyncIterable<T>, map: (item: T) => R): AsyncGenerator<R> {
  for await (const item of items) yield map(item);
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
  if (onlyPage !== undefined) {
    const onlyRange: PassRange = () => fromArray([onlyPage]);
    return fromArray(onlyPage.length > 0 ? [onlyRange] : []);
  }
  if (sequential) {
    // Each page of the chain is a range of its own, worked as it is read.
    const pageAsRange = (page: Parameters<typeof takeParsed>[0]): PassRange => () => fromArray([takeParsed(page)]);
    return mapAsync(cartPages(retail, { ...window, ...search }), pageAsRange);
  }
  return fromArray(
    survey.ranges.map(({ carts, ...range }): PassRange =>
      // A range of one instant may hold more than a page: its copy is worked a page at a time.
      carts ? () => takePages(carts, settings.pageSize) : (priority) => mapAsync(cartPages(retail, { ...range, ...search, priority }), takeParsed),
    ),
  );
}
