import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CosmosClient } from '@azure/cosmos';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { EXIT, runCli } from '../../src/cli/main';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startFaultHarness, type FaultHarness } from '../support/fault-harness';
import { fastRetry, startHarness, type Harness } from '../support/harness';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('abandoned-carts CLI', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'cart-1', customerId: 'C1', modifiedDateTime: minutesAgo(30), lines: [{ productId: 1 }] })],
      }),
    });
  });
  afterEach(() => h.close());

  async function cli(args: string[], env: NodeJS.ProcessEnv = { ...h.env, ...h.secretsEnv }, isTTY = false) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env,
      isTTY,
      runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
    });
    return { code, stdout, stderr };
  }

  test('run --json prints only the report on stdout and exits 0', async () => {
    const { code, stdout, stderr } = await cli(['run', '--json']);
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ status: 'completed', trigger: 'cli', carts: { notified: 1 } });
    expect(stderr).toBe('');
    expect(h.emarsys.deliveries).toHaveLength(1);
  });

  test('run prints a summary table; --dry-run with a window sends nothing', async () => {
    const { code, stdout } = await cli(['run', '--dry-run', '--from', minutesAgo(120), '--to', minutesAgo(5)]);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^Run\s+[0-9a-f-]+ \(dry run\)$/m);
    expect(stdout).toMatch(/^Would notify\s+1$/m);
    expect(stdout).toMatch(/^Window\s+.* \(request\)$/m);
    expect(h.emarsys.deliveries).toHaveLength(0);
  });

  test('on a terminal, progress is shown on stderr and cleared; not with --json or off a terminal', async () => {
    const tty = await cli(['run'], undefined, true);
    expect(tty.code).toBe(EXIT.ok);
    expect(tty.stderr).toContain('Page 1: 1 carts, 1 sent, 0 failed');
    expect(tty.stderr.endsWith('\r\x1b[2K')).toBe(true);
    const json = await cli(['run', '--json'], undefined, true);
    expect(json.stderr).toBe('');
    const piped = await cli(['run']);
    expect(piped.stderr).not.toContain('Page 1');
  });

  test('settings can come from a file given with --settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-settings-'));
    const path = join(dir, 'appSettings.json');
    const { RetailServerClientOptions__OperatingUnitNumber: _oun, ...env } = h.env;
    writeFileSync(path, JSON.stringify({ RetailServerClientOptions: { OperatingUnitNumber: 128 } }));
    const { code, stdout } = await cli(['run', '--json', '--settings', path], { ...env, ...h.secretsEnv });
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout).operatingUnitNumber).toBe('128');
  });

  test.each([
    [['run', '--from', 'yesterday'], /--from must be an ISO-8601 date-time/],
    [['run', '--from', new Date(Date.now() - 3 * 60_000).toISOString()], /--from must be before .*give an earlier from, or a to/],
    [['run', '--frm', '2026-01-01T00:00:00Z'], /Unknown option '--frm'/],
    // A problem of the window, not of one option, is shown as it is.
    [['run', '--from', '2026-01-01T00:00:00Z', '--to', '2026-03-01T00:00:00Z'], /^ {2}- the window may span at most 31 days/m],
    [['send'], /Unknown command: send/],
    [[], /Missing command/],
  ])('bad arguments %j exit 2 with the reason and the usage', async (args, message) => {
    const { code, stderr } = await cli(args);
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(message);
  });

  test('--help prints the commands; each command has its own help with examples', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/Commands:\n {2}run .*\n {2}doctor /);
    for (const command of ['run', 'doctor', 'preview']) {
      const { code, stdout } = await cli([command, '--help']);
      expect(code).toBe(EXIT.ok);
      expect(stdout).toMatch(new RegExp(`Usage: abandoned-carts ${command}`));
      expect(stdout).toMatch(/Examples:/);
    }
  });

  test('preview renders one cart from live data, sends and records nothing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cli-preview-'));
    const { code, stdout } = await cli(['preview', '--cart', 'cart-1', '--out', out]);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^Cart cart-1: 1 product\(s\)$/m);
    const file = /^Preview: (.*)$/m.exec(stdout)?.[1] ?? '';
    expect(readFileSync(file, 'utf8')).toContain('Product 1');
    expect(h.emarsys.deliveries).toHaveLength(0);
    const unknown = await cli(['preview', '--cart', 'no-such-cart', '--out', out]);
    expect(unknown.code).toBe(EXIT.failed);
    expect(unknown.stdout).toMatch(/No shopping cart no-such-cart/);
    expect((await cli(['preview'])).code).toBe(EXIT.usage);
  });

  test('preview of a cart whose product Retail Server fails every lookup of says so, and that a run would fail it for now', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cli-preview-'));
    const fail500 = { status: 500, body: JSON.stringify({ error: { code: 'CriticalStorageError', message: 'An error occurred while loading the product.' } }) };
    // The lookup's attempts fail, a probe of an id no record has is answered, product 1 alone fails twice more.
    h.retail.failNext('products', [...Array.from({ length: fastRetry.maxAttempts }, () => fail500), { status: 200, body: JSON.stringify({ value: [] }) }, fail500, fail500]);
    const { code, stdout } = await cli(['preview', '--cart', 'cart-1', '--out', out]);
    expect(code).toBe(EXIT.failed);
    expect(stdout).toMatch(/^Retail Server fails to look up product 1: .*An error occurred while loading the product\./m);
    expect(stdout).toMatch(/^A run would fail cart cart-1 for now and try it again in later runs\.$/m);
  });

  test('doctor checks every dependency in turn and hides the secrets', async () => {
    const { code, stdout } = await cli(['doctor']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^✓ Configuration$/m);
    expect(stdout).toMatch(/^ {2}Window +last 500 min on the first run, leaving the last 10 min; pages of 100; no new page after 8 min$/m);
    expect(stdout).toMatch(/^✓ Time limit: RetailServerClientOptions\.MaxRunMinutes 8 is under functionTimeout 00:10:00 \(.*host\.json\), leaving 2 min for the pages in flight$/m);
    expect(stdout).toMatch(/^✓ Secrets: 4 read from environment variables/m);
    expect(stdout).toMatch(/^✓ Token: acquired from https:\/\/127\.0\.0\.1:\d+\//m);
    expect(stdout).toMatch(/^✓ Retail Server: channel 5637144592 for OUN 128, currency USD, language en-us$/m);
    expect(stdout).toMatch(/^✓ Cosmos DB: .* does not exist yet; the first run creates it$/m);
    expect(stdout).toMatch(/^✓ Emarsys: wsse credentials accepted by http:\/\/127\.0\.0\.1:\d+; external event 4711 \("Stand-in event 4711"\) exists$/m);
    expect(stdout).toMatch(/Everything needed for a run works/);
    expect(stdout).not.toMatch(/retail-app-client-secret-value|emarsys-api-secret-value|C2y6yDjf5/);
    expect(h.emarsys.deliveries).toHaveLength(0);
  });

  test('doctor notes a ledger container that indexes every property; not one the connector made', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    const made = await cli(['doctor']);
    expect(made.stdout).toMatch(/^✓ Cosmos DB: .* reachable; checkpoint at [^;]*; may write \(a probe document, written and deleted\)$/m);

    // Cosmos DB's default policy, as the portal makes a container (spelled out: the embedded server leaves it empty).
    const client = new CosmosClient({ endpoint: String(h.env.AzureCosmosOptions__EndPointUri), key: String(h.env.AzureCosmosOptions__PrimaryKey) });
    try {
      await client
        .database(String(h.env.AzureCosmosOptions__DatabaseId))
        .containers.create({ id: 'FromPortal', partitionKey: { paths: ['/pk'], version: 2 }, defaultTtl: -1, indexingPolicy: { includedPaths: [{ path: '/*' }] } });
    } finally {
      client.dispose();
    }
    const portal = await cli(['doctor'], { ...h.env, ...h.secretsEnv, AzureCosmosOptions__ContainerId: 'FromPortal' });
    expect(portal.code).toBe(EXIT.ok);
    expect(portal.stdout).toMatch(/^✓ Cosmos DB: .*\/FromPortal reachable; no checkpoint yet .*; may write \(a probe document, written and deleted\); it indexes every property: the policy in docs\/data-model\.md makes each write cheaper$/m);
  });

  test('doctor says which check failed and what to do', async () => {
    const wrongSecret = await cli(['doctor'], { ...h.env, ...h.secretsEnv, emarsys_secret: 'wrong' });
    expect(wrongSecret.code).toBe(EXIT.failed);
    expect(wrongSecret.stdout).toMatch(/^✗ Emarsys: Emarsys refused the credentials \(HTTP 401\)/m);
    expect(wrongSecret.stdout).toMatch(/^✓ Retail Server/m);

    // Credentials that work with an event the account does not have: every send would fail.
    const wrongEvent = await cli(['doctor'], { ...h.env, ...h.secretsEnv, EmarsysClientOptions__ExternalEventId: '4712' });
    expect(wrongEvent.code).toBe(EXIT.failed);
    expect(wrongEvent.stdout).toMatch(/^✗ Emarsys: Emarsys refused external event 4712 \(HTTP 400, replyCode 6003: Invalid event id: 4712\): EmarsysClientOptions\.ExternalEventId must be/m);

    const { retail_app_secret: _dropped, ...secretsWithoutOne } = h.secretsEnv;
    const missing = await cli(['doctor'], { ...h.env, ...secretsWithoutOne });
    expect(missing.code).toBe(EXIT.failed);
    expect(missing.stdout).toMatch(/^✗ Secrets: RetailServerClientOptions\.AppSecretKeyVaultSecretName: secret "retail-app-secret" was not found/m);
    expect(missing.stdout).toMatch(/^- Token: not checked \(the secrets could not be read\)$/m);

    // The app setting overrides host.json's functionTimeout; a run limit past it is a failed check.
    const shortHost = await cli(['doctor'], { ...h.env, ...h.secretsEnv, AzureFunctionsJobHost__functionTimeout: '00:05:00' });
    expect(shortHost.code).toBe(EXIT.failed);
    expect(shortHost.stdout).toMatch(
      /^✗ Time limit: RetailServerClientOptions\.MaxRunMinutes 8 is not under functionTimeout 00:05:00 \(app setting AzureFunctionsJobHost__functionTimeout\): .* Set MaxRunMinutes a few minutes under it\.$/m,
    );
    expect(shortHost.stdout).toMatch(/^✓ Emarsys/m);

    // A host.json without functionTimeout: the Consumption plan's default, 5 minutes, applies.
    const dir = mkdtempSync(join(tmpdir(), 'doctor-host-'));
    writeFileSync(join(dir, 'appSettings.json'), readFileSync(join(__dirname, '..', '..', 'appSettings.json')));
    writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '2.0' }));
    const planDefault = await cli(['doctor', '--settings', join(dir, 'appSettings.json')]);
    expect(planDefault.code).toBe(EXIT.failed);
    expect(planDefault.stdout).toMatch(
      /^✗ Time limit: RetailServerClientOptions\.MaxRunMinutes 8 is not under the Consumption plan's default functionTimeout: .*host\.json sets no functionTimeout, so the plan's default applies: 5 minutes on the Consumption plan, 30 on the others\. Set functionTimeout in host\.json/m,
    );
    const shortRuns = await cli(['doctor', '--settings', join(dir, 'appSettings.json')], { ...h.env, ...h.secretsEnv, RetailServerClientOptions__MaxRunMinutes: '4' });
    expect(shortRuns.stdout).not.toMatch(/Ignored/);
    // A misspelt property is not an error (a file written for the sample may hold others), but it is said.
    const misspelt = await cli(['doctor'], { ...h.env, ...h.secretsEnv, RetailServerClientOptions__PageSise: '50' });
    expect(misspelt.stdout).toMatch(/^ {4}Ignored, the connector has no such property \(a misspelling\?\): RetailServerClientOptions\.PageSise$/m);
    expect(shortRuns.stdout).toMatch(/^✓ Time limit: RetailServerClientOptions\.MaxRunMinutes 4; .*host\.json sets no functionTimeout, so the plan's default applies: .*, and it is under both$/m);
  });

  // It said "no checkpoint yet (the first run reads the last IncludeAbandonedCartsModifiedSinceLastMinutes)"
  // whenever Retail Server failed or was not checked: during that incident, that the ledger was lost.
  test('doctor, while the Retail Server app secret is expired, does not say the ledger has no checkpoint', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    // The client secret in the vault has expired in Entra: no token, so Retail Server is not checked.
    const expired = await cli(['doctor'], { ...h.env, ...h.secretsEnv, retail_app_secret: 'expired-secret' });
    expect(expired.code).toBe(EXIT.failed);
    expect(expired.stdout).toMatch(/^✗ Token: /m);
    expect(expired.stdout).toMatch(/^- Retail Server: not checked/m);
    expect(expired.stdout).not.toMatch(/no checkpoint yet/);
    expect(expired.stdout).toMatch(/^✓ Cosmos DB: .* reachable; the checkpoint is not read: it is kept per channel, and Retail Server did not give the channel id; may write \(a probe document, written and deleted\)$/m);
  });

  test('a bad argument is reported even when the configuration is missing too', async () => {
    const { code, stderr } = await cli(['run', '--from', 'yesterday'], {});
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/--from must be an ISO-8601 date-time/);
  });

  test.each([
    [['run', '--cart', 'x'], /^--cart and --out belong to the preview command\.\n\nUsage: abandoned-carts <command>/],
    [['preview', '--cart', 'x', '--json'], /^--json belongs to the run command; preview takes only --cart, --out and --settings\.\n\nUsage: abandoned-carts preview /],
    [['preview', '--cart', 'x', '--dry-run', '--verbose'], /^--dry-run, --verbose belong to the run command; preview takes only/],
    [['preview', '--cart', 'x', '--from', '2026-11-22T00:00:00Z', '--to', '2026-11-23T00:00:00Z'], /^--from, --to belong to the run command; preview takes only/],
    [['doctor', '--verbose'], /^--verbose belongs to the run command; doctor takes only --settings\.\n\nUsage: abandoned-carts doctor /],
    [['doctor', '--json'], /^--json belongs to the run command; doctor takes only --settings\./],
  ])('%j: an option of another command exits 2 with the usage, before any configuration is read', async (args, message) => {
    // Once, preview and doctor ignored them: `preview --json` printed text, `doctor --verbose` nothing more.
    const { code, stdout, stderr } = await cli(args, {});
    expect({ code, stdout, stderr }).toEqual({ code: EXIT.usage, stdout: '', stderr: expect.stringMatching(message) });
  });

  test('a bad configuration exits 2 and names every property at fault', async () => {
    const { code, stderr } = await cli(['run'], { ...h.secretsEnv, RetailServerClientOptions__PageSize: '0' });
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/RetailServerClientOptions\.TenantId is required/);
    expect(stderr).toMatch(/RetailServerClientOptions\.PageSize must be at least 1/);
    expect(stderr).toMatch(/EmarsysClientOptions\.ExternalEventId is required/);
    // doctor says so too, and which appSettings.json it read (here: none in the working folder).
    const doctor = await cli(['doctor'], { ...h.secretsEnv, RetailServerClientOptions__PageSize: '0' });
    expect(doctor.code).toBe(EXIT.usage);
    expect(doctor.stdout).toMatch(/^✗ Configuration\n/);
    expect(doctor.stdout).toMatch(/^ {4}(Read .*appSettings\.json|No appSettings\.json in) .*Section__Property/m);
  });

  describe("another service's words reach the terminal without control characters", () => {
    // An answer holding escape sequences could clear the operator's screen, rewrite lines of the
    // report above it, or plant an OSC 8 hyperlink. SPEC 4: everything that comes back is untrusted.
    const ESC = '\u001b';
    const hostile = `locked ${ESC}[2J${ESC}[1;1HStatus  completed ${ESC}]8;;https://evil.example/${ESC}\\fix here${ESC}]8;;${ESC}\\ \u009b31m\r\u202eevil`;
    // eslint-disable-next-line no-control-regex
    const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
    const refusal = { status: 400, body: JSON.stringify({ error: { code: 'BadRequest', message: hostile } }) };

    test('a Retail Server error message: in the table, the JSON report and the log lines', async () => {
      h.retail.failNext('customers', Array.from({ length: 10 }, () => refusal));
      const table = await cli(['run', '--verbose']);
      expect(table.stdout).toMatch(/^Error\s+.*locked \[2J\[1;1HStatus completed \]8;;https:\/\/evil\.example\/\\fix here/m);
      expect(table.stdout).not.toMatch(CONTROL);
      expect(table.stderr).not.toMatch(CONTROL);
      h.retail.failNext('customers', Array.from({ length: 10 }, () => refusal));
      const json = await cli(['run', '--json']);
      expect(JSON.parse(json.stdout).error).not.toMatch(CONTROL);
    });

    test('an Emarsys replyText', async () => {
      h.emarsys.failNext([{ status: 400, replyCode: 10001, replyText: hostile }]);
      const { stdout } = await cli(['run']);
      expect(stdout).toMatch(/^ {2}failed: Emarsys rejected the request: HTTP 400, replyCode 10001 "locked \[2J/m);
      expect(stdout).not.toMatch(CONTROL);
    });

    test('preview: a failed customer lookup', async () => {
      h.retail.failNext('customers', Array.from({ length: 10 }, () => refusal));
      const { code, stdout, stderr } = await cli(['preview', '--cart', 'cart-1', '--out', mkdtempSync(join(tmpdir(), 'cli-preview-'))]);
      expect(code).toBe(EXIT.failed);
      expect(`${stdout}${stderr}`).toMatch(/locked \[2J/);
      expect(`${stdout}${stderr}`).not.toMatch(CONTROL);
    });
  });

  test('a failed run exits 1 and still prints the report', async () => {
    // 4 time slices of the survey × 4 attempts each.
    h.retail.failNext('cartSearch', Array.from({ length: 16 }, () => ({ status: 503 })));
    const { code, stdout } = await cli(['run', '--json']);
    expect(code).toBe(EXIT.failed);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'failed', error: expect.stringMatching(/Carts\/Search/) });
  });
});

// doctor only read the ledger: an identity given "Cosmos DB Built-in Data Reader" (or a custom
// read-only role) by mistake passed it, and every run then failed at its first write.
describe('abandoned-carts doctor proves it may write to the ledger', () => {
  let h: FaultHarness;
  beforeEach(async () => {
    h = await startFaultHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'cart-1', customerId: 'C1', modifiedDateTime: minutesAgo(30), lines: [{ productId: 1 }] })],
      }),
    });
  });
  afterEach(() => h.close());

  /** What a managed identity is to the client: a token for the account's data plane. */
  const identity: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: 'managed-identity-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };

  async function cli(args: string[], env: NodeJS.ProcessEnv = { ...h.env, ...h.secretsEnv }) {
    let stdout = '';
    const code = await runCli(args, {
      stdout: (text) => (stdout += text),
      stderr: () => undefined,
      env,
      isTTY: false,
      runtime: { retryPolicy: fastRetry, sleep: async () => undefined, credential: identity },
    });
    return { code, stdout };
  }

  /** Every document of the ledger, system fields left out. */
  async function ledgerDocuments(): Promise<unknown[]> {
    const client = new CosmosClient({ endpoint: h.cosmos.endpoint, key: h.cosmos.key });
    try {
      const container = client.database(String(h.env.AzureCosmosOptions__DatabaseId)).container('AbandonedCarts');
      const { resources } = await container.items.readAll<Record<string, unknown>>().fetchAll();
      return resources.map(({ _rid, _self, _etag, _ts, _attachments, ...document }) => document).sort((a, b) => String(a.id).localeCompare(String(b.id)));
    } finally {
      client.dispose();
    }
  }

  const isProbeWrite = (request: { method: string; path: string; text(): string }) => request.method === 'POST' && /\/docs$/.test(request.path) && request.text().includes('doctor-probe');

  test('writes one probe document of its own, deletes it, and leaves the ledger as it was', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    const before = await ledgerDocuments();
    const probes: Record<string, unknown>[] = [];
    h.proxies.cosmos.inject({ match: isProbeWrite, before: (request) => void probes.push(JSON.parse(request.text()) as Record<string, unknown>) });
    h.proxies.cosmos.resetStats();

    const { code, stdout } = await cli(['doctor']);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/^✓ Cosmos DB: .* reachable; checkpoint at [^;]*; may write \(a probe document, written and deleted\)$/m);
    // Its own id and partition key (no checkpoint, lease, run or notification looks like it, and
    // deployments sharing the container never meet), a type nothing reads, and a minute to live.
    expect(probes).toEqual([{ id: expect.stringMatching(/^doctor-probe-128-[0-9a-f]{16}$/), pk: probes[0]?.id, type: 'doctor-probe', ttl: 60 }]);
    const id = String(probes[0]?.id);
    expect(h.proxies.cosmos.requests().filter((r) => r.method === 'DELETE').map((r) => decodeURIComponent(r.path))).toEqual([expect.stringMatching(new RegExp(`/docs/${id}$`))]);
    expect(await ledgerDocuments()).toEqual(before);
  });

  /** What Cosmos DB answers a write whose identity has no data-plane role allowing it. */
  const injectRoleRefusal = () =>
    h.proxies.cosmos.inject({
      match: isProbeWrite,
      fault: {
        kind: 'status',
        status: 403,
        headers: { 'x-ms-substatus': '5301', 'x-ms-activity-id': '5b8b2c4e-0d2a-4c1e-9b1a-6f1e2d3c4b5a' },
        body: JSON.stringify({
          code: 'Forbidden',
          message:
            'Request blocked by Auth contoso-carts : Request is blocked because principal [0f8fad5b-d9cb-469f-a165-70867728950e] does not have required RBAC permissions ' +
            'to perform action [Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/create] on resource [dbs/AbandonedCartDB/colls/AbandonedCarts/]. ' +
            'Learn more: https://aka.ms/cosmos-native-rbac.\r\nActivityId: 5b8b2c4e-0d2a-4c1e-9b1a-6f1e2d3c4b5a, Microsoft.Azure.Documents.Common/2.14.0',
        }),
      },
    });

  test('the Function App\'s managed identity that may read but not write (Cosmos DB Built-in Data Reader) fails the check, and is told the role to assign', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    const before = await ledgerDocuments();
    const refusal = injectRoleRefusal();
    // In the Function App (its console), App Service's managed identity endpoint is set: doctor
    // signs in as the identity the runs use.
    const { code, stdout } = await cli(['doctor'], { ...h.env, ...h.secretsEnv, AzureCosmosOptions__PrimaryKey: '', IDENTITY_ENDPOINT: 'http://localhost:42356/msi/token' });
    expect(code).toBe(EXIT.failed);
    expect(refusal.fired).toBe(1);
    expect(stdout).toMatch(
      /^✗ Cosmos DB: .* reachable, but the identity may read the ledger and not write it: every run would fail at its first write\. Assign it the data-plane role "Cosmos DB Built-in Data Contributor" \(az cosmosdb sql role assignment create --account-name <account> --resource-group <group> --scope \/ --principal-id <the identity's object id> --role-definition-id 00000000-0000-0000-0000-000000000002\), .*\(HTTP 403: Request blocked by Auth contoso-carts : .*Learn more: https:\/\/aka\.ms\/cosmos-native-rbac\.\)$/m,
    );
    expect(stdout).toMatch(/check\(s\) failed/);
    expect(await ledgerDocuments()).toEqual(before);
  });

  test('an operator\'s identity with a reader role (doctor run from a workstation) is said not to show the app may write, and passes', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    const refusal = injectRoleRefusal();
    const { code, stdout } = await cli(['doctor'], { ...h.env, ...h.secretsEnv, AzureCosmosOptions__PrimaryKey: '' });
    expect(refusal.fired).toBe(1);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(
      /^✓ Cosmos DB: .* reachable; checkpoint at [^;]*; not shown to be writable: the identity doctor signed in with \(not the Function App's managed identity\) may read the ledger and not write it\. Runs sign in with the app's managed identity, which must be allowed to write: "Cosmos DB Built-in Data Contributor", .*run doctor in the Function App \(its console\) to check that identity \(HTTP 403: Request blocked by Auth/m,
    );
  });

  test('an identity refused a write for another reason than its role (a container out of storage) is not told to assign a role', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    // Cosmos DB's 403 when a container has reached its storage: the identity may write, the role is not the matter.
    h.proxies.cosmos.inject({
      match: isProbeWrite,
      fault: {
        kind: 'status',
        status: 403,
        headers: { 'x-ms-substatus': '1021', 'x-ms-activity-id': 'e180cd10-16cb-4849-a994-950e6e699259' },
        body: JSON.stringify({ code: 'Forbidden', message: 'Message: {"Errors":["Storage quota for \'Collection\' exceeded."]}\r\nActivityId: e180cd10-16cb-4849-a994-950e6e699259, Microsoft.Azure.Documents.Common/2.14.0' }),
      },
    });
    const { code, stdout } = await cli(['doctor'], { ...h.env, ...h.secretsEnv, AzureCosmosOptions__PrimaryKey: '' });
    expect(code).toBe(EXIT.failed);
    expect(stdout).toMatch(/^✗ Cosmos DB: .*write of its probe document failed \(HTTP 403: .*Storage quota for 'Collection' exceeded/m);
    expect(stdout).not.toMatch(/may read the ledger and not write it|Built-in Data Contributor/);
  });

  test('a probe whose delete fails fails the check, and says the probe expires on its own', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    h.proxies.cosmos.inject({ method: 'DELETE', path: /\/docs\/doctor-probe-/, fault: { kind: 'status', status: 503 } });
    const { code, stdout } = await cli(['doctor']);
    expect(code).toBe(EXIT.failed);
    expect(stdout).toMatch(/^✗ Cosmos DB: Cosmos DB delete of its probe document doctor-probe-128-[0-9a-f]{16} failed \(HTTP 503: .*\)\. It expires on its own within 60 s$/m);
  });

  test('a read-only key fails the check too, and is told to use a read-write key', async () => {
    expect((await cli(['run'])).code).toBe(EXIT.ok);
    // A read-only key signs reads that pass; Cosmos DB refuses its writes with 401.
    h.proxies.cosmos.inject({
      match: isProbeWrite,
      fault: {
        kind: 'status',
        status: 401,
        body: JSON.stringify({ code: 'Unauthorized', message: "The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol." }),
      },
    });
    const { code, stdout } = await cli(['doctor']);
    expect(code).toBe(EXIT.failed);
    expect(stdout).toMatch(/^✗ Cosmos DB: .* reachable, but the key may read the ledger and not write it: .*AzureCosmosOptions\.PrimaryKey .*read-write key.*\(HTTP 401: /m);
  });
});

describe('abandoned-carts preview of an anonymous cart', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'guest-cart', receiptEmail: 'guest@example.net', modifiedDateTime: minutesAgo(30), lines: [{ productId: 1 }] })],
      }),
    });
  });
  afterEach(() => h.close());

  const preview = async (env: NodeJS.ProcessEnv) => {
    let stdout = '';
    const out = mkdtempSync(join(tmpdir(), 'cli-preview-'));
    const code = await runCli(['preview', '--cart', 'guest-cart', '--out', out], {
      stdout: (text) => (stdout += text),
      stderr: () => undefined,
      env: { ...h.env, ...h.secretsEnv, ...env },
      isTTY: false,
      runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
    });
    return { code, stdout };
  };

  test('says a run would skip it unless IncludeAnonymous is on, as a run decides', async () => {
    const off = await preview({ RetailServerClientOptions__IncludeAnonymous: 'false' });
    expect(off.code).toBe(EXIT.failed);
    expect(off.stdout).toMatch(/^A run would skip cart guest-cart: anonymous/m);
    const on = await preview({ RetailServerClientOptions__IncludeAnonymous: 'true' });
    expect(on.code).toBe(EXIT.ok);
    expect(on.stdout).toMatch(/^Cart guest-cart: 1 product\(s\)$/m);
  });
});
