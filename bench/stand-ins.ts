import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHttpsServer } from '@vercel/cosmosdb-server';
import { answerMinimallyWhenAsked } from '../src/simulators/cosmos-minimal-response';
import { isBulkRequest, OperationsPerSecond, serveThrottled, takeOverRequests } from '../src/simulators/cosmos-throttle';
import type { TlsMaterial } from '../src/simulators/http-server';
import { startEmarsysStandIn, type Delivery } from '../src/simulators/emarsys';
import { startRetailServerSimulator } from '../src/simulators/retail-server';
import { startTokenServer } from '../src/simulators/token-server';
import { ModeledLedger } from '../src/store/modeled-ledger';
import { generateStore } from './data';
import { InFlight } from './in-flight';
import { JOB_DATABASE_PREFIX } from './protocol';
import type { Endpoints, ScenarioConfig, StandInsSummary } from './types';

/**
 * Everything the job talks to in the benchmark, started together: the token endpoint (MSAL needs
 * HTTPS), the Retail Server simulator with the generated store, the Emarsys stand-in, and the
 * store (the modeled ledger, or the embedded Cosmos DB server). Retail Server and Emarsys add the
 * configured latency to every response. Nothing is recorded per request, so memory stays flat.
 *
 * `npm run bench` runs these in their own process (stand-ins-process.ts), so that the job's CPU
 * and memory are measured alone; the CI test starts them in its own process.
 */

const TENANT_ID = '00000000-0000-4000-8000-0000000be0c1';
const RETAIL_AUDIENCE = 'https://commerce.dynamics.com';
const OPERATING_UNIT = '128';
const CREDENTIALS = {
  retailClientId: 'bench-retail-app',
  retailClientSecret: 'bench-retail-app-secret',
  emarsysUser: 'bench_api_user',
  emarsysSecret: 'bench-api-secret',
  eventId: '4711',
};
/** The well-known key of the Cosmos DB emulator; the embedded server accepts any. */
const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

export type StandInsConfig = Pick<ScenarioConfig, 'carts' | 'seed' | 'now' | 'latencyMs' | 'store' | 'storeLatencyMs' | 'storeOpsPerSecond' | 'shape'>;


export interface StandIns {
  endpoints: Endpoints;
  cartsInWindow: number;
  /** The modeled store (`store: 'modeled'`); it lives here, out of the job's memory, as a database would. */
  ledger: ModeledLedger | undefined;
  deliveries(): readonly Delivery[];
  summary(): StandInsSummary;
  close(): Promise<void>;
}

export async function startStandIns(config: StandInsConfig, tls: TlsMaterial): Promise<StandIns> {
  const { data, cartsInWindow } = generateStore({ carts: config.carts, seed: config.seed, now: new Date(config.now), shape: config.shape });
  const inFlight = { retail: new InFlight(), retailLookups: new InFlight(), emarsys: new InFlight(), store: new InFlight() };
  const closers: (() => Promise<void>)[] = [];
  try {
    const tokens = await startTokenServer({ tls, tenantId: TENANT_ID, clients: { [CREDENTIALS.retailClientId]: CREDENTIALS.retailClientSecret } });
    closers.push(() => tokens.close());
    const retail = await startRetailServerSimulator({
      data,
      authorize: (token) => tokens.isValidToken(token, RETAIL_AUDIENCE),
      tls,
      operatingUnitNumber: OPERATING_UNIT,
      latencyMs: config.latencyMs,
      recordRequests: false,
      indexed: true,
      onRequest: ({ endpoint, phase }) => {
        const counters = endpoint === 'customers' || endpoint === 'products' ? [inFlight.retail, inFlight.retailLookups] : [inFlight.retail];
        for (const counter of counters) {
          if (phase === 'start') counter.start();
          else counter.end();
        }
      },
    });
    closers.push(() => retail.close());
    const emarsys = await startEmarsysStandIn({
      auth: { mode: 'wsse', userName: CREDENTIALS.emarsysUser, secret: CREDENTIALS.emarsysSecret },
      knownEventIds: [CREDENTIALS.eventId],
      recordRequests: false,
      recordBodies: false,
      latencyMs: config.latencyMs,
      onRequest: ({ phase }) => (phase === 'start' ? inFlight.emarsys.start() : inFlight.emarsys.end()),
    });
    closers.push(() => emarsys.close());
    const ledger = config.store === 'modeled' ? new ModeledLedger({ latencyMs: config.storeLatencyMs }) : undefined;
    let cosmos: Endpoints['cosmos'];
    const storeLimit = config.storeOpsPerSecond === undefined ? undefined : new OperationsPerSecond(config.storeOpsPerSecond);
    if (config.store === 'embedded') {
      const server = await startEmbeddedCosmos(tls, inFlight.store, storeLimit);
      closers.push(() => server.close());
      cosmos = { endpoint: server.endpoint, key: EMULATOR_KEY };
    }

    return {
      endpoints: {
        tenantId: TENANT_ID,
        authorityHost: tokens.authorityHost,
        retailUrl: retail.baseUrl,
        operatingUnitNumber: OPERATING_UNIT,
        emarsysApiUrl: emarsys.apiUrlTemplate,
        cosmos,
        ...CREDENTIALS,
      },
      cartsInWindow,
      ledger,
      deliveries: () => emarsys.deliveries,
      summary: () => ({
        deliveries: emarsys.deliveries.length,
        duplicatesDropped: emarsys.duplicatesDropped,
        payloadDigest: payloadDigest(emarsys.deliveries),
        peakInFlight: {
          retail: inFlight.retail.peak,
          retailLookups: inFlight.retailLookups.peak,
          emarsys: inFlight.emarsys.peak,
          store: ledger?.peakRequestsInFlight() ?? inFlight.store.peak,
        },
        storeRefused: storeLimit?.refused,
      }),
      close: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function closeAll(closers: readonly (() => Promise<void>)[]): Promise<void> {
  await Promise.all(closers.map((close) => close().catch(() => undefined)));
}

/** The embedded server; with `limit`, the job's bulk operations beyond it are refused with 429. */
async function startEmbeddedCosmos(tls: TlsMaterial, inFlight: InFlight, limit: OperationsPerSecond | undefined): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server: Server = createHttpsServer({ key: tls.key, cert: tls.cert, keepAlive: true });
  if (limit) {
    const serve = takeOverRequests(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!isBulkRequest(req) || !(req.url ?? '').includes(`/dbs/${JOB_DATABASE_PREFIX}`)) return serve(req, res);
      serveThrottled(req, res, serve, () => !limit.take()).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ message: String(error) }));
      });
    });
  }
  server.prependListener('request', answerMinimallyWhenAsked);
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    inFlight.start();
    response.once('close', () => inFlight.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * One digest for every email the stand-in received: each delivery as trigger id, contact and
 * its data with keys sorted, the lines sorted, hashed. Two runs that notified the same carts
 * with the same data have the same digest, whatever order they sent them in.
 */
export function payloadDigest(deliveries: readonly Delivery[]): string {
  const lines = deliveries.map((delivery) => `${delivery.triggerId}\t${delivery.externalId}\t${canonicalJson(delivery.data)}`).sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return hash.digest('hex');
}

/** JSON with object keys sorted at every level, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
