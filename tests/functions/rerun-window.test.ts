import { HttpRequest, InvocationContext } from '@azure/functions';
import { parseRerunRequest } from '../../src/job/rerun-request';
import { abandonedCartsRun } from '../../src/functions/abandoned-carts-run';
import { disposeRuntimes } from '../../src/runtime/create-dependencies';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * A manual rerun's window is checked before the run: not further back than
 * AzureCosmosOptions.TimeToLiveDays however it is given, and dates that are real dates. Bad input
 * is a 400 (CLI: exit 2) naming what is wrong, never a failed run.
 */
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

function context(): InvocationContext {
  return new InvocationContext({ functionName: 'abandonedCartsRun', invocationId: 'review', logHandler: () => undefined });
}

function post(body: unknown): HttpRequest {
  return new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/abandoned-carts/run', body: { string: JSON.stringify(body) } });
}

describe('HTTP rerun window validation', () => {
  let h: Harness;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [customerRecord('C1')],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'old-cart', customerId: 'C1', modifiedDateTime: daysAgo(100), lines: [{ productId: 1 }] })],
      }),
    });
    process.env = { ...savedEnv, ...h.env, ...h.secretsEnv };
  });
  afterEach(async () => {
    process.env = { ...savedEnv };
    await disposeRuntimes();
    await h.close();
  });

  test('a rerun giving only a "to" older than TimeToLiveDays (90) is a 400, as one giving such a "from" is', async () => {
    // With a "from" 100 days back the handler answers 400 (the ledger no longer knows those carts).
    const withFrom = await abandonedCartsRun(post({ from: daysAgo(100), to: daysAgo(99) }), context());
    expect(withFrom.status).toBe(400);

    // The same stretch asked for with only "to": the window is [to - (Include - Exclude), to],
    // entirely older than the ledger's records, so its carts would be reminded again. It is bad
    // input too (once, the job refused it: a 500 and a failed run stored, not a 400 naming it).
    const onlyTo = await abandonedCartsRun(post({ to: daysAgo(99.9) }), context());
    expect(h.emarsys.deliveries).toHaveLength(0);
    expect({ status: onlyTo.status, runStatus: (onlyTo.jsonBody as { status?: string }).status }).toEqual({ status: 400, runStatus: undefined });
    expect((onlyTo.jsonBody as { problems?: string[] }).problems).toEqual([expect.stringMatching(/^without from, the window starts .*TimeToLiveDays \(90\).*or a later to$/)]);
  });

  test('a rerun giving only a "to" whose window (Include minus Exclude before it) spans more than 31 days is a 400, as one giving both is', async () => {
    process.env.RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes = String(60 * 24 * 60);
    const both = await abandonedCartsRun(post({ from: daysAgo(60), to: daysAgo(0.1), dryRun: true }), context());
    expect((both.jsonBody as { problems?: string[] }).problems).toEqual(['the window may span at most 31 days; split a longer rerun into several']);
    // Once, only "to" gave the whole 60-day Include window in one rerun.
    const onlyTo = await abandonedCartsRun(post({ to: daysAgo(0.1), dryRun: true }), context());
    expect({ status: onlyTo.status, problems: (onlyTo.jsonBody as { problems?: string[] }).problems }).toEqual({
      status: 400,
      problems: [expect.stringMatching(/^without from, the window starts .* \(to minus Include minus Exclude minutes\), and the window may span at most 31 days; split a longer rerun into several, each with its from$/)],
    });
    expect(h.retail.requests).toHaveLength(0);
  });

  test('a from-only rerun spanning 30.5 days to now minus a day of Exclude is accepted: the check before the settings judges fields, not the window', async () => {
    process.env.RetailServerClientOptions__ExcludeAbandonedCartsModifiedSinceLastMinutes = '1440';
    process.env.RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes = '2880';
    // [31.5 days ago, 1 day ago]: 30.5 days, within the 31 allowed (a check with Exclude 0 saw 31.5).
    const response = await abandonedCartsRun(post({ from: daysAgo(31.5), dryRun: true }), context());
    expect({ status: response.status, problems: (response.jsonBody as { problems?: string[] }).problems }).toEqual({ status: 200, problems: undefined });
  });

  test('an impossible calendar date (November 31) is a 400, not silently moved to December 1', async () => {
    // Last year's November, within a ledger that keeps its records ten years, so nothing else is wrong.
    process.env.AzureCosmosOptions__TimeToLiveDays = '3650';
    const year = new Date().getUTCFullYear() - 1;
    const response = await abandonedCartsRun(post({ from: `${year}-11-30T00:00:00Z`, to: `${year}-11-31T00:00:00Z`, dryRun: true }), context());
    // Date.parse alone would take it, as December 1.
    expect(response.status).toBe(400);
    expect((response.jsonBody as { problems?: string[] }).problems).toEqual(['to is not a real date and time of day']);
  });
});

describe('CLI rerun window validation', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ now: 'live', data: buildSimulatorData({ customers: [], products: [], carts: [] }) });
  });
  afterEach(async () => {
    await h.close();
  });

  test('run --to older than TimeToLiveDays, without --from, exits 2 (bad arguments), as --from does', async () => {
    const { runCli, EXIT } = await import('../../src/cli/main');
    const { fastRetry } = await import('../support/harness');
    const run = async (args: string[]) => {
      let stderr = '';
      const code = await runCli(args, {
        stdout: () => undefined,
        stderr: (text) => (stderr += text),
        env: { ...h.env, ...h.secretsEnv },
        runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
      });
      return { code, stderr };
    };
    expect((await run(['run', '--from', daysAgo(100), '--to', daysAgo(99)])).code).toBe(EXIT.usage);
    // Not exit 1, "the run failed", with a failed run stored in the ledger.
    expect((await run(['run', '--to', daysAgo(99.9)])).code).toBe(EXIT.usage);
  });

  test('run --to alone exits 2 when the window it implies (Include minus Exclude before it) spans more than 31 days', async () => {
    const { runCli, EXIT } = await import('../../src/cli/main');
    let stderr = '';
    const code = await runCli(['run', '--dry-run', '--json', '--to', daysAgo(0.1)], {
      stdout: () => undefined,
      stderr: (text) => (stderr += text),
      env: { ...h.env, ...h.secretsEnv, RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: String(60 * 24 * 60) },
    });
    expect({ code, stderr }).toEqual({ code: EXIT.usage, stderr: expect.stringMatching(/^Invalid arguments:\n {2}- without from, the window starts .*at most 31 days/) });
    expect(h.retail.requests).toHaveLength(0);
  });
});

describe('rerun dates', () => {
  const now = new Date('2028-06-01T00:00:00Z');
  const problemsOf = (from: string) => {
    const parsed = parseRerunRequest({ from, to: '2028-05-31T00:00:00Z' }, now);
    return parsed.ok ? [] : parsed.problems;
  };
  test('are real calendar dates and times of day, in any time zone', () => {
    expect(problemsOf('2028-02-29T00:00:00Z')).toEqual(['the window may span at most 31 days; split a longer rerun into several']);
    expect(problemsOf('2028-05-30T23:59:59.999+05:30')).toEqual([]);
    expect(problemsOf('2027-02-29T00:00:00Z')).toEqual(['from is not a real date and time of day']);
    expect(problemsOf('2028-05-30T24:00:00Z')).toEqual(['from is not a real date and time of day']);
    expect(problemsOf('2028-05-30T10:60:00Z')).toEqual(['from is not a real date and time of day']);
    expect(problemsOf('2028-13-01T00:00:00Z')).toEqual(['from is not a real date and time of day']);
  });
  test('written with a lowercase t and z (RFC 3339 allows them) are the same instants, not "not a real date"', () => {
    const lower = parseRerunRequest({ from: '2028-05-30t10:00:00z', to: '2028-05-31t00:00:00+05:30' }, now);
    expect(lower.ok).toBe(true);
    expect(lower).toEqual(parseRerunRequest({ from: '2028-05-30T10:00:00Z', to: '2028-05-31T00:00:00+05:30' }, now));
    expect(problemsOf('2027-02-29t00:00:00z')).toEqual(['from is not a real date and time of day']);
  });
});
