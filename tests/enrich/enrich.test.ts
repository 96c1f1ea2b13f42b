import { formatDecimal } from '../../src/enrich/decimal';
import { absoluteImageUrl, resizedImageUrl, viewPortImages, ViewPortImageCache } from '../../src/enrich/images';
import { buildNotificationData } from '../../src/enrich/payload';
import { returnToCartUrl } from '../../src/enrich/return-url';
import { parseCart, type Product } from '../../src/retail/models';

describe('formatDecimal', () => {
  test.each([
    [2, '2'],
    [1.5, '1.5'],
    [19.9, '19.9'],
    [19.99, '19.99'],
    [0.1 + 0.2, '0.3'],
    [100, '100'],
    [-0, '0'],
    [1e-7, '0'],
    [1234.5678901, '1234.56789'],
    [123456789012.345, '123456789012.345'],
  ])('%p -> %s', (value, expected) => expect(formatDecimal(value)).toBe(expected));
  test('rejects NaN', () => expect(() => formatDecimal(Number.NaN)).toThrow(RangeError));
});

describe('image URLs', () => {
  test('absolute URLs are kept, as a browser reads them', () => {
    expect(absoluteImageUrl('https://img.example.com', 'HTTPS://cdn.example.com/a.png')).toBe('https://cdn.example.com/a.png');
    expect(absoluteImageUrl('https://img.example.com', 'http://cdn.example.com/a b.png?v=1')).toBe('http://cdn.example.com/a%20b.png?v=1');
  });
  test('relative paths are joined with exactly one slash', () => {
    expect(absoluteImageUrl('https://img.example.com/', '/Products/A.png')).toBe('https://img.example.com/Products/A.png');
    expect(absoluteImageUrl('https://img.example.com', 'Products/A.png')).toBe('https://img.example.com/Products/A.png');
  });
  test('a server URL ending in fileName= is appended to directly', () => {
    expect(absoluteImageUrl('https://img.example.com/search?fileName=', '/Products/A.png')).toBe(
      'https://img.example.com/search?fileName=Products/A.png',
    );
  });
  test('a server URL ending in fileName=/ (Commerce media base URLs are written so) gets the path after the slash', () => {
    const base = 'https://images-us-prod.cms.commerce.dynamics.com/cms/api/abcdefghij/imageFileData/search?fileName=/';
    expect(absoluteImageUrl(base, 'Products/91008_000_001.png')).toBe(`${base}Products/91008_000_001.png`);
    expect(absoluteImageUrl(base, '/Products/A.png')).toBe(`${base}Products/A.png`);
    expect(absoluteImageUrl('https://img.example.com/search?channel=5&fileName=/media/', 'A.png')).toBe('https://img.example.com/search?channel=5&fileName=/media/A.png');
    expect(viewPortImages(base, 'Products/A.png', [{ media: '(min-width: 0px)', width: 300, height: 300, useForDefaultImageTag: true }])[0]?.url).toBe(
      `${base}Products/A.png&w=300&h=300&q=80&m=6&f=jpg`,
    );
  });
  test('each part of a relative path is percent-encoded, once: a #, & or + cannot cut the URL', () => {
    expect(absoluteImageUrl('https://img.example.com/search?fileName=', 'Products/Tee #2 & C++.png')).toBe(
      'https://img.example.com/search?fileName=Products/Tee%20%232%20%26%20C%2B%2B.png',
    );
    expect(absoluteImageUrl('https://img.example.com/', 'Produkte/Überjacke 東京.png')).toBe(
      'https://img.example.com/Produkte/%C3%9Cberjacke%20%E6%9D%B1%E4%BA%AC.png',
    );
    expect(absoluteImageUrl('https://img.example.com/', 'Products/Red%20shirt.png')).toBe('https://img.example.com/Products/Red%20shirt.png');
    expect(absoluteImageUrl('https://img.example.com/', 'Products/100% cotton.png')).toBe('https://img.example.com/Products/100%25%20cotton.png');
  });
  test("a server URL's own query (a signed CDN URL) stays after the path; a URL without a scheme gets https", () => {
    expect(absoluteImageUrl('https://cdn.example.com/images?sv=2024&sig=abc', 'Products/A.png')).toBe('https://cdn.example.com/images/Products/A.png?sv=2024&sig=abc');
    expect(resizedImageUrl(absoluteImageUrl('https://cdn.example.com/images?sig=abc', 'A.png') ?? '', { width: 1, height: 2 })).toBe(
      'https://cdn.example.com/images/A.png?sig=abc&w=1&h=2&q=80&m=6&f=jpg',
    );
    expect(absoluteImageUrl('https://img.example.com', '//cdn.other.example/a.png')).toBe('https://cdn.other.example/a.png');
  });
  test('a colon in a relative path is part of its file name; a `.` part names its own folder', () => {
    const server = 'https://img.example.com/media';
    expect(absoluteImageUrl(server, 'Tee:Blue.png')).toBe('https://img.example.com/media/Tee%3ABlue.png');
    expect(absoluteImageUrl(server, 'Summer:2026/Tee.png')).toBe('https://img.example.com/media/Summer%3A2026/Tee.png');
    expect(absoluteImageUrl(server, './Products/./Tee.png')).toBe('https://img.example.com/media/Products/Tee.png');
  });
  // Image paths and URLs come from Retail Server (a product editor typed them) and go into every
  // reminder, where the retailer's template writes them into `<source srcset>` and `<img src>`.
  describe('a path that would climb out of ImageServerUrl is unusable: no image for that product', () => {
    const viewPorts = [{ media: '(min-width: 0px)', width: 300, height: 300, useForDefaultImageTag: true }];
    test.each([
      ['Products/../../admin/x.png'],
      ['../private/x.png'],
      ['%2e%2e/%2e%2e/x.png'], // URL parsers read an encoded dot-dot as a real one
      ['%2e%2e%2fx.png'], // one part that decodes to ../x.png, for a server that decodes %2F first
      ['Products/.%2E/x.png'],
      ['..'],
    ])('%s', (path) => {
      expect(absoluteImageUrl('https://img.example.com/media/', path)).toBeUndefined();
      expect(absoluteImageUrl('https://img.example.com/search?fileName=', path)).toBeUndefined();
      expect(viewPortImages('https://img.example.com/media/', path, viewPorts)).toEqual([]);
    });

    test("a signed CDN base's signature is never carried to another container", () => {
      expect(absoluteImageUrl('https://acct.blob.core.windows.net/images?sv=2024&sig=abc', '../private/secret.png')).toBeUndefined();
    });

    test('dots that are no segment of their own are part of a name', () => {
      expect(absoluteImageUrl('https://img.example.com/media/', 'Products/..a/b...png')).toBe('https://img.example.com/media/Products/..a/b...png');
    });
  });

  describe('an absolute URL reaches the payload as a URL, not as markup', () => {
    const channel = { RecordId: 5637144592, Currency: 'USD', DefaultLanguageId: 'en-us', TimeZoneInfoId: undefined };
    const viewPorts = [{ media: '(min-width: 0px)', width: 300, height: 300, useForDefaultImageTag: true }];
    const parsed = parseCart({ Id: 'cart-1', ModifiedDateTime: '2024-05-01T10:00:00Z', CustomerId: 'C1', CartLines: [{ LineId: 'l1', ProductId: 1, Quantity: 1, Price: 10 }] });
    const urlsFor = (imageUrl: string) => {
      if (!parsed.ok) throw new Error(parsed.reason);
      const product: Product = { RecordId: 1, ProductName: 'Tee', Name: undefined, ItemId: 'T1', Image: { Items: [{ Url: imageUrl, AltText: 'Tee' }] }, Price: 10 };
      const result = buildNotificationData({
        cart: parsed.value,
        email: 'ann@example.com',
        customer: undefined,
        products: new Map([[1, product]]),
        channel,
        settings: { imageServerUrl: 'https://img.example.com/', viewPorts, returnToCartUrl: 'https://shop.example.com/cart/{cartId}' },
      });
      if (!result.ok) throw new Error(result.reason);
      return result.data.orderDetails.flatMap((detail) => detail.productImage.viewPortImages.map((image) => image.url));
    };

    test.each([
      ['https://cdn.example.com/a.png" onerror="alert(1)', 'https://cdn.example.com/a.png%22%20onerror=%22alert(1)?w=300&h=300&q=80&m=6&f=jpg'],
      ["https://cdn.example.com/a.png'><script>alert(1)</script>", 'https://cdn.example.com/a.png%27%3E%3Cscript%3Ealert(1)%3C/script%3E?w=300&h=300&q=80&m=6&f=jpg'],
      ['https://cdn.example.com/a.png\n<script>alert(1)</script>', 'https://cdn.example.com/a.png%3Cscript%3Ealert(1)%3C/script%3E?w=300&h=300&q=80&m=6&f=jpg'],
      ["//cdn.example.com/a.png?alt='x'", 'https://cdn.example.com/a.png?alt=%27x%27&w=300&h=300&q=80&m=6&f=jpg'],
      ['https://cdn.example.com/a.png#"><b>', 'https://cdn.example.com/a.png?w=300&h=300&q=80&m=6&f=jpg'],
    ])('%j', (imageUrl, expected) => {
      // A relative path gets these percent-encoded (above); an absolute one does too.
      expect(urlsFor(imageUrl)).toEqual([expected]);
    });

    test.each([['javascript:alert(1)'], ['data:image/svg+xml,<svg onload=alert(1)>'], ['ftp://cdn.example.com/a.png'], ['https://']])('%j is no image', (imageUrl) => {
      expect(urlsFor(imageUrl)).toEqual([]);
    });
  });

  test('resizer parameters use ? or & as the URL needs', () => {
    expect(resizedImageUrl('https://i/a.png', { width: 300, height: 200 })).toBe('https://i/a.png?w=300&h=200&q=80&m=6&f=jpg');
    expect(resizedImageUrl('https://i/s?fileName=a.png', { width: 1, height: 2 })).toBe('https://i/s?fileName=a.png&w=1&h=2&q=80&m=6&f=jpg');
    expect(resizedImageUrl('https://i/s?', { width: 1, height: 2 })).toBe('https://i/s?w=1&h=2&q=80&m=6&f=jpg');
  });
  test('one image per viewport; none without an image path', () => {
    const viewPorts = [
      { media: '(max-width: 599px)', width: 300, height: 300, useForDefaultImageTag: false },
      { media: '(min-width: 600px)', width: 600, height: 600, useForDefaultImageTag: true },
    ];
    expect(viewPortImages('https://img.example.com/', 'P/A.png', viewPorts)).toEqual([
      { url: 'https://img.example.com/P/A.png?w=300&h=300&q=80&m=6&f=jpg', media: '(max-width: 599px)', useForDefaultImageTag: false },
      { url: 'https://img.example.com/P/A.png?w=600&h=600&q=80&m=6&f=jpg', media: '(min-width: 600px)', useForDefaultImageTag: true },
    ]);
    expect(viewPortImages('https://img.example.com/', undefined, viewPorts)).toEqual([]);
  });
  test("a run's cache gives what viewPortImages gives, one frozen list per image shared by every line, bounded", () => {
    const viewPorts = [{ media: '(min-width: 0px)', width: 100, height: 100, useForDefaultImageTag: true }];
    const cache = new ViewPortImageCache('https://img.example.com/', viewPorts, 2);
    const first = cache.get('P/A.png');
    expect(first).toEqual(viewPortImages('https://img.example.com/', 'P/A.png', viewPorts));
    expect(cache.get('P/A.png')).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first[0])).toBe(true);
    expect(cache.get(undefined)).toEqual([]);
    expect(cache.get('  ')).toEqual([]);
    cache.get('P/B.png');
    cache.get('P/C.png'); // over capacity: the oldest, A, goes
    expect(cache.get('P/A.png')).not.toBe(first);
    expect(cache.get('P/A.png')).toEqual(first);
  });
});

test('return-to-cart URL placeholders are replaced and encoded; plain URLs are kept', () => {
  expect(returnToCartUrl('https://s/cart?id={cartId}&c={CustomerId}', 'a b', 'C-1')).toBe('https://s/cart?id=a%20b&c=C-1');
  expect(returnToCartUrl('https://s/cart', 'x', undefined)).toBe('https://s/cart');
});

describe('a return-to-cart link stays on the page the retailer configured', () => {
  // `{cartId}` and `{customerId}` are Retail Server data; encodeURIComponent leaves `.` alone.
  test.each([['%2e%2e'], ['.%2E'], ['...'], ['a..b']])('cart id %j is one path segment of the cart page', (cartId) => {
    const path = new URL(returnToCartUrl('https://shop.contoso.com/cart/{cartId}/view', cartId, 'C1')).pathname;
    expect(path.split('/')).toEqual(['', 'cart', expect.any(String), 'view']);
  });

  test.each([
    ['Id', { Id: '..', CustomerId: 'C1' }],
    ['Id', { Id: '.', CustomerId: 'C1' }],
    ['CustomerId', { Id: 'cart-1', CustomerId: '..' }],
    ['CustomerId', { Id: 'cart-1', CustomerId: '.' }],
  ])("a cart whose %s is a path's . or .. is an invalid record, with the reason", (field, ids) => {
    const parsed = parseCart({ ...ids, ModifiedDateTime: '2026-11-23T10:00:00Z', CartTypeValue: 1, CartLines: [] });
    expect(parsed).toEqual({ ok: false, reason: `${field} is '.' or '..', which in the return-to-cart link's path would lead to another page` });
  });
});

describe('buildNotificationData', () => {
  const channel = { RecordId: 5637144592, Currency: 'USD', DefaultLanguageId: 'en-us', TimeZoneInfoId: undefined };
  const settings = {
    imageServerUrl: 'https://img.example.com/',
    viewPorts: [{ media: '(min-width: 0px)', width: 100, height: 100, useForDefaultImageTag: true }],
    returnToCartUrl: 'https://shop/cart/{cartId}',
  };
  const product = (id: number, extra: Partial<Product> = {}): Product => ({
    RecordId: id,
    ProductName: `Product ${id}`,
    Name: undefined,
    ItemId: `I${id}`,
    Image: { Items: [{ Url: `P/${id}.png`, AltText: undefined }] },
    Price: 10,
    ...extra,
  });
  const cart = (lines: unknown[]) => {
    const parsed = parseCart({ Id: 'cart-1', CustomerId: 'C1', ModifiedDateTime: '2026-11-23T10:00:00Z', CartTypeValue: 1, CartLines: lines });
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };

  test('with a run image cache, the same data', () => {
    const input = {
      cart: cart([{ LineId: 'L1', ProductId: 1, Quantity: 2, Price: 19.9 }, { LineId: 'L2', ProductId: 1, Quantity: 1, Price: 3 }]),
      email: 'ann@example.com',
      customer: undefined,
      products: new Map([[1, product(1)]]),
      channel,
      settings,
    };
    const cached = buildNotificationData({ ...input, images: new ViewPortImageCache(settings.imageServerUrl, settings.viewPorts) });
    expect(cached).toEqual(buildNotificationData(input));
    if (!cached.ok) throw new Error('expected data');
    expect(cached.data.orderDetails[0]?.productImage.viewPortImages).toBe(cached.data.orderDetails[1]?.productImage.viewPortImages);
  });

  test('a blank ProductName falls back to Name; long text is cut between characters, not inside one', () => {
    const emoji = '😀';
    const result = buildNotificationData({
      cart: cart([
        { LineId: 'L1', ProductId: 1, Quantity: 1, Price: 1 },
        { LineId: 'L2', ProductId: 2, Quantity: 1, Price: 1 },
      ]),
      email: 'ann@example.com',
      customer: undefined,
      products: new Map([
        [1, product(1, { ProductName: '   ', Name: 'Linen shirt' })],
        [2, product(2, { ProductName: `${'a'.repeat(254)}${emoji.repeat(3)}` })],
      ]),
      channel,
      settings,
    });
    if (!result.ok) throw new Error('expected data');
    expect(result.data.orderDetails[0]).toMatchObject({ productId: '1', productName: 'Linen shirt' });
    const long = result.data.orderDetails[1]?.productName ?? '';
    expect(long).toBe(`${'a'.repeat(254)}…`);
    expect(encodeURIComponent(long)).toBeTruthy(); // throws URIError on a lone surrogate
  });

  test('long text is cut between graphemes, not inside one: a flag, a Hangul syllable typed as jamo', () => {
    const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);
    // 253 letters, then a flag of two regional indicators: a cut at 255 units would keep one, a lone "J".
    const flag = `${'a'.repeat(253)}🇯🇵 Tee`;
    // Korean typed on a Mac arrives decomposed (한 = ᄒ ᅡ ᆫ): a cut inside it shows another syllable (하).
    const hangul = `${'b'.repeat(254)}\u1112\u1161\u11ab 셔츠`;
    // One grapheme longer than the limit (a letter and 300 marks) is still cut, inside it.
    const marks = `x${'\u0301'.repeat(300)}`;
    const result = buildNotificationData({
      cart: cart([
        { LineId: 'L1', ProductId: 1, Quantity: 1, Price: 1 },
        { LineId: 'L2', ProductId: 2, Quantity: 1, Price: 1 },
      ]),
      email: 'ann@example.com',
      customer: { AccountNumber: 'C1', Email: 'ann@example.com', FirstName: hangul, LastName: marks, Language: undefined },
      products: new Map([
        [1, product(1, { ProductName: flag })],
        [2, product(2, { ProductName: `${'c'.repeat(254)}e\u0301s` })], // é as e and its accent: not an e without it
      ]),
      channel,
      settings,
    });
    if (!result.ok) throw new Error('expected data');
    expect(result.data.orderDetails[0]?.productName).toBe(`${'a'.repeat(253)}…`);
    expect(result.data.orderDetails[1]?.productName).toBe(`${'c'.repeat(254)}…`);
    expect(result.data.firstName).toBe(`${'b'.repeat(254)}…`);
    expect(result.data.lastName).toBe(`${marks.slice(0, 255)}…`);
    for (const [clipped, original] of [
      [result.data.orderDetails[0]?.productName ?? '', flag],
      [result.data.firstName, hangul],
    ] as const) {
      const kept = graphemes(clipped.slice(0, -1));
      expect(kept).toEqual(graphemes(original).slice(0, kept.length));
    }
  });

  test('half of a surrogate pair (a name cut inside an emoji upstream) is sent as U+FFFD, as the sample sends it; an address with one is refused', () => {
    const input = {
      cart: cart([{ LineId: 'L1', ProductId: 1, Quantity: 1, Price: 1 }]),
      customer: { AccountNumber: 'C1', Email: 'zoe@example.com', FirstName: 'Zoë \ud83d', LastName: '\udc4dLee', Language: undefined },
      products: new Map([[1, product(1, { ProductName: 'T-shirt \ud83d', Image: { Items: [{ Url: 'P/1.png', AltText: 'Shirt 👍 \udc4d' }] } })]]),
      channel,
      settings,
    };
    const result = buildNotificationData({ ...input, email: 'zoe@example.com' });
    if (!result.ok) throw new Error('expected data');
    expect(result.data).toMatchObject({ firstName: 'Zoë \uFFFD', lastName: '\uFFFDLee' });
    expect(result.data.orderDetails[0]).toMatchObject({ productName: 'T-shirt \uFFFD', productImage: { altText: 'Shirt 👍 \uFFFD' } });
    // What JSON.stringify writes for a lone surrogate: an escape that is no character.
    expect(JSON.stringify(result.data)).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i);
    expect(buildNotificationData({ ...input, email: 'zoe\ud83d@example.com' })).toMatchObject({ ok: false, reason: 'invalid-email' });
  });

  test('maps lines to order details with the sample field names, dropping unknown products', () => {
    const result = buildNotificationData({
      cart: cart([
        { LineId: 'L1', ProductId: 1, Quantity: 2, Price: 19.9 },
        { LineId: 'L2', ProductId: 2, Quantity: 1.5 },
        { LineId: 'L3', ProductId: 3, Quantity: 1, Price: 5 },
        { LineId: 'L4', ProductId: 1, Quantity: 1, Price: 1, IsVoided: true },
      ]),
      email: 'ann@example.com',
      customer: { AccountNumber: 'C1', Email: 'ann@example.com', FirstName: 'Ann', LastName: 'Lee', Language: undefined },
      products: new Map([
        [1, product(1)],
        [2, product(2, { ProductName: undefined, Name: 'Fallback name', Image: { Items: [{ Url: 'P/2.png', AltText: 'Two' }] }, Price: 7.25 })],
      ]),
      channel,
      settings,
    });
    expect(result).toEqual({
      ok: true,
      droppedLines: ['product-not-found'],
      data: {
        firstName: 'Ann',
        lastName: 'Lee',
        email: 'ann@example.com',
        language: 'en-us',
        currency: 'USD',
        returnToCartUrl: 'https://shop/cart/cart-1',
        cartId: 'cart-1',
        orderDetails: [
          {
            productId: '1',
            productName: 'Product 1',
            productImage: {
              altText: 'Product 1',
              viewPortImages: [{ url: 'https://img.example.com/P/1.png?w=100&h=100&q=80&m=6&f=jpg', media: '(min-width: 0px)', useForDefaultImageTag: true }],
            },
            quantity: '2',
            unitPrice: '19.9',
          },
          {
            productId: '2',
            productName: 'Fallback name',
            productImage: {
              altText: 'Two',
              viewPortImages: [{ url: 'https://img.example.com/P/2.png?w=100&h=100&q=80&m=6&f=jpg', media: '(min-width: 0px)', useForDefaultImageTag: true }],
            },
            quantity: '1.5',
            unitPrice: '7.25',
          },
        ],
      },
    });
  });

  test('a cart left with no usable line is not sent; a bad email is refused', () => {
    const input = { customer: undefined, products: new Map([[1, product(1)]]), channel, settings };
    expect(buildNotificationData({ ...input, cart: cart([{ ProductId: 9, Quantity: 1 }]), email: 'a@b.co' })).toEqual({
      ok: false,
      reason: 'no-products-found',
      droppedLines: ['product-not-found'],
    });
    expect(buildNotificationData({ ...input, cart: cart([{ ProductId: 1, Quantity: -1 }]), email: 'a@b.co' })).toMatchObject({
      ok: false,
      droppedLines: ['invalid-quantity'],
    });
    expect(buildNotificationData({ ...input, cart: cart([{ ProductId: 1, Quantity: 1 }]), email: 'not an email' })).toMatchObject({
      ok: false,
      reason: 'invalid-email',
    });
  });
});
