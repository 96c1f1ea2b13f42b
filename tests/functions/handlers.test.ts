import { CosmosClient } from '@azure/cosmos';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { abandonedCartsGetRun } from '../../src/functions/abandoned-carts-get-run';
import { abandonedCartsRun } from '../../src/functions/abandoned-carts-run';
import { abandonedCartsTimer, providerDownMessage } from '../../src/functions/abandoned-carts-timer';
import type { RunReport } from '../../src/job/report';
import { disposeRuntimes } from '../../src/runtime/create-dependencies';
import { buildSimulatorData, cartRecord, channelRecord, customerRecord, productRecord, startRetailServerSimulator } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';
import { testTls } from '../support/test-tls';

/**
 * The registered handlers, called as the Functions host calls them, with their settings in
 * process.env as app settings would put them. These runs use the real clock, so the carts are
 * placed relative to now.
 */
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

function context(name: string): { context: InvocationContext; lines: string[] } {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => lines.push(args.map(String).join(' '));
  const ctx = new InvocationContext({
    functionName: name,
    invocationId: 'test-invocation',
    logHandler: (_level, ...args) => capture(...args),
  });
  return { context: ctx, lines };
}

function post(body?: string, headers?: Record<string, string>): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/abandoned-carts/run',
    ...(body === undefined ? {} : { body: { string: body } }),
    ...(headers ? { headers } : {}),
  });
}

describe('Azure Functions handlers', () => {
  let h: Harness;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [customerRecord('C1'), customerRecord('C2')],
        products: [productRecord(1)],
        carts: [
          cartRecord({ id: 'cart-1', customerId: 'C1', modifiedDateTime: minutesAgo(60), lines: [{ productId: 1 }] }),
          cartRecord({ id: 'cart-2', customerId: 'C2', modifiedDateTime: minutesAgo(45), lines: [{ productId: 1, quantity: 2 }] }),
        ],
      }),
    });
    process.env = { ...savedEnv, ...h.env, ...h.secretsEnv, AbandonedCartSchedule: '0 */30 * * * *' };
  });
  afterEach(async () => {
    process.env = { ...savedEnv };
    await disposeRuntimes();
    await h.close();
  });

  test('the timer runs the job and logs one report line through the invocation context', async () => {
    const { context: ctx, lines } = context('abandonedCartsTimer');
    await abandonedCartsTimer(timer, ctx);
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['cart-1', 'cart-2']);
    const finished = lines.find((line) => line.startsWith('Abandoned cart run finished'));
    expect(finished).toContain('"notified":2');
    // The timer's run may take MaxRunMinutes (8 by default, under host.json's 10-minute functionTimeout).
    expect(lines.find((line) => line.startsWith('Abandoned cart run started'))).toContain('"limitMinutes":8');
    expect(lines.join('\n')).not.toMatch(/c1@example\.com|retail-app-client-secret-value|emarsys-api-secret-value/);
  });

  test('a run that sends nothing because Emarsys fails every reminder as a whole fails the timer invocation; the next run sends them', async () => {
    // The external event deleted (or a wrong id deployed): every trigger request is refused.
    process.env.EmarsysClientOptions__ExternalEventId = '4712';
    await expect(abandonedCartsTimer(timer, context('abandonedCartsTimer').context)).rejects.toThrow(
      /^Abandoned cart run [0-9a-f-]+ sent nothing: the email provider failed all 2 reminders as a whole; the run's most frequent failure: Emarsys rejected the request: HTTP 400, replyCode 6003 .*; they wait for a run in which it works$/,
    );
    expect(h.emarsys.deliveries).toHaveLength(0);

    // Fixed: the next timer run succeeds and sends both (the outage cost them no attempt).
    process.env.EmarsysClientOptions__ExternalEventId = '4711';
    await disposeRuntimes();
    await abandonedCartsTimer(timer, context('abandonedCartsTimer').context);
    expect(h.emarsys.deliveries.map((d) => d.data.cartId).sort()).toEqual(['cart-1', 'cart-2']);
  });

  test('a manual rerun over HTTP returns the report, which GET /runs/{runId} returns again', async () => {
    const { context: runContext, lines } = context('abandonedCartsRun');
    const response = await abandonedCartsRun(post(JSON.stringify({ dryRun: false })), runContext);
    expect(response.status).toBe(200);
    // An HTTP rerun stops taking pages in time to answer within the 230 s Azure's front end waits.
    expect(lines.find((line) => line.startsWith('Abandoned cart run started'))).toContain('"limitMinutes":2.5');
    const report = response.jsonBody as RunReport;
    expect(report).toMatchObject({ status: 'completed', trigger: 'http', carts: { notified: 2 } });

    const stored = await abandonedCartsGetRun(
      new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/abandoned-carts/runs/${report.runId}`, params: { runId: report.runId } }),
      context('abandonedCartsGetRun').context,
    );
    expect(stored.status).toBe(200);
    expect(stored.jsonBody).toEqual(report);

    const unknown = '00000000-0000-4000-8000-000000000000';
    const missing = await abandonedCartsGetRun(
      new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/abandoned-carts/runs/${unknown}`, params: { runId: unknown } }),
      context('abandonedCartsGetRun').context,
    );
    expect(missing.status).toBe(404);
    // Not only "expired": a report Cosmos DB refused to store is missing too, and a dry run's never is.
    expect((missing.jsonBody as { error: string }).error).toMatch(/expired.*dry run.*Could not store the run report/);
    const bad = await abandonedCartsGetRun(
      new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/abandoned-carts/runs/x', params: { runId: '../x' } }),
      context('abandonedCartsGetRun').context,
    );
    expect(bad.status).toBe(400);
  });

  test('GET /runs/{runId} answers for this app\'s operating unit only: the report of another unit sharing the container is a 404', async () => {
    // A second brand's Function App, unit 129 with its own channel, keeps its ledger in the same container.
    const other = await startRetailServerSimulator({
      data: buildSimulatorData({
        channel: channelRecord({ RecordId: 5637144593, ChannelNaturalId: 'BRAND-B' }),
        customers: [customerRecord('B1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'cart-b1', customerId: 'B1', modifiedDateTime: minutesAgo(50), lines: [{ productId: 1 }] })],
      }),
      authorize: (token) => h.tokens.isValidToken(token, 'https://commerce.dynamics.com'),
      tls: testTls(),
      operatingUnitNumber: '129',
    });
    try {
      const theirs = await h.run({ trigger: 'timer' }, { RetailServerClientOptions__RetailServerUrl: other.baseUrl, RetailServerClientOptions__OperatingUnitNumber: '129' });
      expect(theirs).toMatchObject({ status: 'completed', operatingUnitNumber: '129', carts: { notified: 1 } });
      const get = (runId: string) =>
        abandonedCartsGetRun(
          new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/abandoned-carts/runs/${runId}`, params: { runId } }),
          context('abandonedCartsGetRun').context,
        );
      // This app (unit 128, process.env) is asked for unit 129's run: its function key opens unit 128's reports only.
      const response = await get(theirs.runId);
      expect(response.status).toBe(404);
      expect((response.jsonBody as { error: string }).error).toMatch(/another operating unit/);
      expect(response.jsonBody).not.toHaveProperty('carts');
      // Its own runs' reports it still returns.
      const ours = (await abandonedCartsRun(post('{}'), context('abandonedCartsRun').context)).jsonBody as RunReport;
      expect(ours.operatingUnitNumber).toBe('128');
      expect((await get(ours.runId)).jsonBody).toEqual(ours);
    } finally {
      await other.close();
    }
  });

  test('GET /runs/{runId} of a run still working: the 404 says a report is stored when its run ends', async () => {
    // Emarsys takes its time: the run is in the middle of its send when the operator looks its id up.
    h.emarsys.failNext([{ status: 200, deliver: true, delayMs: 1500 }]);
    const run = context('abandonedCartsTimer');
    const running = abandonedCartsTimer(timer, run.context);
    while (!h.emarsys.requests.some((request) => request.kind === 'trigger')) await new Promise((resolve) => setTimeout(resolve, 20));
    const runId = /"runId":"([0-9a-f-]{36})"/.exec(run.lines.find((line) => line.startsWith('Abandoned cart run started')) ?? '')?.[1] ?? '';
    const response = await abandonedCartsGetRun(
      new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/abandoned-carts/runs/${runId}`, params: { runId } }),
      context('abandonedCartsGetRun').context,
    );
    await running;
    expect(response.status).toBe(404);
    // Its id is a run's, and its report neither expired nor was refused: it is not written yet.
    expect((response.jsonBody as { error: string }).error).toMatch(/may still be working/);
  });

  test('GET /runs/{runId} only reads: before the ledger exists it is a 404, and creates neither database nor container', async () => {
    const runId = '00000000-0000-4000-8000-000000000000';
    const get = () =>
      abandonedCartsGetRun(
        new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/abandoned-carts/runs/${runId}`, params: { runId } }),
        context('abandonedCartsGetRun').context,
      );
    const client = new CosmosClient({ endpoint: h.cosmos.endpoint, key: h.cosmos.key });
    const databaseId = String(h.env.AzureCosmosOptions__DatabaseId);
    try {
      const databases = async () => (await client.databases.readAll().fetchAll()).resources.map((database) => database.id);
      expect((await get()).status).toBe(404);
      expect(await databases()).not.toContain(databaseId);
      // The database without the container: still no such run, and still nothing created.
      await client.databases.create({ id: databaseId });
      await disposeRuntimes();
      expect((await get()).status).toBe(404);
      expect((await client.database(databaseId).containers.readAll().fetchAll()).resources).toEqual([]);
    } finally {
      client.dispose();
    }
  });

  test('a dry run over HTTP with an explicit window sends nothing', async () => {
    const body = JSON.stringify({ from: minutesAgo(120), to: minutesAgo(15), dryRun: true });
    const response = await abandonedCartsRun(post(body), context('abandonedCartsRun').context);
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ dryRun: true, window: { source: 'request' }, carts: { eligible: 2, notified: 0 } });
    expect(h.emarsys.deliveries).toHaveLength(0);
  });

  test.each([
    ['not JSON', '{"from": ', /not valid JSON/],
    ['an unknown field', '{"dryrun": true}', /unknown field\(s\): dryrun/],
    ['a date without a time zone', '{"from": "2026-11-23T10:00:00"}', /from must be an ISO-8601 date-time with a time zone/],
    ['from after to', `{"from": "${minutesAgo(10)}", "to": "${minutesAgo(20)}"}`, /from must be before to/],
    ['a window in the future', `{"to": "${new Date(Date.now() + 3_600_000).toISOString()}"}`, /to is in the future/],
    ['a window of 40 days', `{"from": "${minutesAgo(40 * 24 * 60)}"}`, /at most 31 days/],
    ['only a from within the Exclude minutes', `{"from": "${minutesAgo(3)}"}`, /from must be before .*ExcludeAbandonedCartsModifiedSinceLastMinutes/],
    ['dryRun as a string', '{"dryRun": "yes"}', /dryRun must be true or false/],
    // Only an empty body means "no fields": null once started a real run that sent reminders.
    ['a body of null', 'null', /must be a JSON object/],
    ['a body that is a list', '[]', /must be a JSON object/],
    ['a body that is a number', '42', /must be a JSON object/],
    ['a body that is a string', '"dryRun"', /must be a JSON object/],
  ])('bad input (%s) is a 400 that says what is wrong', async (_name, body, message) => {
    const response = await abandonedCartsRun(post(body), context('abandonedCartsRun').context);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.jsonBody)).toMatch(message);
    expect(h.retail.requests).toHaveLength(0);
  });

  test('rerun fields in the query string are refused by name, not ignored; code (the function key) is taken', async () => {
    // `?dryRun=true` ignored would be a real run that emails the customers.
    const query = new HttpRequest({ method: 'POST', url: `http://localhost:7071/api/abandoned-carts/run?code=function-key&dryRun=true&from=${minutesAgo(120)}` });
    const refused = await abandonedCartsRun(query, context('abandonedCartsRun').context);
    expect(refused.status).toBe(400);
    expect((refused.jsonBody as { problems: string[] }).problems).toEqual([expect.stringMatching(/^query parameter\(s\) dryRun, from not read: give the rerun's fields in the JSON body/)]);
    expect({ retailRequests: h.retail.requests.length, deliveries: h.emarsys.deliveries.length }).toEqual({ retailRequests: 0, deliveries: 0 });

    const withKey = new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/abandoned-carts/run?code=function-key', body: { string: '{"dryRun": true}' } });
    const response = await abandonedCartsRun(withKey, context('abandonedCartsRun').context);
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ dryRun: true, carts: { eligible: 2, notified: 0 } });
  });

  test('a body over 16 kB is a 413, by its Content-Length before it is read, or by its length when that is not given', async () => {
    const small = JSON.stringify({ dryRun: true });
    // The header alone decides: a body declared at 2 MB is refused before anything is read.
    const declared = await abandonedCartsRun(post(small, { 'content-length': String(2 * 1024 * 1024) }), context('abandonedCartsRun').context);
    // Chunked, with no Content-Length: the text read decides.
    const big = JSON.stringify({ dryRun: true, padding: 'x'.repeat(2 * 1024 * 1024) });
    const undeclared = await abandonedCartsRun(post(big), context('abandonedCartsRun').context);
    const justOver = JSON.stringify({ dryRun: true, padding: 'é'.repeat(8 * 1024) }); // over 16 kB of UTF-8 in about 8 k characters
    const overInBytes = await abandonedCartsRun(post(justOver), context('abandonedCartsRun').context);
    for (const response of [declared, undeclared, overInBytes]) {
      expect(response.status).toBe(413);
      expect(JSON.stringify(response.jsonBody)).toMatch(/^\{"error":"The request body is larger than 16 kB; .{0,80}"\}$/);
    }
    expect(h.retail.requests).toHaveLength(0);
    // Under the limit, with its Content-Length, a body is read as before.
    const fine = await abandonedCartsRun(post(small, { 'content-length': String(Buffer.byteLength(small)) }), context('abandonedCartsRun').context);
    expect(fine.status).toBe(200);
  });

  test('a 400 lists the first five unknown fields or query parameters, each cut short, and counts the rest', async () => {
    const body = Object.fromEntries([['k'.repeat(1000), 1], ...Array.from({ length: 499 }, (_, i) => [`unknown${i}`, i])]);
    const text = JSON.stringify(body);
    expect(Buffer.byteLength(text)).toBeLessThan(16 * 1024);
    const fields = await abandonedCartsRun(post(text), context('abandonedCartsRun').context);
    expect(fields.jsonBody).toEqual({
      error: 'The rerun request is not valid.',
      problems: [`unknown field(s): ${'k'.repeat(64)}…, unknown0, unknown1, unknown2, unknown3 and 495 more (allowed: from, to, dryRun)`],
    });
    const names = Array.from({ length: 8 }, (_, i) => `p${i}=1`).join('&');
    const query = await abandonedCartsRun(new HttpRequest({ method: 'POST', url: `http://localhost:7071/api/abandoned-carts/run?code=function-key&${names}` }), context('abandonedCartsRun').context);
    expect((query.jsonBody as { problems: string[] }).problems).toEqual([expect.stringMatching(/^query parameter\(s\) p0, p1, p2, p3, p4 and 3 more not read: /)]);
    expect(h.retail.requests).toHaveLength(0);
  });

  test('a bad configuration fails the timer and answers 500, naming every property at fault', async () => {
    delete process.env.RetailServerClientOptions__TenantId;
    process.env.RetailServerClientOptions__PageSize = 'lots';
    await expect(abandonedCartsTimer(timer, context('abandonedCartsTimer').context)).rejects.toThrow(
      /RetailServerClientOptions\.TenantId is required[\s\S]*RetailServerClientOptions\.PageSize must be a whole number/,
    );
    // Bad input is still a 400 naming it, before the settings are looked at: a field, or a window
    // wrong whatever the settings.
    for (const [body, message] of [
      ['{"from": "yesterday"}', /from must be an ISO-8601 date-time/],
      [`{"from": "${minutesAgo(10)}", "to": "${minutesAgo(20)}"}`, /from must be before to/],
      [`{"to": "${new Date(Date.now() + 3_600_000).toISOString()}"}`, /to is in the future/],
    ] as const) {
      const bad = await abandonedCartsRun(post(body), context('abandonedCartsRun').context);
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.jsonBody)).toMatch(message);
    }
    const response = await abandonedCartsRun(post(), context('abandonedCartsRun').context);
    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: 'The connector is not configured correctly.',
      problems: [expect.stringMatching(/^RetailServerClientOptions\.TenantId is required/), 'RetailServerClientOptions.PageSize must be a whole number'],
    });
  });

  test('GET /runs/{runId} answering 500 logs why through the invocation context, as the rerun does', async () => {
    // A handler that answers 500 returns normally, so the host records a succeeded invocation: the
    // line logged is the only trace in Application Insights of why.
    delete process.env.RetailServerClientOptions__TenantId;
    const rerun = context('abandonedCartsRun');
    expect((await abandonedCartsRun(post(), rerun.context)).status).toBe(500);
    expect(rerun.lines.join('\n')).toMatch(/^The rerun could not start .*TenantId/m);

    const runId = '00000000-0000-4000-8000-000000000000';
    const get = context('abandonedCartsGetRun');
    const response = await abandonedCartsGetRun(new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/abandoned-carts/runs/${runId}`, params: { runId } }), get.context);
    expect(response.status).toBe(500);
    expect(get.lines).toEqual([expect.stringMatching(/^The run report could not be read \{"runId":"00000000-0000-4000-8000-000000000000","error":".*TenantId is required/)]);
    for (const secret of ['retail-app-client-secret-value', 'emarsys-api-secret-value', h.cosmos.key]) expect(get.lines.join('\n')).not.toContain(secret);
  });

  test('a missing secret is reported by name, not as a crash', async () => {
    delete process.env.emarsys_secret;
    // A body of whitespace is no body: no fields, so on to the settings.
    const response = await abandonedCartsRun(post(' \n'), context('abandonedCartsRun').context);
    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: 'The connector is not configured correctly.',
      problems: [expect.stringMatching(/^EmarsysClientOptions\.ApiSecretKeyVaultSecretName: secret "emarsys-secret" was not found/)],
    });
  });
});

test('the timer\'s message for a run that sent nothing counts only the reminders the email provider failed as a whole, and quotes the top reason as the run\'s', () => {
  // One cart failed on Retail Server (its customer lookup), two on Emarsys down, the Retail Server reason the most frequent.
  const report = {
    runId: '00000000-0000-4000-8000-000000000001',
    carts: { seen: 3, eligible: 3, notified: 0, failed: 3, providerDown: 2, skipped: 0, skippedByReason: {} },
    failures: [
      { reason: 'Retail Server: the customer lookup fails', count: 2 },
      { reason: 'Emarsys HTTP 503, still failing after 5 attempts', count: 2 },
    ],
  } satisfies Pick<RunReport, 'runId' | 'carts' | 'failures'>;
  expect(providerDownMessage(report)).toBe(
    "Abandoned cart run 00000000-0000-4000-8000-000000000001 sent nothing: the email provider failed 2 of the 3 reminders that failed as a whole; the run's most frequent failure: Retail Server: the customer lookup fails; they wait for a run in which it works",
  );
  expect(providerDownMessage({ ...report, carts: { ...report.carts, notified: 1 } })).toBeUndefined();
  expect(providerDownMessage({ ...report, carts: { ...report.carts, providerDown: undefined } })).toBeUndefined();
});
