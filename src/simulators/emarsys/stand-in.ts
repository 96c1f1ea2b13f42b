import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../shared/clock';
import { createTokenIssuer, DEFAULT_TOKEN_LIFETIME_SECONDS } from './token-issuer';
import { createTriggerProcessor, describeBodyProblems, triggerBodySchema, type Delivery } from './trigger';
import { createWsseVerifier } from './wsse-verifier';

/**
 * A local Emarsys that speaks the real wire format of the external event trigger: WSSE or
 * OAuth 2.0 authentication checked exactly, the body validated, contacts matched, each
 * `trigger_id` fired once, and scripted failures (429 with rate-limit headers, 5xx, slow
 * answers) on demand. Tests, the local run and the benchmark all use it. Plain HTTP on
 * 127.0.0.1 by default; node:http only.
 */

export type EmarsysStandInAuth =
  | { mode: 'wsse'; userName: string; secret: string }
  | { mode: 'oauth2'; clientId: string; clientSecret: string; tokenLifetimeSeconds?: number | undefined };

export interface EmarsysStandInOptions {
  auth: EmarsysStandInAuth;
  /** When given, other external_ids get error 2008 (no such contact), as in a real account. */
  knownContacts?: string[] | undefined;
  /** When given, other event ids are refused with HTTP 400 and replyCode 6003. */
  knownEventIds?: string[] | undefined;
  /** Keep each trigger request's parsed body in `requests` (default true; a benchmark may turn it off). */
  recordBodies?: boolean | undefined;
  /** Keep every request in `requests` at all (default true). A benchmark turns it off so memory stays flat. */
  recordRequests?: boolean | undefined;
  /** Added to every response, in milliseconds, as a distant Emarsys takes (default 0). The benchmark's service latency. */
  latencyMs?: number | undefined;
  /** Told when a request arrives and when its answer has been sent, e.g. to count requests in flight. */
  onRequest?: ((event: { path: string; phase: 'start' | 'end' }) => void) | undefined;
  host?: string | undefined;
  port?: number | undefined;
  clock?: Clock | undefined;
}

/** One answer to force instead of the normal one. */
export interface ScriptedResponse {
  status: number;
  /** Default: 0 for 2xx, 7003 for 429, 1 otherwise. */
  replyCode?: number | undefined;
  replyText?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** A raw body instead of the JSON reply, e.g. an HTML error page. */
  rawBody?: string | undefined;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number | undefined;
  /** Which endpoint it applies to; default the trigger endpoint. */
  target?: 'trigger' | 'token' | undefined;
  /**
   * Trigger endpoint only: process a valid request as usual (deliveries recorded) and then give
   * this answer, as when Emarsys did the work but the answer was lost or came too late. Without
   * it nothing is processed.
   */
  deliver?: boolean | undefined;
}

export interface RecordedRequest {
  kind: 'trigger' | 'token' | 'other';
  method: string;
  path: string;
  eventId?: string | undefined;
  /** Lower-cased header names (values are not kept: they hold credentials). */
  headerNames: string[];
  /** The nonce of a verified X-WSSE header (nonces are public), to check that each is fresh. */
  wsseNonce?: string | undefined;
  /** Parsed JSON of a trigger request; `{ grant_type }` of a token request. */
  body?: unknown;
  status: number;
  receivedAt: string;
}

export interface EmarsysStandIn {
  /** `http://127.0.0.1:<port>/api/v2/event/{0}/trigger` (v3 for OAuth 2.0). */
  readonly apiUrlTemplate: string;
  /** `http://127.0.0.1:<port>/oauth2/token`. */
  readonly tokenUrl: string;
  readonly requests: RecordedRequest[];
  readonly deliveries: Delivery[];
  /** Contacts whose trigger_id had fired already, accepted and not delivered again. */
  readonly duplicatesDropped: number;
  readonly tokensIssued: number;
  /** Answers the next requests (per target) with these, in order, before normal processing resumes. */
  failNext(responses: ScriptedResponse[]): void;
  /** Makes every issued access token invalid, as if it had been revoked or expired early. */
  revokeTokens(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const TOKEN_PATH = '/oauth2/token';

class BodyTooLargeError extends Error {}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError());
        request.destroy();
        return;
      }
      parts.push(part);
    });
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function defaultReplyCode(script: ScriptedResponse): number {
  if (script.replyCode !== undefined) return script.replyCode;
  if (script.status >= 200 && script.status < 300) return 0;
  return script.status === 429 ? 7003 : 1;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function startEmarsysStandIn(options: EmarsysStandInOptions): Promise<EmarsysStandIn> {
  const clock = options.clock ?? systemClock;
  const auth = options.auth;
  const apiVersion = auth.mode === 'wsse' ? 'v2' : 'v3';
  const triggerPath = new RegExp(`^/api/${apiVersion}/event/([^/]+)/trigger/?$`);
  const eventPath = new RegExp(`^/api/${apiVersion}/event/([^/]+)/?$`);
  const wsse = auth.mode === 'wsse' ? createWsseVerifier(auth, clock) : undefined;
  const tokens =
    auth.mode === 'oauth2' ? createTokenIssuer(auth, clock, auth.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS) : undefined;
  const processor = createTriggerProcessor(options.knownContacts);
  const knownEvents = options.knownEventIds ? new Set(options.knownEventIds) : undefined;
  const recordBodies = options.recordBodies ?? true;
  const requests: RecordedRequest[] = [];
  const scripted: { trigger: ScriptedResponse[]; token: ScriptedResponse[] } = { trigger: [], token: [] };
  const timers = new Set<NodeJS.Timeout>();

  const send = (response: ServerResponse, status: number, body: string | object, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const contentType = typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8';
    response.writeHead(status, { 'Content-Type': contentType, ...headers });
    response.end(text);
  };

  const reply = (replyCode: number, replyText: string, data: unknown = ''): object => ({ replyCode, replyText, data });

  /** Plays a scripted answer, after its delay if it has one. */
  const playScript = (response: ServerResponse, script: ScriptedResponse, target: 'trigger' | 'token'): Promise<number> => {
    const body =
      script.rawBody ??
      (target === 'token'
        ? { error: 'server_error', error_description: script.replyText ?? STATUS_CODES[script.status] ?? 'Error' }
        : reply(defaultReplyCode(script), script.replyText ?? STATUS_CODES[script.status] ?? 'Error'));
    const answer = (): number => {
      if (!response.destroyed) send(response, script.status, body, script.headers);
      return script.status;
    };
    if (!script.delayMs) return Promise.resolve(answer());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve(answer());
      }, script.delayMs);
      timers.add(timer);
    });
  };

  const handleToken = async (request: IncomingMessage, response: ServerResponse, record: RecordedRequest): Promise<number> => {
    const form = await readBody(request);
    record.body = { grant_type: new URLSearchParams(form).get('grant_type') };
    if (!tokens) {
      send(response, 404, reply(1, 'Not found'));
      return 404;
    }
    if (request.method !== 'POST') {
      send(response, 405, { error: 'invalid_request', error_description: 'Use POST' });
      return 405;
    }
    const script = scripted.token.shift();
    if (script) return playScript(response, script, 'token');
    const answer = tokens.issue(headerValue(request, 'authorization'), headerValue(request, 'content-type'), form);
    send(response, answer.status, answer.body, { 'Cache-Control': 'no-store' });
    return answer.status;
  };

  /** Authentication first, as Emarsys does: an unauthenticated caller learns nothing else. */
  const authenticate = (request: IncomingMessage, record: RecordedRequest): boolean => {
    if (wsse) {
      const verdict = wsse.verify(headerValue(request, 'x-wsse'));
      if (verdict.ok) record.wsseNonce = verdict.nonce;
      return verdict.ok;
    }
    return tokens?.accepts(headerValue(request, 'authorization')) ?? false;
  };

  const handleTrigger = async (request: IncomingMessage, response: ServerResponse, record: RecordedRequest, eventId: string): Promise<number> => {
    const text = await readBody(request);
    const json = parseJson(text);
    if (recordBodies && json.ok) record.body = json.value;
    if (request.method !== 'POST') {
      send(response, 405, reply(1, 'Method not allowed'));
      return 405;
    }
    if (!authenticate(request, record)) {
      send(response, 401, reply(1, 'Unauthorized'));
      return 401;
    }
    const script = scripted.trigger.shift();
    if (script && !script.deliver) return playScript(response, script, 'trigger');

    if (!json.ok) {
      send(response, 400, reply(10001, 'Invalid JSON in request body'));
      return 400;
    }
    const parsed = triggerBodySchema.safeParse(json.value);
    if (!parsed.success) {
      send(response, 400, reply(10001, `Invalid request: ${describeBodyProblems(parsed.error)}`));
      return 400;
    }
    if (knownEvents && !knownEvents.has(eventId)) {
      send(response, 400, reply(6003, `Invalid event id: ${eventId}`));
      return 400;
    }
    const errors = processor.process(eventId, parsed.data, record.receivedAt);
    if (script) return playScript(response, script, 'trigger');
    send(response, 200, reply(0, 'OK', Object.keys(errors).length > 0 ? { errors } : {}));
    return 200;
  };

  const latencyMs = options.latencyMs ?? 0;
  /** Waits `ms`; closing the stand-in cancels the wait (the answer is then never sent). */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    options.onRequest?.({ path, phase: 'start' });
    try {
      if (latencyMs > 0) await pause(latencyMs);
      await answer(request, response, path);
    } finally {
      options.onRequest?.({ path, phase: 'end' });
    }
  };

  const answer = async (request: IncomingMessage, response: ServerResponse, path: string): Promise<void> => {
    const record: RecordedRequest = {
      kind: 'other',
      method: request.method ?? '',
      path,
      headerNames: Object.keys(request.headers),
      status: 0,
      receivedAt: clock.now().toISOString(),
    };
    if (options.recordRequests !== false) requests.push(record);
    try {
      const trigger = triggerPath.exec(path);
      if (path === TOKEN_PATH) {
        record.kind = 'token';
        record.status = await handleToken(request, response, record);
      } else if (trigger) {
        record.kind = 'trigger';
        record.eventId = decodeURIComponent(trigger[1] as string);
        record.status = await handleTrigger(request, response, record, record.eventId);
      } else if (eventPath.test(path) && request.method === 'GET') {
        // Query an external event: its id and name, or 6003 for an id the account does not have.
        await readBody(request);
        const eventId = decodeURIComponent((eventPath.exec(path) as RegExpExecArray)[1] as string);
        if (!authenticate(request, record)) {
          send(response, 401, reply(1, 'Unauthorized'));
          record.status = 401;
        } else if (knownEvents && !knownEvents.has(eventId)) {
          send(response, 400, reply(6003, `Invalid event id: ${eventId}`));
          record.status = 400;
        } else {
          send(response, 200, reply(0, 'OK', [{ id: Number(eventId), name: `Stand-in event ${eventId}` }]));
          record.status = 200;
        }
      } else if (path === `/api/${apiVersion}/settings`) {
        // Account settings: what a client reads to check its credentials without side effects.
        await readBody(request);
        if (request.method !== 'GET') {
          send(response, 405, reply(1, 'Method not allowed'));
          record.status = 405;
        } else if (!authenticate(request, record)) {
          send(response, 401, reply(1, 'Unauthorized'));
          record.status = 401;
        } else {
          send(response, 200, reply(0, 'OK', { id: 1, name: 'Emarsys stand-in', environment: 'local' }));
          record.status = 200;
        }
      } else {
        await readBody(request);
        send(response, 404, reply(1, 'Not found'));
        record.status = 404;
      }
    } catch (error) {
      record.status = error instanceof BodyTooLargeError ? 413 : 500;
      if (!response.headersSent && !response.destroyed) {
        send(response, record.status, reply(1, error instanceof BodyTooLargeError ? 'Request entity too large' : 'Internal server error'));
      }
    }
  };

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  /** Closing twice (a test's own close, then its cleanup) is harmless. */
  let closing: Promise<void> | undefined;
  const base = `http://${urlHost(options.host ?? '127.0.0.1')}:${port}`;

  return {
    apiUrlTemplate: `${base}/api/${apiVersion}/event/{0}/trigger`,
    tokenUrl: `${base}${TOKEN_PATH}`,
    requests,
    deliveries: processor.deliveries,
    get duplicatesDropped() {
      return processor.duplicatesDropped;
    },
    get tokensIssued() {
      return tokens?.issued ?? 0;
    },
    failNext(responses) {
      for (const script of responses) scripted[script.target ?? 'trigger'].push(script);
    },
    revokeTokens() {
      tokens?.revokeAll();
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
