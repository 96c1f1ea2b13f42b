import { createLogger, type Logger, type LogRecord } from '../../src/shared/logger';
import type { RetryPolicy } from '../../src/shared/retry';
import { createRetailServerClient, type RetailServerClient, type RetailServerClientOptions } from '../../src/retail/retail-client';
import { createRetailTokenProvider, type RetailTokenProvider } from '../../src/retail/token-provider';
import { startTokenServer, type TokenServer } from '../../src/simulators/token-server';
import {
  buildSimulatorData,
  startRetailServerSimulator,
  type RetailServerSimulator,
  type SimulatorData,
} from '../../src/simulators/retail-server';
import { testTls } from '../support/test-tls';

/**
 * The real MSAL and axios clients wired to the token server and the Retail Server simulator,
 * both on random local ports. Each test gets its own set and closes it.
 */

export const TENANT_ID = '11111111-2222-3333-4444-555555555555';
export const CLIENT_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
export const CLIENT_SECRET = 'sim~Secret.Value_0123456789';
export const AUDIENCE = 'https://commerce.dynamics.com';
export const OUN = '128';

export const fastRetry: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxServerDelayMs: 60_000 };

export interface Harness {
  tokenServer: TokenServer;
  simulator: RetailServerSimulator;
  tokenProvider: RetailTokenProvider;
  client: RetailServerClient;
  /** Every delay the client asked the injected sleep for. */
  sleeps: number[];
  logs: LogRecord[];
  /** Bearer tokens the simulator was shown, in order. */
  tokensSeen: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  data?: SimulatorData;
  authorize?: (token: string) => boolean;
  client?: Partial<RetailServerClientOptions>;
  https?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const tls = testTls();
  const tokenServer = await startTokenServer({ tls, tenantId: TENANT_ID, clients: { [CLIENT_ID]: CLIENT_SECRET } });
  const tokensSeen: string[] = [];
  const authorize = options.authorize ?? ((token: string) => tokenServer.isValidToken(token, AUDIENCE));
  const simulator = await startRetailServerSimulator({
    data: options.data ?? buildSimulatorData(),
    authorize: (token) => {
      tokensSeen.push(token);
      return authorize(token);
    },
    ...(options.https ? { tls } : {}),
    operatingUnitNumber: OUN,
  });
  const logs: LogRecord[] = [];
  const logger: Logger = createLogger((record) => logs.push(record), 'debug');
  const tokenProvider = createRetailTokenProvider({
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    authorityHost: tokenServer.authorityHost,
    audience: AUDIENCE,
    logger,
  });
  const sleeps: number[] = [];
  const client = createRetailServerClient({
    baseUrl: simulator.baseUrl,
    operatingUnitNumber: OUN,
    tokenProvider,
    retry: fastRetry,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    logger,
    ...options.client,
  });
  return {
    tokenServer,
    simulator,
    tokenProvider,
    client,
    sleeps,
    logs,
    tokensSeen,
    close: async () => {
      await Promise.all([simulator.close(), tokenServer.close()]);
    },
  };
}

/** Everything the logger received, as one string, to check that nothing secret leaked into it. */
export function allLogText(logs: readonly LogRecord[]): string {
  return logs.map((record) => JSON.stringify(record)).join('\n');
}
