import { startImageServer, type ImageServer } from '../../src/local/image-server';
import { isSafeFileName } from '../../src/local/images/resize-request';
import { buildLocalStore, describeLocalStore, type LocalStoreSummary } from '../../src/local/seed-store';
import { channelConfigurationSchema, customerSchema, parseCart, parseRecord, productSchema, type Cart } from '../../src/retail/models';
import type { RawRecord, SimulatorData } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * The seeded store behind `npm run local`: deterministic, as varied as issue 4 asks, and made of
 * records the connector's own parsers accept. The end-to-end tests run the real job over it.
 */

const NOW = new Date('2026-11-23T12:00:00Z');
const MINUTE = 60_000;

function parsedCarts(data: SimulatorData): Cart[] {
  return data.carts.map((raw) => {
    const parsed = parseCart(raw);
    if (!parsed.ok) throw new Error(`cart does not parse: ${parsed.reason}`);
    return parsed.value;
  });
}

const minutesAgo = (cart: Cart): number => (NOW.getTime() - cart.ModifiedDateTime.getTime()) / MINUTE;
const isShoppingCart = (cart: Cart): boolean => cart.CartTypeValue === 1;
const inWindow = (cart: Cart): boolean => minutesAgo(cart) >= 10 && minutesAgo(cart) <= 500;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

describe('the local store', () => {
  const data = buildLocalStore({ now: NOW, seed: 7 });
  const carts = parsedCarts(data);

  test('is the same for the same seed and now, and never uses Math.random', () => {
    const random = jest.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random is not deterministic');
    });
    try {
      expect(JSON.stringify(buildLocalStore({ now: NOW, seed: 7 }))).toBe(JSON.stringify(data));
    } finally {
      random.mockRestore();
    }
  });

  test('another seed moves ids, lines and times, but plants the same cases', () => {
    const other = buildLocalStore({ now: NOW, seed: 8 });
    expect(other.carts.map((cart) => cart.Id)).not.toEqual(data.carts.map((cart) => cart.Id));
    expect(describeLocalStore(other, NOW)).toEqual(describeLocalStore(data, NOW));
    expect(buildLocalStore({ now: NOW }).carts).toHaveLength(data.carts.length);
  });

  test('plants cart times relative to now', () => {
    const later = new Date(NOW.getTime() + 3 * 24 * 60 * MINUTE);
    const shifted = buildLocalStore({ now: later, seed: 7 });
    expect(shifted.carts.map((cart) => Date.parse(text(cart.ModifiedDateTime)) - later.getTime())).toEqual(
      data.carts.map((cart) => Date.parse(text(cart.ModifiedDateTime)) - NOW.getTime()),
    );
  });

  test('has a channel in EUR with a default language, as the connector reads it', () => {
    const channel = parseRecord(channelConfigurationSchema, data.channel);
    expect(channel).toMatchObject({ ok: true, value: { Currency: 'EUR', DefaultLanguageId: 'en-us' } });
  });

  test('has at least 50 products with names in several languages, decimal prices and relative image paths', () => {
    expect(data.products.length).toBeGreaterThanOrEqual(50);
    const products = data.products.map((raw) => {
      const parsed = parseRecord(productSchema, raw);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.value;
    });
    const names = products.map((product) => product.ProductName ?? product.Name ?? '');
    expect(names.some((name) => /[äöüß]/i.test(name))).toBe(true);
    expect(names.some((name) => /[éèêàçôë]/i.test(name))).toBe(true);
    expect(names.some((name) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(name))).toBe(true);
    expect(names).toContain('Tee "Classic" <b>bold</b> & co');
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(products.map((product) => product.RecordId)).size).toBe(products.length);

    const prices = products.map((product) => product.Price ?? Number.NaN);
    expect(prices.every((price) => price > 0)).toBe(true);
    expect(prices).toEqual(expect.arrayContaining([19.99, 4.5, 129]));
    expect(prices.some((price) => Number.isInteger(price))).toBe(true);
    expect(prices.some((price) => Number.isInteger(price * 10) && !Number.isInteger(price))).toBe(true);
    expect(prices.some((price) => !Number.isInteger(price * 10))).toBe(true);

    for (const product of products) {
      const image = product.Image?.Items[0];
      expect(image?.Url).toMatch(/^Products\/SIM\d{6}_000_001\.png$/);
      expect(isSafeFileName(image?.Url ?? '')).toBe(true);
    }
    const withoutAlt = products.filter((product) => product.Image?.Items[0]?.AltText === undefined);
    expect(withoutAlt.length).toBeGreaterThan(0);
    expect(withoutAlt.length).toBeLessThan(products.length);
  });

  test('has at least 40 customers in four languages, some without email, all addresses at example.com', () => {
    expect(data.customers.length).toBeGreaterThanOrEqual(40);
    const customers = data.customers.map((raw) => {
      const parsed = parseRecord(customerSchema, raw);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.value;
    });
    expect(new Set(customers.map((customer) => customer.Language ?? null))).toEqual(new Set(['en-us', 'de-de', 'fr-fr', 'ja-jp', null]));
    expect(customers.some((customer) => /[äöüß]/i.test(`${customer.FirstName} ${customer.LastName}`))).toBe(true);
    expect(customers.some((customer) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(`${customer.FirstName}`))).toBe(true);
    const withEmail = customers.filter((customer) => customer.Email?.trim());
    expect(customers.length - withEmail.length).toBeGreaterThanOrEqual(3);
    for (const customer of withEmail) expect(customer.Email).toMatch(/example\.com$/);
    expect(withEmail.filter((customer) => !/^[^\s@]+@example\.com$/.test(customer.Email ?? ''))).toHaveLength(1);
  });

  test('spreads carts over the last three days: in the window, too recent, too old', () => {
    const shopping = carts.filter(isShoppingCart);
    expect(shopping.filter(inWindow).length).toBeGreaterThanOrEqual(20);
    expect(shopping.filter((cart) => minutesAgo(cart) < 10).length).toBeGreaterThanOrEqual(3);
    expect(shopping.filter((cart) => minutesAgo(cart) > 500).length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...carts.map(minutesAgo))).toBeLessThanOrEqual(3 * 24 * 60);
    expect(Math.min(...carts.map(minutesAgo))).toBeGreaterThan(0);
    // Clear of the window's edges, so a run that starts a little later sees the same split.
    expect(carts.every((cart) => Math.abs(minutesAgo(cart) - 10) > 4 && Math.abs(minutesAgo(cart) - 500) > 19)).toBe(true);
  });

  test('plants the cases the connector must handle', () => {
    const customerIds = new Set(data.customers.map((customer) => text(customer.AccountNumber)));
    const productIds = new Set(data.products.map((product) => Number(product.RecordId)));
    const emailOf = new Map(data.customers.map((customer) => [text(customer.AccountNumber), text(customer.Email).trim()]));
    const cartsPerCustomer = new Map<string, number>();
    for (const cart of carts) if (cart.CustomerId) cartsPerCustomer.set(cart.CustomerId, (cartsPerCustomer.get(cart.CustomerId) ?? 0) + 1);
    const anonymous = carts.filter((cart) => isShoppingCart(cart) && !cart.CustomerId);

    expect([...cartsPerCustomer.values()].filter((count) => count > 1).length).toBeGreaterThanOrEqual(3);
    expect(carts.some((cart) => inWindow(cart) && cart.CustomerId && customerIds.has(cart.CustomerId) && !emailOf.get(cart.CustomerId))).toBe(true);
    expect(carts.some((cart) => cart.CustomerId && !customerIds.has(cart.CustomerId))).toBe(true);
    expect(anonymous.some((cart) => cart.ReceiptEmail)).toBe(true);
    expect(anonymous.some((cart) => !cart.ReceiptEmail)).toBe(true);
    expect(carts.filter((cart) => cart.CartLines.every((line) => line.IsVoided)).length).toBeGreaterThanOrEqual(2);
    expect(carts.some((cart) => cart.CartLines.some((line) => line.IsVoided) && cart.CartLines.some((line) => !line.IsVoided))).toBe(true);
    expect(carts.filter((cart) => cart.CartLines.some((line) => !productIds.has(line.ProductId))).length).toBeGreaterThanOrEqual(2);
    expect(carts.some((cart) => cart.CartLines.every((line) => !productIds.has(line.ProductId)))).toBe(true);
    expect(carts.filter((cart) => cart.CartTypeValue === 2)).toHaveLength(2);
    expect(carts.some((cart) => cart.CartLines.some((line) => line.IsGiftCardLine))).toBe(true);
  });

  test('every cart parses with the connector’s parser, with 1 to 6 lines of 1 to 3 items and consistent totals', () => {
    expect(carts).toHaveLength(data.carts.length);
    expect(new Set(carts.map((cart) => cart.Id)).size).toBe(carts.length);
    for (const cart of carts) {
      expect(cart.invalidLineCount).toBe(0);
      expect(cart.CartLines.length).toBeGreaterThanOrEqual(1);
      expect(cart.CartLines.length).toBeLessThanOrEqual(6);
      for (const line of cart.CartLines) {
        expect(line.Quantity).toBeGreaterThanOrEqual(1);
        expect(line.Quantity).toBeLessThanOrEqual(3);
        expect(line.ExtendedPrice).toBeCloseTo(line.Quantity * (line.Price ?? 0), 2);
      }
      const active = cart.CartLines.filter((line) => !line.IsVoided);
      expect(cart.TotalAmount).toBeCloseTo(active.reduce((sum, line) => sum + (line.ExtendedPrice ?? 0), 0), 2);
    }
    const quantities = carts.flatMap((cart) => cart.CartLines.map((line) => line.Quantity));
    expect(quantities.filter((quantity) => !Number.isInteger(quantity)).length).toBeGreaterThanOrEqual(1);
    expect(quantities.filter((quantity) => !Number.isInteger(quantity)).length).toBeLessThanOrEqual(3);
    expect(carts.some((cart) => cart.CartLines.length === 6)).toBe(true);
  });

  test('describes itself for the banner with counts that match the data', () => {
    const shopping = carts.filter(isShoppingCart);
    const expected: LocalStoreSummary = {
      products: data.products.length,
      customers: data.customers.length,
      customersWithoutEmail: data.customers.filter((customer) => !text(customer.Email).trim()).length,
      customersWithSeveralCarts: new Set(
        carts.filter((cart, index) => cart.CustomerId && carts.findIndex((other) => other.CustomerId === cart.CustomerId) !== index).map((cart) => cart.CustomerId),
      ).size,
      carts: shopping.length,
      inWindow: shopping.filter(inWindow).length,
      tooRecent: shopping.filter((cart) => minutesAgo(cart) < 10).length,
      tooOld: shopping.filter((cart) => minutesAgo(cart) > 500).length,
      anonymous: shopping.filter((cart) => !cart.CustomerId).length,
      anonymousWithEmail: shopping.filter((cart) => !cart.CustomerId && cart.ReceiptEmail).length,
      wishLists: carts.length - shopping.length,
    };
    expect(describeLocalStore(data, NOW)).toEqual(expected);
    expect(describeLocalStore(data, NOW).inWindow + expected.tooRecent + expected.tooOld).toBe(expected.carts);
    // A narrower window moves carts out of it.
    const narrow = describeLocalStore(data, NOW, { includeMinutes: 120, excludeMinutes: 10 });
    expect(narrow.inWindow).toBeLessThan(expected.inWindow);
    expect(narrow.tooOld).toBeGreaterThan(expected.tooOld);
  });
});

/** jpeg width and height from the SOF0 segment. */
function jpegSize(bytes: Buffer): { width: number; height: number } {
  let offset = 2;
  while (offset < bytes.length) {
    const marker = bytes.readUInt16BE(offset);
    if (marker >= 0xffc0 && marker <= 0xffc2) return { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    offset += 2 + bytes.readUInt16BE(offset + 2);
  }
  throw new Error('no start-of-frame segment');
}

interface OrderDetail {
  productName: string;
  quantity: string;
  productImage: { altText: string; viewPortImages: { url: string }[] };
}

describe('the connector over the local store and image server', () => {
  let h: Harness;
  let images: ImageServer;
  const data = buildLocalStore({ now: NOW });

  beforeEach(async () => {
    images = await startImageServer();
    const emails = data.customers.map((customer) => text(customer.Email)).filter((email) => email.includes('@'));
    const receiptEmails = data.carts.map((cart) => text(cart.ReceiptEmail)).filter((email) => email.includes('@'));
    h = await startHarness({
      data,
      now: NOW.toISOString(),
      knownContacts: [...emails, ...receiptEmails],
      env: { MediaOptions__ImageServerUrl: images.imageServerUrl },
    });
  });
  afterEach(async () => {
    await h.close();
    await images.close();
  });

  test('sends one reminder per planted case, with pictures the image server draws at the asked size, and nothing on a second run', async () => {
    const report = await h.run();

    expect(report.status).toBe('completed');
    expect(report.carts).toEqual({
      seen: 40,
      eligible: 25,
      notified: 25,
      failed: 0,
      skipped: 15,
      skippedByReason: {
        superseded: 5,
        'no-active-lines': 2,
        'no-products-found': 1,
        'customer-without-email': 5,
        'invalid-email': 1,
        'customer-not-found': 1,
      },
    });
    // One discontinued line beside others, and the two lines of the cart with nothing else.
    expect(report.lines.droppedByReason).toEqual({ 'product-not-found': 3 });

    const details = h.emarsys.deliveries.flatMap((delivery) => (delivery.data as { orderDetails: OrderDetail[] }).orderDetails);
    expect(details.map((detail) => detail.productName)).toContain('Tee "Classic" <b>bold</b> & co');
    expect(details.map((detail) => detail.productName)).not.toContain('Gift card');
    expect(details.some((detail) => detail.quantity === '1.5')).toBe(true);
    const languages = new Set(h.emarsys.deliveries.map((delivery) => (delivery.data as { language: string }).language));
    expect(languages).toEqual(new Set(['en-us', 'de-de', 'fr-fr', 'ja-jp']));

    const urls = [...new Set(details.flatMap((detail) => detail.productImage.viewPortImages.map((image) => image.url)))];
    expect(urls.length).toBeGreaterThan(20);
    for (const url of urls) {
      expect(url.startsWith(images.imageServerUrl)).toBe(true);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/jpeg');
      const query = new URL(url).searchParams;
      expect(jpegSize(Buffer.from(await response.arrayBuffer()))).toEqual({ width: Number(query.get('w')), height: Number(query.get('h')) });
    }

    // Run again a little later: everything in the window is settled, nothing new is sent.
    h.clock.advanceMinutes(2);
    const second = await h.run();
    expect(second.status).toBe('completed');
    expect(second.carts.notified).toBe(0);
    expect(h.emarsys.deliveries).toHaveLength(25);

    // Half an hour on, the carts that were too recent have settled and are reminded (the anonymous one is not read).
    h.clock.advanceMinutes(30);
    const third = await h.run();
    expect(third.carts).toMatchObject({ seen: 6, notified: 6 });
  });

  test('with IncludeAnonymous, reminds anonymous carts at their receipt email', async () => {
    const report = await h.run({}, { RetailServerClientOptions__IncludeAnonymous: 'true' });
    expect(report.carts).toMatchObject({ seen: 46, notified: 28 });
    expect(report.carts.skippedByReason).toMatchObject({ superseded: 6, 'anonymous-without-email': 2 });
    const anonymous = h.emarsys.deliveries.filter((delivery) => (delivery.data as RawRecord).firstName === '').map((delivery) => delivery.externalId);
    expect(anonymous.sort()).toEqual(['gast.tobias@example.com', 'guest.lisa@example.com', 'guest.yuki@example.com', 'no.name@example.com']);
  });
});
