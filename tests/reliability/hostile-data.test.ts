import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SKIP_REASONS, type RunReport, type SkipReason } from '../../src/job/report';
import { runAbandonedCartJob } from '../../src/job/run-abandoned-cart-job';
import type { IEmailProvider, Notification } from '../../src/providers/email-provider';
import { createPreviewProvider } from '../../src/providers/preview';
import { createJobDependencies, disposeRuntimes } from '../../src/runtime/create-dependencies';
import { silentLogger } from '../../src/shared/logger';
import { buildSimulatorData, cartRecord, customerRecord, productRecord, type SimulatorData } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { writeArtifact } from '../support/artifacts';
import { fastRetry, startHarness, type Harness } from '../support/harness';
import { hostileStore, renderableStore, GENERATED_MARKUP, NOW, WINDOW, type HostileStore } from '../support/hostile-records';
import { allowedStructure, markupProblems } from '../support/html-safety';
import { notificationSchema } from '../support/payload-schema';
import { traceProblems } from '../support/trace-payload';

/**
 * Hostile data (issue 5): property-based runs of the real job over a Retail Server whose carts,
 * lines, customers and products are generated to be as wrong as JSON allows (see
 * tests/support/hostile-records.ts), with the email *preview* as the provider so that what would
 * be sent is also rendered to HTML. For every generated store:
 * - the run completes; it never throws;
 * - every cart seen ends in exactly one tally (seen = eligible + skipped, eligible = notified +
 *   failed), each skip under a documented reason;
 * - every payload passes the documented schema and traces back to the records it came from;
 * - every well-formed control cart is reminded, exactly as it is;
 * - no generated text becomes markup in the preview HTML.
 * Seeded and bounded (HOSTILE_RUNS, HOSTILE_SEED), so it is deterministic and stays fast.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 20261123);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 40);
const RENDER_RUNS = Number(process.env.HOSTILE_RENDER_RUNS ?? 30);



/** What one property ran through the job: records generated (by kind), carts reminded, skips by reason. */
interface PropertyFigures {
  runs: number;
  carts: number;
  customers: number;
  products: number;
  controls: number;
  notified: number;
  linesDropped: number;
  skippedByReason: Record<string, number>;
  kinds: Record<string, number>;
}

interface Outcome {
  report: RunReport;
  notifications: Notification[];
  html: { file: string; content: string }[];
}

describe('hostile data from Retail Server', () => {
  let h: Harness;
  let runNumber = 0;
  const allowed = allowedStructure();
  const totals: Record<string, PropertyFigures> = {};

  beforeAll(async () => {
    h = await startHarness({ now: new Date(NOW).toISOString(), env: { RetailServerClientOptions__IncludeAnonymous: 'true', RetailServerClientOptions__PageSize: '10' } });
  });
  afterAll(async () => {
    writeArtifact('reliability-hostile', { seed: SEED, properties: totals });
    await h.close();
  });

  /** One run of the real job over `data`, in a fresh ledger, with the preview writing to a fresh folder. */
  async function runOver(data: SimulatorData): Promise<Outcome> {
    h.retail.data = data;
    const outDir = mkdtempSync(join(tmpdir(), 'hostile-preview-'));
    const preview = createPreviewProvider({ outDir, logger: silentLogger, clock: h.clock });
    const notifications: Notification[] = [];
    // The preview, observed: each batch is kept as the job handed it over.
    const provider: IEmailProvider = {
      name: preview.name,
      stats: () => preview.stats(),
      send: async (batch) => {
        notifications.push(...batch);
        return preview.send(batch);
      },
    };
    try {
      const deps = await createJobDependencies({
        settings: h.settings({ AzureCosmosOptions__DatabaseId: `hostile-${SEED}-${++runNumber}` }),
        env: h.secretsEnv,
        logger: silentLogger,
        clock: h.clock,
        retryPolicy: fastRetry,
        sleep: async () => undefined,
        provider,
      });
      const report = await runAbandonedCartJob(deps, { trigger: 'cli' });
      const html = readdirSync(outDir)
        .filter((file) => file.endsWith('.html'))
        .map((file) => ({ file, content: readFileSync(join(outDir, file), 'utf8') }));
      return { report, notifications, html };
    } finally {
      await disposeRuntimes();
      rmSync(outDir, { recursive: true, force: true });
    }
  }

  /** Everything that must hold for any store; returns what does not. */
  function problemsOf(store: HostileStore, { report, notifications, html }: Outcome): string[] {
    const problems: string[] = [];
    const { carts } = report;
    if (report.status !== 'completed') problems.push(`status ${report.status}: ${report.error ?? ''}`);
    if (carts.seen !== carts.eligible + carts.skipped) problems.push(`seen ${carts.seen} != eligible ${carts.eligible} + skipped ${carts.skipped}`);
    if (carts.eligible !== carts.notified + carts.failed) problems.push(`eligible ${carts.eligible} != notified ${carts.notified} + failed ${carts.failed}`);
    const bySum = Object.values(carts.skippedByReason).reduce((sum, n) => sum + (n ?? 0), 0);
    if (bySum !== carts.skipped) problems.push(`skipped ${carts.skipped} != sum by reason ${bySum}`);
    for (const reason of Object.keys(carts.skippedByReason)) if (!SKIP_REASONS.includes(reason as SkipReason)) problems.push(`undocumented skip reason ${reason}`);
    if (carts.failed !== 0) problems.push(`${carts.failed} failed: ${JSON.stringify(report.failures)}`);

    if (notifications.length !== carts.notified) problems.push(`${notifications.length} notifications sent, report says ${carts.notified}`);
    if (new Set(notifications.map((n) => n.triggerId)).size !== notifications.length) problems.push('a trigger id was sent twice');
    for (const notification of notifications) {
      const parsed = notificationSchema.safeParse(notification);
      if (!parsed.success) problems.push(`invalid payload: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
      problems.push(...traceProblems(notification, store.data, WINDOW));
    }
    for (const control of store.controls) {
      const sent = notifications.find((n) => n.triggerId === notificationId(control.cartId, new Date(control.modifiedAt)));
      if (!sent) {
        problems.push(`control cart ${control.cartId} was not reminded`);
        continue;
      }
      const lines = sent.data.orderDetails.map((d) => [d.productId, d.quantity, d.unitPrice]);
      const expected = control.lines.map((l) => [String(l.productId), String(l.quantity), String(l.price)]);
      if (sent.email !== control.email || JSON.stringify(lines) !== JSON.stringify(expected)) {
        problems.push(`control cart ${control.cartId} was sent as ${JSON.stringify({ email: sent.email, lines })}`);
      }
    }
    if (html.filter((f) => f.file !== 'index.html').length !== notifications.length) problems.push(`${html.length} HTML files for ${notifications.length} emails`);
    for (const { file, content } of html) {
      for (const problem of markupProblems(content, allowed, GENERATED_MARKUP)) problems.push(`${file}: ${problem}`);
    }
    return problems;
  }

  function tally(property: string, store: HostileStore, outcome: Outcome): void {
    const figures = (totals[property] ??= { runs: 0, carts: 0, customers: 0, products: 0, controls: 0, notified: 0, linesDropped: 0, skippedByReason: {}, kinds: {} });
    figures.runs++;
    figures.carts += store.data.carts.length;
    figures.customers += store.data.customers.length;
    figures.products += store.data.products.length;
    figures.controls += store.controls.length;
    figures.notified += outcome.report.carts.notified;
    figures.linesDropped += outcome.report.lines.dropped;
    for (const [kind, n] of Object.entries(store.kinds)) figures.kinds[kind] = (figures.kinds[kind] ?? 0) + n;
    for (const [reason, n] of Object.entries(outcome.report.carts.skippedByReason)) figures.skippedByReason[reason] = (figures.skippedByReason[reason] ?? 0) + (n ?? 0);
  }

  /** Runs `RUNS` generated stores through the job and every check; on failure, names the seed and path to replay. */
  async function checkProperty(name: string, stores: fc.Arbitrary<HostileStore>, runs: number): Promise<void> {
    // fc.check rather than fc.assert: a counterexample holds 100 KB strings, so the failure
    // names the seed and path to replay and what went wrong, not the whole store.
    const details = await fc.check(
      fc.asyncProperty(stores, async (store) => {
        let outcome: Outcome;
        try {
          outcome = await runOver(store.data);
        } catch (error) {
          throw new Error(`the run threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, { cause: error });
        }
        tally(name, store, outcome);
        const problems = problemsOf(store, outcome);
        if (problems.length > 0) throw new Error(`${problems.slice(0, 10).join('\n')}\nreport: ${JSON.stringify(outcome.report.carts)}`);
      }),
      { seed: SEED, numRuns: runs, endOnFailure: true },
    );
    if (details.failed) {
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`${name}: failed after ${details.numRuns} run(s); replay with seed ${details.seed}, path "${details.counterexamplePath ?? ''}":\n${cause}`);
    }
  }

  test('the checks themselves catch what they look for: raw markup, a new attribute, a zero quantity', () => {
    expect(markupProblems(`<p>${GENERATED_MARKUP[1]}</p>`, allowed, GENERATED_MARKUP)).toEqual(
      expect.arrayContaining([expect.stringMatching(/attribute onerror=/), expect.stringMatching(/generated markup as written/)]),
    );
    expect(markupProblems('<p>&lt;script&gt;alert(&quot;cart&quot;)&lt;/script&gt;</p>', allowed, GENERATED_MARKUP)).toEqual([]);
    const line = { productId: '1', productName: 'x', productImage: { altText: '', viewPortImages: [] }, quantity: '0', unitPrice: '1e+21' };
    const payload = { triggerId: `cart-${'0'.repeat(40)}`, email: 'a@b.co', data: { firstName: '', lastName: '', email: 'a@b.co', language: 'en-us', currency: 'USD', returnToCartUrl: 'https://x.example/c', cartId: 'c', orderDetails: [line] } };
    const issues = notificationSchema.safeParse(payload).error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(issues).toEqual(['data.orderDetails.0.quantity', 'data.orderDetails.0.unitPrice']);
  });

  test('everything at once: 3000 live lines, 100 KB of markup in every name, the id and the image', async () => {
    const huge = `${GENERATED_MARKUP.join('')}${'\u{1F6D2}<'.repeat(30_000)}`.slice(0, 100_000);
    const markup = GENERATED_MARKUP.join(' ');
    // The lines' own texts stay at a few hundred characters: 3000 lines of 100 KB are 300 MB.
    const lines = Array.from({ length: 3_000 }, (_, i) => ({
      LineId: markup,
      ProductId: (i % 12) + 1,
      ItemId: markup,
      Quantity: (i % 4) + 0.5,
      Price: i % 7,
      IsVoided: false,
      Description: markup,
    }));
    const data = buildSimulatorData({
      customers: [customerRecord('BIG', { FirstName: huge, LastName: huge, Language: huge, Email: 'big@example.com' })],
      products: Array.from({ length: 12 }, (_, i) =>
        productRecord(i + 1, { ProductName: huge, Image: { Items: [{ Url: `${huge}"onerror="alert(1)`, AltText: huge }] } }),
      ),
      carts: [{ Id: huge, CustomerId: 'BIG', ModifiedDateTime: new Date(WINDOW.to - 60_000).toISOString(), CartTypeValue: 1, CartLines: lines }],
    });
    const outcome = await runOver(data);
    expect(problemsOf({ data, controls: [], kinds: {} }, outcome)).toEqual([]);
    expect(outcome.report.carts).toMatchObject({ seen: 1, notified: 1 });
    expect(outcome.notifications[0]?.data.orderDetails).toHaveLength(3_000);
  });

  test('a customer returned twice does not crowd another customer out of the same lookup', async () => {
    const data = buildSimulatorData({
      customers: [customerRecord('A'), customerRecord('A', { FirstName: 'Again' }), customerRecord('B')],
      products: [productRecord(1)],
      carts: ['A', 'B'].map((id, i) =>
        cartRecord({ id: `cart-${id}`, customerId: id, modifiedDateTime: new Date(WINDOW.to - (i + 1) * 60_000).toISOString(), lines: [{ productId: 1 }] }),
      ),
    });
    const { report, notifications } = await runOver(data);
    // Customers/GetByAccountNumbers is asked for $top=2 and answers A, A: B is asked for again.
    expect(notifications.map((n) => n.data.cartId).sort()).toEqual(['cart-A', 'cart-B']);
    expect(report.carts.skippedByReason).toEqual({});
  });

  test('quantities and prices that no decimal string can carry drop their line, not the cart', async () => {
    const at = new Date(WINDOW.to - 60_000).toISOString();
    const lines = [
      { ProductId: 1, Quantity: 1e-300, Price: 5 },
      { ProductId: 1, Quantity: 1e21, Price: 5 },
      { ProductId: 1, Quantity: 2, Price: 1e25 },
      { ProductId: 1, Quantity: 2, Price: 1e-9 },
    ];
    const data = buildSimulatorData({
      customers: [customerRecord('C1')],
      products: [productRecord(1)],
      carts: [{ Id: 'odd-amounts', CustomerId: 'C1', ModifiedDateTime: at, CartTypeValue: 1, CartLines: lines }],
    });
    const { report, notifications } = await runOver(data);
    expect(report.lines.droppedByReason).toEqual({ 'invalid-quantity': 2, 'invalid-price': 1 });
    // A price below Commerce's six decimals is a price of 0, which is a valid price.
    expect(notifications[0]?.data.orderDetails.map((d) => [d.quantity, d.unitPrice])).toEqual([['2', '0']]);
  });

  // Two records of one cart at one ModifiedDateTime share a notification id: the first decides,
  // the second is counted as a duplicate record (it used to make the run drop its own claim).
  test('a cart returned twice in one page is reminded once', async () => {
    const cart = cartRecord({ id: 'twice', customerId: 'C1', modifiedDateTime: new Date(WINDOW.to - 60_000).toISOString(), lines: [{ productId: 1 }] });
    const data = buildSimulatorData({ customers: [customerRecord('C1')], products: [productRecord(1)], carts: [cart, { ...cart }] });
    const { notifications } = await runOver(data);
    expect(notifications.map((n) => n.data.cartId)).toEqual(['twice']);
  });

  // The customer lookup matches account numbers ignoring case and padding, and so does the
  // one-reminder-per-customer key.
  test('carts naming one account in different letter case get one reminder', async () => {
    const data = buildSimulatorData({
      customers: [customerRecord('C1')],
      products: [productRecord(1)],
      carts: ['C1', 'c1'].map((customerId, i) =>
        cartRecord({ id: `cart-${i}`, customerId, modifiedDateTime: new Date(WINDOW.to - (2 - i) * 60_000).toISOString(), lines: [{ productId: 1 }] }),
      ),
    });
    const { notifications } = await runOver(data);
    expect(notifications.map((n) => n.data.cartId)).toEqual(['cart-1']);
  });

  test(
    `${RUNS} stores of hostile records: the run completes, counts every cart once, sends only valid data, and reminds every control cart`,
    () => checkProperty('hostile records', hostileStore, RUNS),
    120_000,
  );

  test(
    `${RENDER_RUNS} stores of hostile text in well-formed carts: payloads stay valid and the preview shows every text as text`,
    () => checkProperty('hostile text', renderableStore, RENDER_RUNS),
    120_000,
  );
});
