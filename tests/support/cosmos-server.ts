import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createHttpsServer } from '@vercel/cosmosdb-server';
import { answerMinimallyWhenAsked, asksForMinimalAnswer } from '../../src/simulators/cosmos-minimal-response';
import { isBulkRequest, serveThrottled, takeOverRequests } from '../../src/simulators/cosmos-throttle';
import { testTls } from './test-tls';

/**
 * The well-known key of the Azure Cosmos DB emulator. The stand-in does not check signatures, but
 * the real client signs every request with it, so the whole auth path runs as it would in Azure.
 */
export const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

/** One HTTP request the stand-in received, for tests that count round trips on the wire. */
export interface ObservedRequest {
  method: string;
  path: string;
  /** A bulk or transactional batch request (`x-ms-cosmos-is-batch-request`). */
  batch: boolean;
  /** A bulk request sent with `Prefer: return=minimal`: answered without documents, as Cosmos DB does. */
  minimal: boolean;
}

type RequestMatch = (request: ObservedRequest) => boolean;

export interface CosmosTestServer {
  /** `https://127.0.0.1:<port>`, trusted by the test workers through NODE_EXTRA_CA_CERTS. */
  endpoint: string;
  key: string;
  /** Every request received since the start or the last `resetRequests`. */
  requests(): readonly ObservedRequest[];
  resetRequests(): void;
  /** Answers the next `count` matching requests with `statusCode` without serving them (429, 401, 503...). */
  failNext(count: number, statusCode: number, match?: RequestMatch): void;
  /**
   * Answers the next `count` bulk operations whose document id matches with a per-operation 429,
   * without running them, as a throttled partition does; the other operations of the request run.
   */
  throttleOperations(count: number, match?: (documentId: string) => boolean): void;
  /** Serves the next `count` matching requests, then cuts the connection before the answer: the write happened, the client cannot know. */
  dropResponses(count: number, match?: RequestMatch): void;
  /** Forgets every planned failure that has not happened yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

interface Planned {
  remaining: number;
  match: RequestMatch;
}

/**
 * Starts @vercel/cosmosdb-server on 127.0.0.1 with a random port and the test certificate, so the
 * real @azure/cosmos client talks to it over verified TLS. State lives in memory and dies with it.
 * The fault hooks stand in for what a real account does under load, which the stand-in never does.
 */
export async function startCosmosServer(): Promise<CosmosTestServer> {
  const tls = testTls();
  const server: Server = createHttpsServer({ key: tls.key, cert: tls.cert });
  const observed: ObservedRequest[] = [];
  const failures: (Planned & { statusCode: number })[] = [];
  const drops: Planned[] = [];
  const throttles: { remaining: number; match: (documentId: string) => boolean }[] = [];
  const sockets = new Set<Socket>();

  // The stand-in registers its handler at creation; put ours in front of it.
  const standIn = takeOverRequests(server);

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const request: ObservedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      batch: isBulkRequest(req),
      minimal: asksForMinimalAnswer(req),
    };
    observed.push(request);

    const failure = take(failures, request);
    if (failure) {
      req.resume();
      res.statusCode = failure.statusCode;
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-ms-retry-after-ms', '1');
      res.setHeader('x-ms-activity-id', '00000000-0000-0000-0000-000000000000');
      res.end(JSON.stringify({ code: String(failure.statusCode), message: `planned failure ${failure.statusCode}` }));
      return;
    }
    answerMinimallyWhenAsked(req, res);
    if (take(drops, request)) {
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as typeof res.end;
    }
    if (request.batch && throttles.some((t) => t.remaining > 0)) {
      const refuse = (documentId: string) => {
        const plan = throttles.find((t) => t.remaining > 0 && t.match(documentId));
        if (plan) plan.remaining -= 1;
        return plan !== undefined;
      };
      void serveThrottled(req, res, standIn, refuse).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ message: String(error) }));
      });
      return;
    }
    standIn(req, res);
  });

  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `https://127.0.0.1:${port}`,
    key: EMULATOR_KEY,
    requests: () => observed,
    resetRequests: () => {
      observed.length = 0;
    },
    failNext: (count, statusCode, match = () => true) => {
      failures.push({ remaining: count, statusCode, match });
    },
    throttleOperations: (count, match = () => true) => {
      throttles.push({ remaining: count, match });
    },
    dropResponses: (count, match = () => true) => {
      drops.push({ remaining: count, match });
    },
    clearFaults: () => {
      failures.length = 0;
      drops.length = 0;
      throttles.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The client keeps connections alive; end them so jest sees no open handles.
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      }),
  };
}

function take<T extends Planned>(plans: T[], request: ObservedRequest): T | undefined {
  const plan = plans.find((p) => p.remaining > 0 && p.match(request));
  if (plan) plan.remaining -= 1;
  return plan;
}

