import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * The plumbing the local stand-ins share: listen on HTTP or HTTPS, read a bounded request body,
 * answer JSON, and close without waiting for idle keep-alive sockets (clients such as axios and
 * fetch keep connections open, which would otherwise hold `close()` and a test run open).
 */

export interface TlsMaterial {
  key: string;
  cert: string;
}

export interface ListenOptions {
  tls?: TlsMaterial | undefined;
  /** Defaults to 127.0.0.1 so nothing is exposed beyond the machine by accident. */
  host?: string | undefined;
  /** 0 (the default) picks a free port. */
  port?: number | undefined;
}

export interface RunningServer {
  /** `http(s)://host:port`, without a trailing slash. */
  origin: string;
  close(): Promise<void>;
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void;

/** Starts a server and resolves once it listens. A handler that throws answers 500. */
export async function listen(handler: RequestHandler, options: ListenOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const guarded = (request: IncomingMessage, response: ServerResponse): void => {
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        sendJson(response, 500, { error: { code: 'SimulatorError', message: error instanceof Error ? error.message : String(error) } });
      });
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, guarded)
    : createHttpServer(guarded);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    origin: `${options.tls ? 'https' : 'http'}://${hostInUrl}:${port}`,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The request body as text; more than `limitBytes` is refused rather than buffered. */
export async function readBody(request: IncomingMessage, limitBytes = 10 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const piece of request) {
    const buffer = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
    size += buffer.length;
    if (size > limitBytes) throw new Error(`request body exceeds ${limitBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json; charset=utf-8',
): void {
  sendJsonText(response, status, JSON.stringify(body), contentType, headers);
}

/** Sends JSON already written as text. */
export function sendJsonText(
  response: ServerResponse,
  status: number,
  text: string,
  contentType = 'application/json; charset=utf-8',
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** A response a test queued with `failNext`, sent instead of the normal answer. */
export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  /** Sent as is. Without one, an error status gets the server's usual error body. */
  body?: string;
  /** Wait this long before answering, to make a client time out. */
  delayMs?: number;
  /** Close the socket without answering, as a crashed proxy would (the client sees a reset). */
  dropConnection?: boolean;
}

/**
 * Plays a scripted response. Resolves once it is sent; `timers` collects pending delays so that
 * closing the server can cancel them.
 */
export async function playScripted(
  response: ServerResponse,
  scripted: ScriptedResponse,
  defaultBody: () => unknown,
  timers: Set<NodeJS.Timeout>,
): Promise<void> {
  if (scripted.delayMs !== undefined && scripted.delayMs > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, scripted.delayMs);
      timers.add(timer);
    });
  }
  if (response.destroyed) return;
  if (scripted.dropConnection) {
    response.socket?.destroy();
    return;
  }
  if (scripted.body === undefined) {
    sendJson(response, scripted.status, scripted.status >= 400 ? defaultBody() : {}, scripted.headers);
    return;
  }
  response.writeHead(scripted.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(scripted.body),
    ...scripted.headers,
  });
  response.end(scripted.body);
}

/** Request headers as a plain record, with the credential replaced by its scheme. */
export function redactedHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    headers[name] = name === 'authorization' ? redactCredential(text) : text;
  }
  return headers;
}

function redactCredential(value: string): string {
  const scheme = value.trim().split(/\s+/, 1)[0] ?? '';
  return scheme ? `${scheme} [redacted]` : '[redacted]';
}
