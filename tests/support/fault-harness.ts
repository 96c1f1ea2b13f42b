import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import type { RunReport } from '../../src/job/report';
import { createJobDependencies, disposeRuntimes } from '../../src/runtime/create-dependencies';
import { createLogger } from '../../src/shared/logger';
import { startFaultProxy, type FaultProxy } from '../../src/simulators/fault-proxy';
import { fastRetry, startHarness, type Harness, type HarnessOptions } from './harness';
import { testTls } from './test-tls';

/**
 * The test harness with a fault proxy between the real clients and each stand-in: Retail Server
 * and the token endpoint (TLS in, TLS out), Emarsys (HTTP), and the embedded Cosmos DB server (TLS
 * terminated with the test certificate and spoken again to the server). The settings point at the
 * proxies, so runs still go through the composition root and every client sees the faults on the
 * wire, exactly as it would see a flaky network or an overloaded service.
 */

export type Dependency = 'retail' | 'token' | 'emarsys' | 'cosmos';

export interface FaultHarnessOptions extends HarnessOptions {
  /**
   * Per-request timeout of the Retail Server, token and Emarsys clients, for faults that hang.
   * The composition root takes no timeout (the clients' own default is 30 s), so with this set the
   * runs build those three clients here, from the same settings and with the same retry policy;
   * the ledger still comes from the composition root.
   */
  clientTimeoutMs?: number;
  /** Seed of the proxies' generators for probabilistic rules. */
  seed?: number;
}

export interface FaultHarness extends Harness {
  proxies: Record<Dependency, FaultProxy>;
  /** Withdraws every fault: proxy rules, the Cosmos server's hooks. */
  clearFaults(): void;
  /**
   * Forgets every client built so far, so the next run starts as a new process does (a CLI run, a
   * new Functions instance): empty MSAL cache, new Cosmos client.
   */
  newProcess(): Promise<void>;
}

export async function startFaultHarness(options: FaultHarnessOptions = {}): Promise<FaultHarness> {
  const h = await startHarness(options);
  const tls = testTls();
  const seed = options.seed ?? 1;
  const proxies: Record<Dependency, FaultProxy> = {
    retail: await startFaultProxy({ upstream: new URL(h.retail.baseUrl).origin, tls, seed }),
    token: await startFaultProxy({ upstream: h.tokens.authorityHost, tls, seed: seed + 1 }),
    emarsys: await startFaultProxy({ upstream: new URL(h.emarsys.apiUrlTemplate.replace('{0}', '0')).origin, seed: seed + 2 }),
    cosmos: await startFaultProxy({ upstream: h.cosmos.endpoint, tls, seed: seed + 3 }),
  };
  const through = (url: string, proxy: FaultProxy) => url.split(proxy.upstream).join(proxy.url);
  // The harness's settings read this record on every run, so the clients now dial the proxies.
  h.env.RetailServerClientOptions__RetailServerUrl = through(h.retail.baseUrl, proxies.retail);
  h.env.RetailServerClientOptions__AuthorityHost = proxies.token.url;
  h.env.EmarsysClientOptions__ApiUrl = through(h.emarsys.apiUrlTemplate, proxies.emarsys);
  if (h.env.EmarsysClientOptions__TokenUrl) h.env.EmarsysClientOptions__TokenUrl = through(h.emarsys.tokenUrl, proxies.emarsys);
  h.env.AzureCosmosOptions__EndPointUri = proxies.cosmos.url;

  const logger = createLogger((record) => h.logs.push(record), 'debug');

  /** With a client timeout, the composition root builds every client with it (hang scenarios). */
  const run: Harness['run'] = async (request = {}, extraEnv = {}, job = {}, extraDeps = {}): Promise<RunReport> => {
    if (options.clientTimeoutMs === undefined) return h.run(request, extraEnv, job, extraDeps);
    const deps = await createJobDependencies({
      settings: h.settings(extraEnv),
      env: h.secretsEnv,
      logger,
      clock: h.clock,
      retryPolicy: fastRetry,
      sleep: async () => undefined,
      timeoutMs: options.clientTimeoutMs,
    });
    const replaced = typeof extraDeps === 'function' ? extraDeps(deps) : extraDeps;
    return runAbandonedCartJob({ ...deps, ...replaced, settings: { ...deps.settings, ...job } }, { trigger: 'cli', ...request });
  };

  return {
    ...h,
    run,
    proxies,
    clearFaults() {
      for (const proxy of Object.values(proxies)) proxy.clear();
      h.cosmos.clearFaults();
    },
    async newProcess() {
      await disposeRuntimes();
    },
    async close() {
      for (const proxy of Object.values(proxies)) proxy.clear();
      await h.close();
      await Promise.all(Object.values(proxies).map((proxy) => proxy.close()));
    },
  };
}
