import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abandonedCartsGetRun } from '../../src/functions/abandoned-carts-get-run';
import { abandonedCartsRun } from '../../src/functions/abandoned-carts-run';
import { abandonedCartsTimer } from '../../src/functions/abandoned-carts-timer';
import type { RunReport } from '../../src/job/report';
import { EXIT, runCli } from '../../src/cli/main';
import { disposeRuntimes } from '../../src/runtime/create-dependencies';
import { buildSimulatorData, cartRecord, customerRecord, productRecord, type SimulatorData } from '../../src/simulators/retail-server';
import { HttpRequest } from '@azure/functions';
import { writeArtifact } from '../support/artifacts';
import { buildCli, type BuiltCli } from '../support/cli-build';
import { startCli } from '../support/cli-process';
import { EMULATOR_KEY } from '../support/cosmos-server';
import { capturedContext, rerunRequest, timerInfo, useAppSettings } from '../support/functions-host';
import {
  EMARSYS_CLIENT_SECRET,
  EMARSYS_SECRET,
  fastRetry,
  RETAIL_CLIENT_SECRET,
  startHarness,
  VAULT_READER_SECRET,
  type Harness,
} from '../support/harness';
import { startRelay, type Relay } from '../support/relay';
import { CapturedOutput, SecretCatalogue } from '../support/secret-scan';
import { testTls } from '../support/test-tls';

/**
 * Log secrecy (issue 5, "Inputs and secrets"): all the output of representative runs — the job's
 * logger, the Functions InvocationContext, the CLI's stderr (and stdout, which holds the report
 * and doctor's checks), in process and as a real process — searched for every secret value, every
 * bearer token and Basic credential the connector sent, every access token an endpoint issued,
 * every WSSE digest, and every customer email. Relays in front of Retail Server and Emarsys see
 * the credentials on the wire; the token endpoint is asked about every token-shaped word.
 */

const WRONG_RETAIL_SECRET = 'wrong-retail-client-secret-typed-by-an-operator';
const WRONG_EMARSYS_SECRET = 'wrong-emarsys-api-secret-typed-by-an-operator';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

/** Customers whose emails must never show, in several letter cases, and a guest with a receipt email. */
function store(): SimulatorData {
  const emails = ['ann.lee@example.com', 'Bob.Stone@Example.org', 'carla+cart@example.net', 'dmitri@example.co.uk'];
  return buildSimulatorData({
    customers: emails.map((email, i) => customerRecord(`C${i + 1}`, { Email: email, FirstName: `First${i}`, LastName: `Last${i}` })),
    products: [productRecord(1), productRecord(2)],
    carts: [
      ...emails.map((_, i) => cartRecord({ id: `cart-${i + 1}`, customerId: `C${i + 1}`, modifiedDateTime: minutesAgo(60 + i), lines: [{ productId: (i % 2) + 1 }] })),
      cartRecord({ id: 'guest-cart', receiptEmail: 'guest.buyer@example.com', modifiedDateTime: minutesAgo(90), lines: [{ productId: 1 }] }),
    ],
  });
}

function emailsOf(data: SimulatorData): string[] {
  return [...data.customers.map((c) => c.Email), ...data.carts.map((c) => c.ReceiptEmail)].filter((e): e is string => typeof e === 'string');
}

interface Setup {
  h: Harness;
  retailRelay: Relay;
  emarsysRelay: Relay;
  /** Settings and secrets that point the connector at the relays. */
  env: Record<string, string>;
}

describe('no secret, token, digest or customer email in any log output', () => {
  const catalogue = new SecretCatalogue();
  const captured = new CapturedOutput();
  const emails = new Set<string>();
  const tokenCheckers: ((candidate: string) => boolean)[] = [];
  const setups: Setup[] = [];
  let databaseNumber = 0;
  let built: BuiltCli;
  let workDir: string;

  for (const [kind, value] of [
    ['Retail Server client secret', RETAIL_CLIENT_SECRET],
    ['Emarsys API secret', EMARSYS_SECRET],
    ['Emarsys OAuth client secret', EMARSYS_CLIENT_SECRET],
    ['Key Vault reader secret', VAULT_READER_SECRET],
    ['Cosmos DB key', EMULATOR_KEY],
    ['Cosmos DB key', EMULATOR_KEY.slice(0, 24)],
    ['mistyped client secret', WRONG_RETAIL_SECRET],
    ['mistyped Emarsys secret', WRONG_EMARSYS_SECRET],
  ] as const) {
    catalogue.add(kind, value);
  }

  /** The stand-ins behind relays, with a fresh ledger database for each use of `env`. */
  async function setUp(emarsysAuth: 'wsse' | 'oauth2'): Promise<Setup> {
    const data = store();
    emailsOf(data).forEach((email) => emails.add(email));
    const h = await startHarness({ now: 'live', data, emarsysAuth, env: { RetailServerClientOptions__IncludeAnonymous: 'true' } });
    tokenCheckers.push((candidate) => h.tokens.describeToken(candidate) !== undefined);
    const retailRelay = await startRelay({ target: new URL(h.retail.baseUrl).origin, tls: testTls(), onExchange: (e) => catalogue.addExchange(e) });
    const emarsysOrigin = new URL(h.emarsys.tokenUrl).origin;
    const emarsysRelay = await startRelay({ target: emarsysOrigin, onExchange: (e) => catalogue.addExchange(e) });
    const env = {
      ...h.env,
      ...h.secretsEnv,
      RetailServerClientOptions__RetailServerUrl: `${retailRelay.origin}/Commerce`,
      EmarsysClientOptions__ApiUrl: h.emarsys.apiUrlTemplate.replace(emarsysOrigin, emarsysRelay.origin),
      ...(emarsysAuth === 'oauth2' ? { EmarsysClientOptions__TokenUrl: h.emarsys.tokenUrl.replace(emarsysOrigin, emarsysRelay.origin) } : {}),
    };
    const setup = { h, retailRelay, emarsysRelay, env };
    setups.push(setup);
    return setup;
  }

  /** A fresh ledger, so each scenario has carts to send. */
  const freshDatabase = () => ({ AzureCosmosOptions__DatabaseId: `log-secrecy-${process.pid}-${++databaseNumber}` });

  async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env,
      isTTY: false,
      runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
    });
    captured.add(`cli ${args.join(' ')} (stdout)`, stdout);
    captured.add(`cli ${args.join(' ')} (stderr)`, stderr);
    return { code, stdout, stderr };
  }

  function expectNoLeaks(): void {
    const leaks = catalogue.leaks(captured.items, [...emails], (candidate) => tokenCheckers.some((check) => check(candidate)));
    expect(leaks).toEqual([]);
  }

  let wsse: Setup;
  let oauth: Setup;
  beforeAll(async () => {
    built = buildCli();
    workDir = mkdtempSync(join(tmpdir(), 'log-secrecy-'));
    writeFileSync(join(workDir, 'appSettings.json'), '{}\n');
    wsse = await setUp('wsse');
    oauth = await setUp('oauth2');
  });
  afterAll(async () => {
    await disposeRuntimes();
    for (const { h, retailRelay, emarsysRelay } of setups) {
      await retailRelay.close();
      await emarsysRelay.close();
      await h.close();
    }
    built.remove();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('a successful run in process, with debug logging, over WSSE and over OAuth 2.0', async () => {
    for (const { h, env } of [wsse, oauth]) {
      const report = await h.run({}, { ...env, ...freshDatabase() });
      expect(report).toMatchObject({ status: 'completed', carts: { notified: 5 } });
      captured.add(`harness logger (${h.env.EmarsysClientOptions__AuthMode ?? 'wsse'})`, h.logs.map((r) => JSON.stringify(r)).join('\n'));
      captured.add('run report', JSON.stringify(report));
    }
    expect(catalogue.counts()).toMatchObject({ 'bearer token': expect.any(Number), 'WSSE PasswordDigest': expect.any(Number), 'issued access token': expect.any(Number) });
    expectNoLeaks();
  });

  test('Emarsys failures: 5xx and 429 retried, a rejected batch, per-contact errors that echo the emails, refused credentials', async () => {
    const { h, env } = wsse;
    const perContact = JSON.stringify({
      replyCode: 0,
      replyText: 'OK',
      data: { errors: Object.fromEntries(emailsOf(h.retail.data).map((email) => [email, { '2008': `No contact found with the external id: ${email}` }])) },
    });
    h.emarsys.failNext([
      { status: 500 },
      { status: 429, headers: { 'X-RateLimit-Reset': '0' } },
      { status: 200, rawBody: perContact },
    ]);
    captured.add('report', JSON.stringify(await h.run({}, { ...env, ...freshDatabase() })));
    h.emarsys.failNext([{ status: 400, replyCode: 10001, replyText: `Invalid contact ann.lee@example.com and Bob.Stone@Example.org` }]);
    captured.add('report', JSON.stringify(await h.run({}, { ...env, ...freshDatabase() })));
    // Secrets reach the job through the CLI's environment (the harness's runs use the right ones).
    const refused = await cli(['run', '--json', '--verbose'], { ...env, ...freshDatabase(), emarsys_secret: WRONG_EMARSYS_SECRET });
    expect(refused.stdout).toMatch(/refused the credentials|HTTP 401/);
    captured.add('harness logger', h.logs.map((r) => JSON.stringify(r)).join('\n'));
    expectNoLeaks();
  });

  test('Retail Server failures: errors that echo an email, a revoked token, a failing and a refusing token endpoint', async () => {
    const { h, env } = wsse;
    h.retail.failNext('customers', [{ status: 400, body: JSON.stringify({ error: { code: 'BadRequest', message: 'Customer ann.lee@example.com is locked' } }) }]);
    captured.add('report', JSON.stringify(await h.run({}, { ...env, ...freshDatabase() })));
    h.retail.failNext('cartSearch', Array.from({ length: 4 }, () => ({ status: 503 })));
    captured.add('report', JSON.stringify(await h.run({}, { ...env, ...freshDatabase() })));
    h.tokens.revokeAllTokens();
    captured.add('report', JSON.stringify(await h.run({}, { ...env, ...freshDatabase() })));
    await disposeRuntimes();
    // A token endpoint that cannot be reached (nothing listens on port 1).
    const unreachable = await cli(['run', '--json', '--verbose'], { ...env, ...freshDatabase(), RetailServerClientOptions__AuthorityHost: 'https://127.0.0.1:1' });
    expect(unreachable.stdout).toMatch(/Could not get a Retail Server access token/);
    const refused = await cli(['run', '--json', '--verbose'], { ...env, ...freshDatabase(), retail_app_secret: WRONG_RETAIL_SECRET });
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stdout).toMatch(/AADSTS7000215|client secret/);
    captured.add('harness logger', h.logs.map((r) => JSON.stringify(r)).join('\n'));
    expectNoLeaks();
  });

  test('bad configuration, with every secret present: the CLI and both Functions list the problems and nothing else', async () => {
    const { env } = wsse;
    const bad = {
      ...env,
      RetailServerClientOptions__TenantId: '',
      RetailServerClientOptions__PageSize: '0',
      AzureCosmosOptions__EndPointUri: `not a url ${EMULATOR_KEY}`,
      EmarsysClientOptions__ApiUrl: 'https://api.emarsys.net/api/v2/event/trigger',
    };
    const { code, stderr } = await cli(['run'], bad);
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/TenantId is required/);
    const restore = useAppSettings(bad);
    try {
      const rerun = capturedContext('abandonedCartsRun');
      const response = await abandonedCartsRun(rerunRequest({}), rerun.context);
      expect(response.status).toBe(500);
      captured.add('rerun response (bad configuration)', JSON.stringify(response.jsonBody));
      captured.add('rerun invocation log', rerun.lines.join('\n'));
      const timer = capturedContext('abandonedCartsTimer');
      const thrown = await abandonedCartsTimer(timerInfo, timer.context).catch((error: unknown) => error);
      captured.add('timer error (bad configuration)', thrown instanceof Error ? `${thrown.message}\n${thrown.stack ?? ''}` : String(thrown));
      captured.add('timer invocation log', timer.lines.join('\n'));
    } finally {
      restore();
    }
    expectNoLeaks();
  });

  test('doctor, passing and failing: wrong Emarsys secret, wrong Retail Server secret, a missing secret', async () => {
    for (const { env } of [wsse, oauth]) {
      expect((await cli(['doctor'], { ...env, ...freshDatabase() })).code).toBe(EXIT.ok);
    }
    await cli(['doctor'], { ...wsse.env, emarsys_secret: WRONG_EMARSYS_SECRET });
    await cli(['doctor'], { ...oauth.env, emarsys_client_secret: WRONG_EMARSYS_SECRET });
    const wrongRetail = await cli(['doctor'], { ...wsse.env, retail_app_secret: WRONG_RETAIL_SECRET });
    expect(wrongRetail.stdout).toMatch(/✗ Token/);
    const { emarsys_user: _user, ...withoutUser } = wsse.env;
    expect((await cli(['doctor'], withoutUser)).code).toBe(EXIT.failed);
    expectNoLeaks();
  });

  test('the Functions handlers: timer, manual rerun, stored report, through their InvocationContext', async () => {
    const restore = useAppSettings({ ...oauth.env, ...freshDatabase() });
    try {
      const timer = capturedContext('abandonedCartsTimer');
      await abandonedCartsTimer(timerInfo, timer.context);
      captured.add('timer invocation log', timer.lines.join('\n'));
      oauth.h.emarsys.revokeTokens();
      const rerun = capturedContext('abandonedCartsRun');
      const response = await abandonedCartsRun(rerunRequest({ from: minutesAgo(300), to: minutesAgo(30) }), rerun.context);
      expect(response.status).toBe(200);
      captured.add('rerun invocation log', rerun.lines.join('\n'));
      captured.add('rerun response', JSON.stringify(response.jsonBody));
      const runId = (response.jsonBody as RunReport).runId;
      const get = capturedContext('abandonedCartsGetRun');
      const stored = await abandonedCartsGetRun(new HttpRequest({ method: 'GET', url: `http://localhost/api/abandoned-carts/runs/${runId}`, params: { runId } }), get.context);
      expect(stored.status).toBe(200);
      captured.add('stored report', JSON.stringify(stored.jsonBody));
      captured.add('get-run invocation log', get.lines.join('\n'));
    } finally {
      restore();
      await disposeRuntimes();
    }
    expectNoLeaks();
  });

  test('the CLI as a real process: run --json --verbose, stdout and stderr', async () => {
    for (const { env } of [wsse, oauth]) {
      const child = startCli(built, ['run', '--json', '--verbose', '--settings', join(workDir, 'appSettings.json')], { env: { ...env, ...freshDatabase() }, cwd: workDir });
      const exit = await child.exited;
      expect(exit.code).toBe(EXIT.ok);
      expect(exit.stderr).toMatch(/"level":"debug"/);
      captured.add('cli process stdout', exit.stdout);
      captured.add('cli process stderr', exit.stderr);
    }
    expectNoLeaks();
  });

  test('all output of the suite, against every credential seen on the wire in any scenario', () => {
    const counts = catalogue.counts();
    writeArtifact('reliability-log-secrecy', {
      sources: captured.items.length,
      bytes: captured.bytes,
      lines: captured.lines,
      secretsSearched: counts,
      emailsSearched: emails.size,
    });
    expect(counts['bearer token']).toBeGreaterThan(0);
    expect(counts['WSSE PasswordDigest']).toBeGreaterThan(0);
    expect(counts['Basic client credentials']).toBeGreaterThan(0);
    expectNoLeaks();

    // The search itself works: one planted value of each kind is found, emails in any letter case.
    const isLiveToken = (candidate: string) => tokenCheckers.some((check) => check(candidate));
    const kinds = ['bearer token', 'WSSE PasswordDigest', 'issued access token', 'Basic client credentials', 'Cosmos DB key'];
    for (const kind of kinds) {
      const planted = catalogue.valuesOf(kind)[0] ?? '';
      expect(catalogue.leaks([{ source: 'planted', text: `x ${planted} y` }], [], () => false).map((leak) => leak.kind)).toContain(kind);
    }
    expect(catalogue.leaks([{ source: 'planted', text: 'to ANN.LEE@example.COM' }], [...emails], () => false)).toHaveLength(1);
    const retailToken = catalogue.valuesOf('bearer token').find(isLiveToken) ?? '';
    expect(catalogue.leaks([{ source: 'planted', text: `token=${retailToken.slice(0, 43)}` }], [], isLiveToken).map((leak) => leak.kind)).toContain('issued token');
  });
});
