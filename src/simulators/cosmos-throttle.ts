import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { Readable } from 'node:stream';
import { readBody } from './http-server';

/**
 * Throttling for the embedded Cosmos DB server, which never throttles: what a container short of
 * request units does to a bulk request (HTTP 207, the refused operations answered 429 with
 * sub-status 3200, the others run). Used by the tests' Cosmos server and by the benchmark's.
 */

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The embedded server registers its handler when it is created; this takes it off the server and
 * returns it, so that a handler of the caller's can go in front of it.
 */
export function takeOverRequests(server: Server): Handler {
  const [serve] = server.listeners('request') as Handler[];
  if (!serve) throw new Error('cosmosdb-server registered no request handler');
  server.removeAllListeners('request');
  return serve;
}

/** The parts of a bulk operation that name its document. */
interface BulkOperation {
  id?: string;
  resourceBody?: { id?: string };
}

/** A bulk or transactional batch request (`x-ms-cosmos-is-batch-request`). */
export function isBulkRequest(req: IncomingMessage): boolean {
  return String(req.headers['x-ms-cosmos-is-batch-request']).toLowerCase() === 'true';
}

/**
 * Serves a bulk request with `next` (the embedded server's handler) minus the operations `refuse`
 * picks, and answers those with a per-operation 429, in their places.
 */
export async function serveThrottled(req: IncomingMessage, res: ServerResponse, next: Handler, refuse: (documentId: string) => boolean): Promise<void> {
  const operations = JSON.parse(await readBody(req)) as BulkOperation[];
  const refused = new Set<number>();
  operations.forEach((operation, i) => {
    if (refuse(operation.id ?? operation.resourceBody?.id ?? '')) refused.add(i);
  });
  const body = Buffer.from(JSON.stringify(operations.filter((_, i) => !refused.has(i))));
  const replay = Object.assign(Readable.from([body]), {
    headers: { ...req.headers, 'content-length': String(body.length) },
    method: req.method,
    url: req.url,
    socket: req.socket,
  }) as unknown as IncomingMessage;

  const end = res.end.bind(res) as (chunk: string) => ServerResponse;
  res.end = ((chunk: unknown) => {
    const results = JSON.parse(String(chunk)) as unknown[];
    const merged: unknown[] = [];
    let k = 0;
    for (let i = 0; i < operations.length; i++) {
      merged.push(refused.has(i) ? { statusCode: 429, subStatusCode: 3200, requestCharge: 0 } : results[k++]);
    }
    res.statusCode = 207;
    return end(JSON.stringify(merged));
  }) as typeof res.end;
  next(replay, res);
}

/**
 * Takes `rate` operations a second and refuses the rest, with up to a second's worth saved up while
 * idle: a provisioned container's RU/s budget, counted in operations. It starts with nothing saved
 * at the first operation it is asked for, so that in the t seconds after that it takes at most
 * `rate` x t (a lower bound on a run's time can count on that).
 */
export class OperationsPerSecond {
  accepted = 0;
  refused = 0;
  private tokens = 0;
  private refilledAt: number | undefined;

  constructor(private readonly rate: number) {}

  /** True when the operation may run now. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - (this.refilledAt ?? now)) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens < 1) {
      this.refused++;
      return false;
    }
    this.tokens--;
    this.accepted++;
    return true;
  }
}
