import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, runCli } from '../../src/cli/main';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { fastRetry, startHarness, type Harness } from '../support/harness';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

/** `abandoned-carts preview` must say what a run would do with the same cart. */
describe('preview of a guest cart whose CustomerId is blank (spaces)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({
        customers: [],
        products: [productRecord(1)],
        carts: [cartRecord({ id: 'guest-cart', customerId: '  ', receiptEmail: 'guest@example.net', modifiedDateTime: minutesAgo(30), lines: [{ productId: 1 }] })],
      }),
    });
  });
  afterEach(() => h.close());

  const cli = async (args: string[]) => {
    let stdout = '';
    const code = await runCli(args, {
      stdout: (text) => (stdout += text),
      stderr: () => undefined,
      env: { ...h.env, ...h.secretsEnv, RetailServerClientOptions__IncludeAnonymous: 'true' },
      isTTY: false,
      runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
    });
    return { code, stdout };
  };

  test('a run reminds the guest at the receipt email; preview renders that reminder too', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cli-preview-'));
    const preview = await cli(['preview', '--cart', 'guest-cart', '--out', out]);
    const run = await cli(['run', '--json']);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'completed', carts: { notified: 1 } });
    expect(h.emarsys.deliveries).toHaveLength(1);
    // Not "a run would skip it: customer-not-found", as the preview once said.
    expect(preview.stdout).not.toMatch(/would skip/);
    expect(preview.code).toBe(EXIT.ok);
  });
});

describe('preview of a cart with a line Retail Server sent unreadable', () => {
  let h: Harness;
  beforeEach(async () => {
    const cart = cartRecord({ id: 'cart-1', customerId: 'C1', modifiedDateTime: minutesAgo(30), lines: [{ productId: 1 }, { productId: 2 }] });
    const lines = cart.CartLines as Record<string, unknown>[];
    lines[1] = { ...lines[1], Quantity: 'two' };
    h = await startHarness({
      now: 'live',
      data: buildSimulatorData({ customers: [customerRecord('C1')], products: [productRecord(1), productRecord(2)], carts: [cart] }),
    });
  });
  afterEach(() => h.close());

  test('says the line was dropped, as the run report counts it', async () => {
    let stdout = '';
    const io = {
      stdout: (text: string) => (stdout += text),
      stderr: () => undefined,
      env: { ...h.env, ...h.secretsEnv },
      isTTY: false,
      runtime: { retryPolicy: fastRetry, sleep: async () => undefined },
    };
    const out = mkdtempSync(join(tmpdir(), 'cli-preview-'));
    expect(await runCli(['preview', '--cart', 'cart-1', '--out', out], io)).toBe(EXIT.ok);
    const preview = stdout;
    stdout = '';
    await runCli(['run', '--json', '--dry-run'], io);
    expect(JSON.parse(stdout).lines).toMatchObject({ dropped: 1, droppedByReason: { 'invalid-line': 1 } });
    expect(preview).toMatch(/^Cart cart-1: 1 product\(s\) \(1 line\(s\) dropped: invalid-line\)$/m);
  });
});
