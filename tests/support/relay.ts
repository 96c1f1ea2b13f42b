import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { listen, readBody, type TlsMaterial } from '../../src/simulators/http-server';

/**
 * A reverse proxy in front of a stand-in, for what the stand-ins do not offer themselves:
 * - latency (`delayMs`), so that a run takes long enough for a kill to land in the middle of a
 *   page, as it would against a real Retail Server and a real Emarsys across the internet;
 * - a view of the exchanges on the wire (`onExchange`): the credentials the connector sent
 *   (bearer tokens, X-WSSE headers) and the tokens the endpoints issued, which the stand-ins
 *   deliberately do not keep, so a test can look for them in the logs.
 * It forwards every request as it is (method, path, headers, body); the stand-in still does all
 * the checking. A request fully received is forwarded even when its client has died meanwhile,
 * as bytes already on the wire reach a real server.
 */

export interface RelayExchange {
  method: string;
  path: string;
  requestHeaders: IncomingHttpHeaders;
  requestBody: string;
  status: number;
  responseBody: string;
}

export interface RelayOptions {
  /** The stand-in's origin, e.g. `https://127.0.0.1:4431`. */
  target: string;
  /** Serve TLS with this certificate (the test certificate, trusted by the test workers and their children). */
  tls?: TlsMaterial | undefined;
  /** Wait this long before forwarding each request. */
  delayMs?: number | undefined;
  onExchange?: ((exchange: RelayExchange) => void) | undefined;
}

export interface Relay {
  /** Where clients should point instead of the stand-in. */
  origin: string;
  /** Requests received so far (counted on arrival, before the delay). */
  readonly received: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function forwardableHeaders(headers: IncomingHttpHeaders, host: string): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'content-length') continue;
    result[name] = value;
  }
  result.host = host;
  return result;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const target = new URL(options.target);
  const secure = target.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const timers = new Set<NodeJS.Timeout>();
  let received = 0;

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const forward = (request: IncomingMessage, body: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstream = send(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: { ...forwardableHeaders(request.headers, target.host), 'content-length': String(Buffer.byteLength(body)) },
          agent,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    received++;
    const body = await readBody(request, 50 * 1024 * 1024);
    if (options.delayMs) await delay(options.delayMs);
    let answer: { status: number; headers: IncomingHttpHeaders; body: Buffer };
    try {
      answer = await forward(request, body);
    } catch (error) {
      if (!response.destroyed) response.writeHead(502, { 'content-type': 'text/plain' }).end(`relay: ${String(error)}`);
      return;
    }
    options.onExchange?.({
      method: request.method ?? '',
      path: request.url ?? '',
      requestHeaders: request.headers,
      requestBody: body,
      status: answer.status,
      responseBody: answer.body.toString('utf8'),
    });
    if (response.destroyed) return;
    const headers = forwardableHeaders(answer.headers, request.headers.host ?? target.host);
    delete headers.host;
    response.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
    response.end(answer.body);
  };

  const server = await listen(handler, { tls: options.tls });
  return {
    origin: server.origin,
    get received() {
      return received;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
      agent.destroy();
    },
  };
}
