import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, playScripted, readBody, redactedHeaders, sendJson, sendJsonText, type ScriptedResponse } from '../http-server';
import {
  getChannelConfiguration,
  getCustomers,
  parseODataOptions,
  searchCarts,
  searchProducts,
  type ODataOptions,
  type QueryOutcome,
} from './queries';
import { getCustomersIndexed, prepareIndex, searchCartsIndexed, searchProductsIndexed } from './indexed-queries';
import type {
  RecordedRequest,
  RetailServerSimulator,
  RetailServerSimulatorOptions,
  SimulatorData,
  SimulatorEndpoint,
} from './types';

/**
 * A local Retail Server (Commerce Scale Unit) that speaks the four calls the connector makes,
 * with the checks the real one applies before it answers: a valid bearer token (401 otherwise),
 * an `OUN` header (400 otherwise), a JSON body. Used by the tests and by the local run.
 */

const API_ROOT = '/commerce';

type Operation = (data: SimulatorData, body: unknown, options: ODataOptions) => QueryOutcome;

type Routes = Record<string, { endpoint: SimulatorEndpoint; run: Operation }>;

const routes: Routes = {
  'orgunits/getorgunitconfiguration': { endpoint: 'channel', run: (data) => getChannelConfiguration(data) },
  'carts/search': { endpoint: 'cartSearch', run: searchCarts },
  'products/search': { endpoint: 'products', run: searchProducts },
  'customers/getbyaccountnumbers': { endpoint: 'customers', run: getCustomers },
};

/** The same routes answered from an index (`indexed: true`). */
const indexedRoutes: Routes = {
  ...routes,
  'carts/search': { endpoint: 'cartSearch', run: searchCartsIndexed },
  'products/search': { endpoint: 'products', run: searchProductsIndexed },
  'customers/getbyaccountnumbers': { endpoint: 'customers', run: getCustomersIndexed },
};

/** Retail Server's OData error body. */
function odataError(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

const ODATA_JSON = 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8';

export async function startRetailServerSimulator(options: RetailServerSimulatorOptions): Promise<RetailServerSimulator> {
  const requests: RecordedRequest[] = [];
  const scripted = new Map<SimulatorEndpoint, ScriptedResponse[]>();
  const timers = new Set<NodeJS.Timeout>();
  const simulator = { data: options.data };
  const table = options.indexed ? indexedRoutes : routes;
  const latencyMs = options.latencyMs ?? 0;
  // Built now, so that the first search does not pay for sorting the whole store.
  if (options.indexed) prepareIndex(options.data);

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://simulator');
    const path = url.pathname.toLowerCase();
    const route = path.startsWith(`${API_ROOT}/`) ? table[path.slice(API_ROOT.length + 1).replace(/\/+$/, '')] : undefined;
    options.onRequest?.({ endpoint: route?.endpoint, phase: 'start' });
    try {
      await answer(request, response, url, route);
    } finally {
      options.onRequest?.({ endpoint: route?.endpoint, phase: 'end' });
    }
  };

  const answer = async (request: IncomingMessage, response: ServerResponse, url: URL, route: Routes[string] | undefined): Promise<void> => {
    const text = await readBody(request);
    if (latencyMs > 0) await pause(latencyMs, timers);
    const body = parseJson(text);
    const token = bearerToken(request.headers.authorization);
    const authorized = token !== undefined && options.authorize(token);
    if (options.recordRequests !== false) requests.push({
      endpoint: route?.endpoint,
      method: request.method ?? '',
      url: request.url ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: redactedHeaders(request),
      body: body.ok ? body.value : text,
      authorized,
    });
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}): void =>
      sendJson(response, status, odataError(code, message), headers, ODATA_JSON);

    if (!route) {
      fail(404, 'NotFound', `No HTTP resource was found that matches the request URI '${url.pathname}'.`);
      return;
    }
    if (request.method !== 'POST') {
      fail(405, 'MethodNotAllowed', `The requested resource does not support http method '${request.method ?? ''}'.`, { Allow: 'POST' });
      return;
    }
    const next = scripted.get(route.endpoint)?.shift();
    if (next) {
      await playScripted(response, next, () => odataError(`Status${next.status}`, 'Scripted failure from the Retail Server simulator.'), timers);
      return;
    }
    if (!authorized) {
      fail(
        401,
        'Microsoft_Dynamics_Commerce_Runtime_AuthenticationFailed',
        token === undefined ? 'The request has no bearer token.' : 'The bearer token is invalid, expired, or not issued for this Retail Server.',
        { 'WWW-Authenticate': 'Bearer' },
      );
      return;
    }
    const oun = headerValue(request.headers.oun);
    if (!oun) {
      fail(400, 'Microsoft_Dynamics_Commerce_Runtime_OperatingUnitNumberMissing', "The 'OUN' header (the channel's operating unit number) is required for application requests.");
      return;
    }
    if (options.operatingUnitNumber !== undefined && oun !== options.operatingUnitNumber) {
      fail(400, 'Microsoft_Dynamics_Commerce_Runtime_ChannelNotFound', `No channel was found for operating unit number '${oun}'.`);
      return;
    }
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
      fail(415, 'UnsupportedMediaType', "The request body must be sent with 'Content-Type: application/json'.");
      return;
    }
    if (!body.ok) {
      fail(400, 'BadRequest', 'The request body is not valid JSON.');
      return;
    }
    const odata = parseODataOptions(url.searchParams);
    if (typeof odata === 'string') {
      fail(400, 'BadRequest', odata);
      return;
    }
    const outcome = route.run(simulator.data, body.value, odata);
    if (outcome.ok && 'json' in outcome) sendJsonText(response, 200, outcome.json, ODATA_JSON);
    else if (outcome.ok) sendJson(response, 200, outcome.body, {}, ODATA_JSON);
    else fail(outcome.status, outcome.code, outcome.message);
  };

  const server = await listen(handler, { tls: options.tls, host: options.host, port: options.port });
  return {
    baseUrl: `${server.origin}/Commerce`,
    requests,
    get data() {
      return simulator.data;
    },
    set data(value: SimulatorData) {
      simulator.data = value;
    },
    failNext: (endpoint, responses) => {
      scripted.set(endpoint, [...(scripted.get(endpoint) ?? []), ...responses]);
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.close();
    },
  };
}

/** Waits `ms`; closing the simulator cancels the wait (the answer is then never sent). */
function pause(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text?.trim() || undefined;
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}
