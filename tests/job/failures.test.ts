import { CosmosClient } from '@azure/cosmos';
import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { startHarness, type Harness } from '../support/harness';

const NOW = '2026-11-23T12:00:00Z';

function threeCarts() {
  return buildSimulatorData({
    customers: [customerRecord('C1'), customerRecord('C2'), customerRecord('C3')],
    products: [productRecord(1)],
    carts: ['C1', 'C2', 'C3'].map((customer, i) =>
      cartRecord({ id: `cart-${customer}`, customerId: customer, modifiedDateTime: `2026-11-23T0${5 + i}:00:00Z`, lines: [{ productId: 1 }] }),
    ),
  });
}

describe('when a dependency misbehaves', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('a contact Emarsys does not know (2008) fails alone, for good; the others are sent', async () => {
    h = await startHarness({ now: NOW, data: threeCarts(), knownContacts: ['c1@example.com', 'c3@example.com'] });
    const report = await h.run();
    expect(report.carts).toMatchObject({ eligible: 3, notified: 2, failed: 1 });
    expect(report.failures).toEqual([{ reason: expect.stringContaining('2008'), count: 1 }]);
    expect(report.failuresByDependency).toEqual({ provider: 1 });
    expect(h.emarsys.deliveries.map((d) => d.externalId)).toEqual(['c1@example.com', 'c3@example.com']);
    // A failure that retrying cannot mend is final: the checkpoint moves on and no run retries it.
    expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T11:50:00.000Z');
    const rerun = await h.run({ from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-23T11:00:00Z') });
    expect(rerun.carts).toMatchObject({ notified: 0, failed: 0, skippedByReason: { 'already-notified': 2, 'already-handled': 1 } });
  });

  test('Emarsys throttling (429) then success: every cart sent once, the retry counted', async () => {
    h = await startHarness({ now: NOW, data: threeCarts() });
    h.emarsys.failNext([{ status: 429, headers: { 'X-RateLimit-Reset': '1' } }]);
    const report = await h.run();
    expect(report.carts).toMatchObject({ notified: 3, failed: 0 });
    expect(report.retries.provider).toBe(1);
    expect(h.emarsys.deliveries).toHaveLength(3);
  });

  test('Retail Server 503 then success on each endpoint: the run completes, retries counted', async () => {
    h = await startHarness({ now: NOW, data: threeCarts() });
    for (const endpoint of ['channel', 'cartSearch', 'customers', 'products'] as const) {
      h.retail.failNext(endpoint, [{ status: 503 }]);
    }
    const report = await h.run();
    expect(report.status).toBe('completed');
    expect(report.carts.notified).toBe(3);
    expect(report.retries).toMatchObject({ channel: 1, cartSearch: 1, customers: 1, products: 1 });
  });

  test('Emarsys down for longer than the retries: carts fail retryably, the checkpoint waits, a later run sends them', async () => {
    h = await startHarness({ now: NOW, data: threeCarts() });
    h.emarsys.failNext(Array.from({ length: 4 }, () => ({ status: 503 })));
    const failed = await h.run();
    expect(failed.status).toBe('completed');
    expect(failed.carts).toMatchObject({ eligible: 3, notified: 0, failed: 3 });
    expect(failed.checkpoint?.lastModifiedAt).toBe('2026-11-23T05:00:00.000Z');
    expect(failed.checkpoint?.cartIdsAtLastModified).toBe(0);

    h.clock.advanceMinutes(30);
    const recovered = await h.run();
    expect(recovered.window.from).toBe('2026-11-23T05:00:00.000Z');
    expect(recovered.carts).toMatchObject({ notified: 3, failed: 0 });
    expect(recovered.checkpoint?.lastModifiedAt).toBe('2026-11-23T12:20:00.000Z');
    expect(h.emarsys.deliveries).toHaveLength(3);
  });

  test('Emarsys refuses the whole request (a wrong ExternalEventId): the checkpoint waits, and once it is fixed a later run sends them', async () => {
    h = await startHarness({ now: NOW, data: threeCarts() });
    const wrong = await h.run({}, { EmarsysClientOptions__ExternalEventId: '9999' });
    expect(wrong.carts).toMatchObject({ eligible: 3, notified: 0, failed: 3 });
    // The reason names the setting to fix, as doctor's check of the event does: the report and the
    // timer's message are all an operator has of a scheduled run.
    expect(wrong.failures).toEqual([
      {
        reason:
          'Emarsys rejected the request: HTTP 400, replyCode 6003 "Invalid event id: 9999"; EmarsysClientOptions.ExternalEventId must be the id of an external event of this account, the one your automation program or email starts on',
        count: 3,
      },
    ]);
    expect(wrong.checkpoint?.lastModifiedAt).toBe('2026-11-23T05:00:00.000Z');

    h.clock.advanceMinutes(30);
    const fixed = await h.run();
    expect(fixed.window.from).toBe('2026-11-23T05:00:00.000Z');
    expect(fixed.carts).toMatchObject({ notified: 3, failed: 0 });
    expect(h.emarsys.deliveries.map((d) => d.externalId)).toEqual(['c1@example.com', 'c2@example.com', 'c3@example.com']);
  });

  test('a ledger record this version cannot read (a newer status): its cart counts as handled, and the checkpoint moves on', async () => {
    h = await startHarness({ now: NOW, data: threeCarts() });
    await (await h.ledger()).getCheckpoint('128', 1); // the container exists
    const settings = h.settings();
    const client = new CosmosClient({ endpoint: h.cosmos.endpoint, key: h.cosmos.key });
    try {
      const id = notificationId('cart-C1', new Date('2026-11-23T05:00:00Z'));
      await client.database(settings.cosmos.databaseId).container(settings.cosmos.containerId).items.create({ id, pk: id, type: 'notification', status: 'queued', cartId: 'cart-C1' });
    } finally {
      client.dispose();
    }
    const dryRun = await h.run({ dryRun: true });
    expect(dryRun.carts).toMatchObject({ eligible: 2, skippedByReason: { 'already-handled': 1 } });
    const report = await h.run();
    expect(report.carts).toMatchObject({ eligible: 2, notified: 2, failed: 0, skippedByReason: { 'already-handled': 1 } });
    expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T11:50:00.000Z');
    expect(h.emarsys.deliveries.map((d) => d.externalId)).toEqual(['c2@example.com', 'c3@example.com']);
  });

  test('Retail Server down: the run fails with a report that says so, and leaves the checkpoint alone', async () => {
    h = await startHarness({ now: NOW, data: threeCarts() });
    // The survey starts with the window's first page, tried 4 times: 4 failed searches end the run.
    h.retail.failNext('cartSearch', Array.from({ length: 4 }, () => ({ status: 500 })));
    const report = await h.run();
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/Carts\/Search/);
    expect(report.checkpoint).toBeUndefined();
    const next = await h.run();
    expect(next.status).toBe('completed');
    expect(next.carts.notified).toBe(3);
  });

  describe('a failure text that names the contact: no part of the address reaches the report, the logs or the ledger', () => {
    // An apostrophe is an ordinary character of a mailbox name; the redaction once split words on
    // it (and on quotes and parentheses), and "sean.o'" survived with the customer's name in it.
    const email = "sean.o'brien@example.com";
    const modifiedAt = '2026-11-23T10:00:00Z';
    const start = () =>
      startHarness({
        now: NOW,
        data: buildSimulatorData({
          customers: [customerRecord('C1', { Email: email })],
          products: [productRecord(1)],
          carts: [cartRecord({ id: 'cart-1', customerId: 'C1', modifiedDateTime: modifiedAt, lines: [{ productId: 1 }] })],
        }),
      });
    async function everythingWritten(report: unknown): Promise<string> {
      const reads = await (await h.ledger()).getNotifications([notificationId('cart-1', new Date(modifiedAt))]);
      return [JSON.stringify(report), ...h.logs.map((record) => JSON.stringify(record)), JSON.stringify([...reads.values()])].join('\n');
    }

    test('Emarsys refusing the request', async () => {
      h = await start();
      h.emarsys.failNext([{ status: 400, replyCode: 10001, replyText: `Invalid contact ${email}` }]);
      const report = await h.run();
      expect(report.carts.failed).toBe(1);
      const written = await everythingWritten(report);
      expect(written).toContain('Invalid contact <email>');
      expect(written).not.toContain("sean.o'");
      expect(written).not.toContain('brien@');
    });

    test('Retail Server refusing the customer lookup', async () => {
      h = await start();
      h.retail.failNext('customers', Array.from({ length: 10 }, () => ({ status: 400, body: JSON.stringify({ error: { code: 'BadRequest', message: `Customer ${email} is locked` } }) })));
      const report = await h.run();
      const written = await everythingWritten(report);
      expect(written).toContain('Customer <email> is locked');
      expect(written).not.toContain("sean.o'");
      expect(written).not.toContain('brien@');
    });
  });

  test('malformed records are skipped and counted; the good ones go out', async () => {
    const data = threeCarts();
    data.carts.push(
      { Id: 'broken-lines', CustomerId: 'C1', ModifiedDateTime: '2026-11-23T09:00:00Z', CartTypeValue: 1, CartLines: 'nope' },
      { Id: 'no-lines-at-all', CustomerId: 'C2', ModifiedDateTime: '2026-11-23T09:30:00Z', CartTypeValue: 1, CartLines: [{ ProductId: -5 }] },
      // An id that in the return-to-cart link's path would lead to another page of the shop.
      { Id: '..', CustomerId: 'C1', ModifiedDateTime: '2026-11-23T09:40:00Z', CartTypeValue: 1, CartLines: [{ ProductId: 1, Quantity: 1 }] },
      { Id: 'dot-customer', CustomerId: '.', ModifiedDateTime: '2026-11-23T09:50:00Z', CartTypeValue: 1, CartLines: [{ ProductId: 1, Quantity: 1 }] },
    );
    data.products.push({ RecordId: 'not-a-number' });
    h = await startHarness({ now: NOW, data });
    const report = await h.run();
    expect(report.status).toBe('completed');
    expect(report.carts.skippedByReason['invalid-record']).toBe(3);
    expect(report.carts.skippedByReason['no-active-lines']).toBe(1);
    // One line for the page's records that do not parse, counted by reason: the two dot segments among them.
    const skipped = h.logs.filter((record) => record.message === 'Skipped cart records that do not parse');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.fields).toMatchObject({ count: 3, samples: ['broken-lines', '..', 'dot-customer'] });
    expect(Object.keys(skipped[0]?.fields.byReason as object).filter((reason) => /leads? to another page/.test(reason))).toHaveLength(2);
    expect(report.lines.droppedByReason['invalid-line']).toBe(1);
    expect(report.invalidRecords.products).toBe(0);
    expect(report.carts.notified).toBe(3);
  });

  test('a cart whose Id or CustomerId holds half of a surrogate pair is an invalid record, not a page that fails at every run', async () => {
    // encodeURIComponent throws on a lone surrogate: building its return-to-cart link failed the run.
    const data = threeCarts();
    data.customers.push(customerRecord('C\ud800'));
    data.carts.push(
      cartRecord({ id: 'cart-\udfff', customerId: 'C1', modifiedDateTime: '2026-11-23T09:10:00Z', lines: [{ productId: 1 }] }),
      cartRecord({ id: 'cart-4', customerId: 'C\ud800', modifiedDateTime: '2026-11-23T09:20:00Z', lines: [{ productId: 1 }] }),
    );
    h = await startHarness({ now: NOW, data, env: { RetailServerClientOptions__ReturnToCartUrl: 'https://shop.contoso.com/{customerId}/cart?cartId={cartId}' } });
    const report = await h.run();
    expect(report.error).toBeUndefined();
    expect(report.status).toBe('completed');
    expect(report.carts).toMatchObject({ notified: 3, skippedByReason: { 'invalid-record': 2 } });
    const skipped = h.logs.find((record) => record.message === 'Skipped cart records that do not parse');
    expect(Object.keys(skipped?.fields.byReason as object).sort()).toEqual(['CustomerId holds half of a surrogate pair, which no link can encode', 'Id holds half of a surrogate pair, which no link can encode']);
    expect(report.checkpoint?.lastModifiedAt).toBe('2026-11-23T11:50:00.000Z');
  });
});
