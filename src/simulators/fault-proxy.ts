import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { listen, type TlsMaterial } from './http-server';
import { FAULT_KINDS, RuleBook, seededRandom, type Fault, type FaultKind, type FaultRule, type ProxiedRequest, type RuleHandle } from './fault-rules';

/**
 * A reverse proxy that can sit in front of any stand-in (Retail Server, the token endpoint,
 * Emarsys, the embedded Cosmos DB server) and spoil chosen requests: error statuses with or without
 * rate-limit hints, hangs, connection resets, truncated or malformed bodies, slow answers. Every
 * other request is forwarded as it came (method, path, headers, body) and its answer passed back
 * as it went, so the real clients (MSAL, axios, @azure/cosmos) work through it unchanged.
 *
 * It terminates TLS with the test certificate when given one and speaks TLS to an https upstream,
 * like a gateway in front of a service. Servers that name their own address in their answers (the
 * Cosmos DB account's locations, the OpenID configuration's endpoints) would lead clients around
 * the proxy; `rewriteOrigins` (on by default) writes the proxy's origin in place of the upstream's
 * there, as a reverse proxy's response rewriting does.
 *
 * Faults are chosen by rules (see fault-rules.ts), with a seeded generator for probabilistic ones,
 * so a run injects the same faults every time. `latencyMs` adds a delay to every request, for
 * benchmarks that want a slower network.
 */

export type { Fault, FaultKind, FaultRule, ProxiedRequest, RuleHandle } from './fault-rules';

export interface FaultProxyOptions {
  /** `http(s)://host:port` of the stand-in behind the proxy. */
  upstream: string;
  /** Listen with TLS (the test certificate) instead of plain HTTP. */
  tls?: TlsMaterial | undefined;
  /** Added before every forwarded request. */
  latencyMs?: number | undefined;
  /** Seed of the generator behind `probability` rules; default 1. */
  seed?: number | undefined;
  /** Replace the upstream's origin with the proxy's in answers (default true). */
  rewriteOrigins?: boolean | undefined;
  host?: string | undefined;
  port?: number | undefined;
  /** Request bodies larger than this are refused with 413 (default 32 MiB). */
  maxBodyBytes?: number | undefined;
}

/** One request that went through the proxy, and the fault it met (if any). */
export interface ProxiedExchange {
  method: string;
  path: string;
  fault?: FaultKind | undefined;
  rule?: string | undefined;
}

export interface FaultProxyStats {
  requests: number;
  /** Requests that reached the upstream (faults with `forward` included). */
  forwarded: number;
  injected: Record<FaultKind, number>;
  /** Faults injected, all kinds together. */
  injectedTotal: number;
  /** Requests each rule acted on, by rule name. */
  byRule: Record<string, number>;
}

export interface FaultProxy {
  /** `http(s)://127.0.0.1:<port>`: point a client here instead of at the upstream. */
  readonly url: string;
  readonly upstream: string;
  inject(rule: FaultRule): RuleHandle;
  /** Withdraws every rule; the proxy forwards everything from now on. */
  clear(): void;
  setLatency(ms: number): void;
  stats(): FaultProxyStats;
  /** Every request since the start or `resetStats`. */
  requests(): readonly ProxiedExchange[];
  resetStats(): void;
  close(): Promise<void>;
}

interface UpstreamAnswer {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Connection-level headers a proxy must not pass on (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new TypeError(`The fault proxy forwards to http(s) only, got ${options.upstream}`);
  const upstreamOrigin = upstream.origin;
  const secure = upstream.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const rules = new RuleBook(seededRandom(options.seed ?? 1));
  const rewrite = options.rewriteOrigins ?? true;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timers = new Set<NodeJS.Timeout>();
  const exchanges: ProxiedExchange[] = [];
  let latencyMs = options.latencyMs ?? 0;
  let forwarded = 0;
  let proxyOrigin = '';
  let closed = false;

  /** Resolves after `ms`, or early when the client has gone (then `false`). */
  const wait = (ms: number, response: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (ms <= 0 || clientGone(response)) {
        resolve(!clientGone(response));
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        response.off('close', done);
        resolve(!clientGone(response));
      };
      const timer = setTimeout(done, ms);
      timers.add(timer);
      response.once('close', done);
    });

  const forward = async (request: ProxiedRequest): Promise<UpstreamAnswer> => {
    forwarded++;
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const send = secure ? httpsRequest : httpRequest;
      const outgoing = send(
        {
          protocol: upstream.protocol,
          hostname: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: forwardedHeaders(request),
          agent,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () =>
            resolve({ status: answer.statusCode ?? 502, statusMessage: answer.statusMessage ?? '', headers: answer.headers, body: Buffer.concat(chunks) }),
          );
          answer.on('error', reject);
          answer.on('close', () => {
            if (!answer.complete) reject(new Error('the upstream cut its answer short'));
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(request.body);
    });
  };

  /** The upstream's answer as the client should see it: origins rewritten, framing recomputed. */
  const prepare = (answer: UpstreamAnswer): { headers: OutgoingHttpHeaders; body: Buffer } => {
    const body = rewrite && answer.body.includes(upstreamOrigin) && !answer.headers['content-encoding'] ? replaceAll(answer.body, upstreamOrigin, proxyOrigin) : answer.body;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === 'content-length') continue;
      headers[name] = rewrite && typeof value === 'string' && (name === 'location' || name === 'content-location') ? value.split(upstreamOrigin).join(proxyOrigin) : value;
    }
    return { headers, body };
  };

  const pass = (response: ServerResponse, answer: UpstreamAnswer): void => {
    if (clientGone(response)) return;
    const { headers, body } = prepare(answer);
    response.writeHead(answer.status, answer.statusMessage, { ...headers, 'content-length': body.length });
    response.end(body);
  };

  /** Forwards after the configured latency; a client that left meanwhile is not forwarded for. */
  const forwardAfterLatency = async (request: ProxiedRequest, response: ServerResponse): Promise<UpstreamAnswer | undefined> => {
    if (!(await wait(latencyMs, response))) return undefined;
    return forward(request);
  };

  const apply = async (fault: Fault, request: ProxiedRequest, response: ServerResponse): Promise<void> => {
    switch (fault.kind) {
      case 'status': {
        if (fault.forward && !(await forwardAfterLatency(request, response))) return;
        const body = Buffer.from(fault.body ?? JSON.stringify({ error: { code: `Injected${fault.status}`, message: `Fault injected by the proxy: HTTP ${fault.status}` } }));
        respond(response, fault.status, { 'content-type': 'application/json; charset=utf-8', ...fault.headers }, body);
        return;
      }
      case 'hang': {
        if (fault.forward && !(await forwardAfterLatency(request, response))) return;
        if (fault.releaseAfterMs !== undefined && (await wait(fault.releaseAfterMs, response))) response.socket?.destroy();
        // Otherwise the answer never comes: the client times out, or `close` ends the connection.
        return;
      }
      case 'reset': {
        const when = fault.when ?? 'before-forward';
        if (when === 'before-forward') {
          response.socket?.destroy();
          return;
        }
        const answer = await forwardAfterLatency(request, response);
        if (!answer || clientGone(response)) return;
        if (when === 'after-forward') {
          response.socket?.destroy();
          return;
        }
        const { headers, body } = prepare(answer);
        response.writeHead(answer.status, answer.statusMessage, { ...headers, 'content-length': body.length });
        const socket = response.socket;
        response.write(body.subarray(0, Math.floor(body.length / 2)), () => socket?.destroy());
        return;
      }
      case 'truncate': {
        const answer = await forwardAfterLatency(request, response);
        if (!answer || clientGone(response)) return;
        const { headers, body } = prepare(answer);
        const fraction = Math.min(Math.max(fault.fraction ?? 0.5, 0), 1);
        // No Content-Length: the message is chunked and ends cleanly, only the body is short.
        response.writeHead(answer.status, answer.statusMessage, headers);
        response.end(body.subarray(0, Math.floor(body.length * fraction)));
        return;
      }
      case 'malformed-json': {
        if (fault.forward && !(await forwardAfterLatency(request, response))) return;
        respond(response, fault.status ?? 200, { 'content-type': 'application/json; charset=utf-8' }, Buffer.from(fault.body ?? '{"value": [{"Id": "cut off'));
        return;
      }
      case 'slow': {
        const when = fault.when ?? 'before-forward';
        if (when === 'before-forward' && !(await wait(fault.delayMs, response))) return;
        const answer = await forwardAfterLatency(request, response);
        if (!answer) return;
        if (when === 'after-forward' && !(await wait(fault.delayMs, response))) return;
        pass(response, answer);
        return;
      }
    }
  };

  const handler = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    let body: Buffer | undefined;
    try {
      body = await readRequestBody(incoming, maxBodyBytes);
    } catch {
      // The client went away while sending: nothing to forward, nobody to answer.
      response.socket?.destroy();
      return;
    }
    const url = incoming.url ?? '/';
    if (body === undefined) {
      respond(response, 413, { 'content-type': 'text/plain' }, Buffer.from('request body too large for the fault proxy'));
      return;
    }
    const request: ProxiedRequest = {
      method: incoming.method ?? 'GET',
      url,
      path: url.split('?')[0] ?? url,
      headers: incoming.headers,
      body,
      text: () => body.toString('utf8'),
    };
    const selected = rules.select(request);
    exchanges.push({ method: request.method, path: request.path, fault: selected?.rule.fault?.kind, rule: selected?.name });
    try {
      if (selected?.rule.before) await selected.rule.before(request);
      if (selected?.rule.fault) {
        await apply(selected.rule.fault, request, response);
        return;
      }
      const answer = await forwardAfterLatency(request, response);
      if (answer) pass(response, answer);
    } catch {
      // The upstream failed or cut the connection (its own fault hooks may do that): the client
      // sees the same, a connection that ends without an answer.
      response.socket?.destroy();
    }
  };

  const server = await listen(handler, { tls: options.tls, host: options.host, port: options.port });
  proxyOrigin = server.origin;

  return {
    url: server.origin,
    upstream: upstreamOrigin,
    inject: (rule) => rules.add(rule),
    clear: () => rules.clear(),
    setLatency: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a non-negative number of milliseconds, got ${ms}`);
      latencyMs = ms;
    },
    stats: () => {
      const injected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
      const byRule: Record<string, number> = {};
      for (const exchange of exchanges) {
        if (exchange.fault) injected[exchange.fault]++;
        if (exchange.rule) byRule[exchange.rule] = (byRule[exchange.rule] ?? 0) + 1;
      }
      return { requests: exchanges.length, forwarded, injected, injectedTotal: Object.values(injected).reduce((a, b) => a + b, 0), byRule };
    },
    requests: () => exchanges,
    resetStats: () => {
      exchanges.length = 0;
      forwarded = 0;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      rules.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
      agent.destroy();
    },
  };
}

/** The request's headers minus the hop-by-hop ones, with the body's real length. */
function forwardedHeaders(request: ProxiedRequest): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'content-length') continue;
    headers[name] = value;
  }
  if (request.body.length > 0 || request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) {
    headers['content-length'] = request.body.length;
  }
  return headers;
}

/** Whether the client closed the connection before its answer was complete. */
function clientGone(response: ServerResponse): boolean {
  return response.destroyed || response.socket === null || response.socket.destroyed;
}

function respond(response: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer): void {
  if (clientGone(response)) return;
  response.writeHead(status, { ...headers, 'content-length': body.length });
  response.end(body);
}

/** The whole request body, or undefined when it is larger than `limit`. */
async function readRequestBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const piece of request) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function replaceAll(body: Buffer, from: string, to: string): Buffer {
  return Buffer.from(body.toString('utf8').split(from).join(to), 'utf8');
}
