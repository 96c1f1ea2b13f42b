import type { EventLoopUtilization } from 'node:perf_hooks';
import { STANDARD_VIEW_PORTS_ENV } from '../src/config/standard-viewports';
import { parseSettings, type Settings } from '../src/config/settings';
import { applyEnvironmentOverrides } from '../src/config/sources';
import { runAbandonedCartJob, type JobDependencies, type JobSettings } from '../src/job/run-abandoned-cart-job';
import { emarsysProviderFor, jobSettings, retailClientFor } from '../src/runtime/create-dependencies';
import type { Clock } from '../src/shared/clock';
import { createLogger } from '../src/shared/logger';
import type { LedgerStats, NotificationLedger } from '../src/store/ledger';
import { sampleMemory } from './memory';
import { recordSearches } from './search-chain';
import type { Endpoints, JobMeasurement, ScenarioConfig } from './types';

/**
 * Runs the real job once, as production builds it (the composition root's own helpers: MSAL and
 * the Retail Server client, the Emarsys provider, the job settings from validated settings),
 * against the stand-ins, and measures it: wall time, this process's CPU time and peak RSS, and
 * the store's requests and operations.
 */

/** Error lines kept for the result: enough to tell what went wrong. */
const MAX_ERRORS_KEPT = 5;

const SECRET_NAMES = { retailAppId: 'bench-retail-app-id', retailAppSecret: 'bench-retail-app-secret', emarsysUser: 'bench-emarsys-user', emarsysSecret: 'bench-emarsys-secret' };

/** The settings a deployment pointed at the stand-ins would have. */
export function benchSettings(endpoints: Endpoints, config: Pick<ScenarioConfig, 'pageSize' | 'concurrency' | 'pageConcurrency'>): Settings {
  return parseSettings(
    applyEnvironmentOverrides(
      {},
      {
        RetailServerClientOptions__TenantId: endpoints.tenantId,
        RetailServerClientOptions__AuthorityHost: endpoints.authorityHost,
        RetailServerClientOptions__RetailServerUrl: endpoints.retailUrl,
        RetailServerClientOptions__OperatingUnitNumber: endpoints.operatingUnitNumber,
        RetailServerClientOptions__ReturnToCartUrl: 'https://shop.contoso.com/cart?cartId={cartId}',
        RetailServerClientOptions__AppIdKeyVaultSecretName: SECRET_NAMES.retailAppId,
        RetailServerClientOptions__AppSecretKeyVaultSecretName: SECRET_NAMES.retailAppSecret,
        RetailServerClientOptions__PageSize: String(config.pageSize),
        RetailServerClientOptions__MaxConcurrency: String(config.concurrency),
        RetailServerClientOptions__PageConcurrency: String(config.pageConcurrency),
        AzureCosmosOptions__EndPointUri: endpoints.cosmos?.endpoint ?? 'https://localhost:8081',
        AzureCosmosOptions__PrimaryKey: endpoints.cosmos?.key ?? '',
        EmarsysClientOptions__ApiUrl: endpoints.emarsysApiUrl,
        EmarsysClientOptions__ExternalEventId: endpoints.eventId,
        EmarsysClientOptions__ApiUserNameKeyVaultSecretName: SECRET_NAMES.emarsysUser,
        EmarsysClientOptions__ApiSecretKeyVaultSecretName: SECRET_NAMES.emarsysSecret,
        MediaOptions__ImageServerUrl: 'https://images.contoso.com/cms/imageFileData/search?fileName=',
        ...STANDARD_VIEW_PORTS_ENV,
      },
    ),
  );
}

export interface JobRunInput {
  endpoints: Endpoints;
  config: Pick<ScenarioConfig, 'strategy' | 'pageSize' | 'concurrency' | 'pageConcurrency' | 'now'>;
  ledger: NotificationLedger;
}

/**
 * The job's clock starts at the moment the store was generated for and runs at the real pace, so
 * every scenario of a benchmark sees the same window (and notifies the same carts under the same
 * trigger ids), however long the scenarios before it took.
 */
export function scenarioClock(now: string): Clock {
  const start = Date.parse(now);
  const startedAt = Date.now();
  return { now: () => new Date(start + (Date.now() - startedAt)) };
}

export async function runJob({ endpoints, config, ledger }: JobRunInput): Promise<JobMeasurement> {
  const settings = benchSettings(endpoints, config);
  const secrets = new Map([
    [SECRET_NAMES.retailAppId, endpoints.retailClientId],
    [SECRET_NAMES.retailAppSecret, endpoints.retailClientSecret],
    [SECRET_NAMES.emarsysUser, endpoints.emarsysUser],
    [SECRET_NAMES.emarsysSecret, endpoints.emarsysSecret],
  ]);
  let warnings = 0;
  const errors: string[] = [];
  const logger = createLogger(({ level, message, fields }) => {
    if (level === 'warn') warnings++;
    else if (errors.length < MAX_ERRORS_KEPT) errors.push(`${message} ${JSON.stringify(fields).slice(0, 500)}`);
  }, 'warn');
  // No time limit: a run that stopped early would not be the run measured (the sequential strategy
  // takes about 9 minutes at a million carts).
  const job: JobSettings = { ...jobSettings(settings), strategy: config.strategy, maxRunMinutes: undefined };
  const searches = recordSearches(retailClientFor(settings, secrets, { logger }));
  let surveyEndedAt: number | undefined;
  let surveyEndedLoop: EventLoopUtilization | undefined;
  const deps: JobDependencies = {
    retail: searches.client,
    provider: emarsysProviderFor(settings, secrets, { logger }),
    ledger,
    clock: scenarioClock(config.now),
    logger,
    settings: job,
    // The survey's last page is reported when it has been read; the pass's searches come after.
    onProgress: ({ phase }) => {
      if (phase !== 'survey') return;
      surveyEndedAt = performance.now();
      surveyEndedLoop = performance.eventLoopUtilization();
    },
  };

  const storeBefore = ledger.stats();
  const memory = sampleMemory();
  const cpuBefore = process.cpuUsage();
  const loopBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const report = await runAbandonedCartJob(deps, { trigger: 'cli' });
  const wallMs = performance.now() - started;
  const loop = performance.eventLoopUtilization(loopBefore);
  const cpu = process.cpuUsage(cpuBefore);
  const memoryFigures = memory.stop();

  const { status, error, window, pages, carts, calls, retries, failures, lines } = report;
  return {
    report: { status, error, window, pages, carts, calls, retries, failures, lines },
    searchChain: searches.chain(new Date(window.from), surveyEndedAt),
    wallMs,
    cpuMs: { user: cpu.user / 1000, system: cpu.system / 1000 },
    threadBusyMs: loop.active,
    survey:
      surveyEndedAt === undefined || surveyEndedLoop === undefined
        ? undefined
        : { endedMs: surveyEndedAt - started, threadBusyMs: performance.eventLoopUtilization(surveyEndedLoop, loopBefore).active },
    memory: { ...memoryFigures, maxRssBytes: process.resourceUsage().maxRSS * 1024 },
    store: difference(ledger.stats(), storeBefore),
    warnings,
    errors,
  };
}

function difference(after: LedgerStats, before: LedgerStats): LedgerStats {
  return {
    requests: after.requests - before.requests,
    reads: after.reads - before.reads,
    writes: after.writes - before.writes,
    retries: after.retries - before.retries,
  };
}
