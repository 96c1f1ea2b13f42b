import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { notificationId } from '../../src/store/ledger';
import { EMARSYS_SECRET, RETAIL_CLIENT_SECRET, startHarness, type Harness } from '../support/harness';

/**
 * The connector end to end against the stand-ins: the real MSAL, axios, Cosmos and Emarsys code
 * paths, one window, exact outcomes. Now is 12:00; the default window is 03:40 to 11:50.
 */
const NOW = '2026-11-23T12:00:00Z';

function seed() {
  return buildSimulatorData({
    customers: [
      customerRecord('C001', { FirstName: 'Ann', LastName: 'Lee', Email: 'ann@example.com', Language: 'de-de' }),
      customerRecord('C002', { FirstName: 'Bo', LastName: 'Ng', Email: 'bo@example.com', Language: null }),
      customerRecord('C003', { Email: '' }),
      customerRecord('C005', { FirstName: 'Eve', LastName: 'Ray', Email: 'eve@example.com' }),
    ],
    products: [
      productRecord(101, { ProductName: 'Linen shirt', Price: 49.5, Image: { Items: [{ Url: 'Products/SHIRT_000_001.png', AltText: 'A linen shirt' }] } }),
      productRecord(102, { ProductName: 'Socks', Price: 5, Image: { Items: [{ Url: 'https://cdn.contoso.com/socks.png', AltText: null }] } }),
    ],
    carts: [
      cartRecord({ id: 'cart-ann', customerId: 'C001', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 101, quantity: 2, price: 44.9 }, { productId: 102, quantity: 1.5, price: 5 }] }),
      cartRecord({ id: 'cart-bo', customerId: 'C002', modifiedDateTime: '2026-11-23T10:00:00Z', lines: [{ productId: 102, quantity: 3, price: 4.25 }, { productId: 999, quantity: 1 }] }),
      cartRecord({ id: 'cart-no-email', customerId: 'C003', modifiedDateTime: '2026-11-23T10:01:00Z', lines: [{ productId: 101 }] }),
      cartRecord({ id: 'cart-unknown-customer', customerId: 'C404', modifiedDateTime: '2026-11-23T10:02:00Z', lines: [{ productId: 101 }] }),
      cartRecord({ id: 'cart-only-missing-product', customerId: 'C005', modifiedDateTime: '2026-11-23T10:03:00Z', lines: [{ productId: 998 }] }),
      cartRecord({ id: 'cart-voided', customerId: 'C001', modifiedDateTime: '2026-11-23T10:04:00Z', lines: [{ productId: 101, isVoided: true }] }),
      cartRecord({ id: 'cart-anon-email', modifiedDateTime: '2026-11-23T10:05:00Z', receiptEmail: 'guest@example.com', lines: [{ productId: 101 }] }),
      cartRecord({ id: 'cart-anon-no-email', modifiedDateTime: '2026-11-23T10:06:00Z', lines: [{ productId: 101 }] }),
      cartRecord({ id: 'cart-too-recent', customerId: 'C005', modifiedDateTime: '2026-11-23T11:55:00Z', lines: [{ productId: 101 }] }),
      cartRecord({ id: 'cart-too-old', customerId: 'C005', modifiedDateTime: '2026-11-23T03:00:00Z', lines: [{ productId: 101 }] }),
      cartRecord({ id: 'cart-wishlist', customerId: 'C005', modifiedDateTime: '2026-11-23T10:07:00Z', cartTypeValue: 2, lines: [{ productId: 101 }] }),
    ],
  });
}

describe('a first run', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ data: seed(), now: NOW });
  });
  afterEach(() => h.close());

  test('notifies every eligible cart once, with the data the sample template expects', async () => {
    const report = await h.run();

    expect(report.status).toBe('completed');
    expect(report.window).toEqual({ from: '2026-11-23T03:40:00.000Z', to: '2026-11-23T11:50:00.000Z', source: 'include-minutes' });
    expect(report.carts).toEqual({
      // Retail Server leaves out the anonymous carts (IncludeAnonymous is off) and the wish list.
      seen: 6,
      eligible: 2,
      notified: 2,
      failed: 0,
      skipped: 4,
      skippedByReason: {
        'customer-not-found': 1,
        'customer-without-email': 1,
        'no-active-lines': 1,
        'no-products-found': 1,
      },
    });
    expect(report.lines).toEqual({ dropped: 2, droppedByReason: { 'product-not-found': 2 } });

    const deliveries = h.emarsys.deliveries.map((d) => ({ triggerId: d.triggerId, externalId: d.externalId, data: d.data }));
    expect(deliveries).toEqual([
      {
        triggerId: notificationId('cart-ann', new Date('2026-11-23T09:00:00Z')),
        externalId: 'ann@example.com',
        data: {
          firstName: 'Ann',
          lastName: 'Lee',
          email: 'ann@example.com',
          language: 'de-de',
          currency: 'USD',
          returnToCartUrl: 'https://shop.contoso.com/cart?cartId=cart-ann',
          cartId: 'cart-ann',
          orderDetails: [
            {
              productId: '101',
              productName: 'Linen shirt',
              productImage: {
                altText: 'A linen shirt',
                viewPortImages: [
                  {
                    url: 'https://images.contoso.com/cms/imageFileData/search?fileName=Products/SHIRT_000_001.png&w=300&h=300&q=80&m=6&f=jpg',
                    media: '(max-width: 599px)',
                    useForDefaultImageTag: false,
                  },
                  {
                    url: 'https://images.contoso.com/cms/imageFileData/search?fileName=Products/SHIRT_000_001.png&w=600&h=600&q=80&m=6&f=jpg',
                    media: '(min-width: 600px)',
                    useForDefaultImageTag: true,
                  },
                ],
              },
              quantity: '2',
              unitPrice: '44.9',
            },
            {
              productId: '102',
              productName: 'Socks',
              productImage: {
                altText: 'Socks',
                viewPortImages: [
                  { url: 'https://cdn.contoso.com/socks.png?w=300&h=300&q=80&m=6&f=jpg', media: '(max-width: 599px)', useForDefaultImageTag: false },
                  { url: 'https://cdn.contoso.com/socks.png?w=600&h=600&q=80&m=6&f=jpg', media: '(min-width: 600px)', useForDefaultImageTag: true },
                ],
              },
              quantity: '1.5',
              unitPrice: '5',
            },
          ],
        },
      },
      {
        triggerId: notificationId('cart-bo', new Date('2026-11-23T10:00:00Z')),
        externalId: 'bo@example.com',
        data: expect.objectContaining({
          firstName: 'Bo',
          lastName: 'Ng',
          language: 'en-us',
          cartId: 'cart-bo',
          orderDetails: [expect.objectContaining({ productId: '102', quantity: '3', unitPrice: '4.25' })],
        }),
      },
    ]);
    // The Emarsys request carries the contact key and the event of the settings.
    const trigger = h.emarsys.requests.find((r) => r.kind === 'trigger');
    expect(trigger?.eventId).toBe('4711');
    expect(trigger?.body).toMatchObject({ key_id: 3 });
    // One token for the whole run; every Retail Server call authorized and scoped to the OUN.
    expect(h.tokens.tokensIssued).toBe(1);
    expect(h.retail.requests.every((r) => r.authorized && r.headers.oun === '128' && r.query['api-version'] === '7.3')).toBe(true);
    expect(report.checkpoint).toEqual({ lastModifiedAt: '2026-11-23T11:50:00.000Z', cartIdsAtLastModified: 0 });

    // One structured line carries the report; nothing logged names a customer's email or a secret.
    expect(h.logs.filter((l) => l.message === 'Abandoned cart run finished').map((l) => l.level)).toEqual(['info']);
    const logged = JSON.stringify(h.logs);
    for (const secret of ['ann@example.com', 'bo@example.com', RETAIL_CLIENT_SECRET, EMARSYS_SECRET]) expect(logged).not.toContain(secret);
  });

  test('anonymous carts with a receipt email are reminded when IncludeAnonymous is on', async () => {
    const report = await h.run({}, { RetailServerClientOptions__IncludeAnonymous: 'true' });
    expect(report.carts.notified).toBe(3);
    expect(report.carts.skippedByReason['anonymous-without-email']).toBe(1);
    const guest = h.emarsys.deliveries.find((d) => d.externalId === 'guest@example.com');
    expect(guest?.data).toMatchObject({ firstName: '', lastName: '', language: 'en-us', cartId: 'cart-anon-email' });
  });

  test('a dry run evaluates everything and sends and records nothing', async () => {
    const dry = await h.run({ dryRun: true });
    expect(dry.carts).toMatchObject({ seen: 6, eligible: 2, notified: 0 });
    expect(h.emarsys.deliveries).toHaveLength(0);
    const real = await h.run();
    expect(real.window.source).toBe('include-minutes');
    expect(real.carts.notified).toBe(2);
    // A dry run over the same window afterwards reads the ledger: nothing left to send.
    const again = await h.run({ dryRun: true, from: new Date(real.window.from), to: new Date(real.window.to) });
    expect(again.carts).toMatchObject({ eligible: 0, notified: 0, skippedByReason: { 'already-notified': 2 } });
    expect(h.emarsys.deliveries).toHaveLength(2);
  });
});
