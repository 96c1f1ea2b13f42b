import fc from 'fast-check';
import { buildSimulatorData, customerRecord, productRecord, type RawRecord, type SimulatorData } from '../../src/simulators/retail-server';

/**
 * fast-check arbitraries for what a Retail Server might return on a bad day: records with wrong
 * types, missing fields and nulls, 100 KB strings, long unicode, markup and script in every text,
 * negative, fractional, huge and "NaN"-like quantities and prices, thousands of lines on one cart,
 * duplicate ids and timestamps in and out of the window. Every generated value carries the
 * kind(s) it was drawn as, so a suite can report how many hostile values of each kind it tried.
 *
 * Next to the hostile records, each store holds a few well-formed "control" carts whose
 * customers and products nothing hostile refers to: whatever else is in the data, they must be
 * reminded, exactly as they are.
 */

export interface Tagged<T> {
  kinds: string[];
  value: T;
}

function tag<T>(kind: string, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<Tagged<T>> {
  return arbitrary.map((value) => ({ kinds: [kind], value }));
}

/** One of these values, as they are: JSON-shaped data of any type. */
function constant(kind: string, ...values: unknown[]): fc.Arbitrary<Tagged<unknown>> {
  return tag(kind, fc.constantFrom(...values));
}

/** Markup a shopper or a product editor might type; each must come out escaped. */
export const GENERATED_MARKUP = [
  '<script>alert("cart")</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(1)>',
  "'><iframe src=javascript:alert(1)></iframe>",
  '</td></tr></table><h1>Your account is locked</h1>',
  '<a href="javascript:alert(1)">Return to cart</a>',
  '<style>body{display:none}</style>',
  '<!-- comment --><b onmouseover="alert(1)">bold</b>',
] as const;

const HUGE = 100_000;
const HUGE_STRINGS = ['A'.repeat(HUGE), '<'.repeat(HUGE), '\u{1F6D2}'.repeat(HUGE / 2), `${'<b>'.repeat(HUGE / 3)}`];

/** The job's window in the hostile suite: the harness clock's now minus 500 minutes to now minus 10. */
export const NOW = Date.parse('2026-11-23T12:00:00Z');
export const WINDOW = { from: NOW - 500 * 60_000, to: NOW - 10 * 60_000 };

const missing = constant('missing field', undefined);
const nullValue = constant('null', null);
const wrongType = constant('wrong type', true, false, 42, {}, [], { nested: { deep: [null] } });

/** Hostile text of ordinary size. */
const shortText: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 4, arbitrary: tag('plain text', fc.string({ maxLength: 30 })) },
  { weight: 3, arbitrary: constant('html/script', ...GENERATED_MARKUP) },
  { weight: 2, arbitrary: tag('unicode', fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })) },
  { weight: 1, arbitrary: constant('control characters', '\u0000', 'a\u202eb', '\ud800x', '\r\n\t ', '', '   ') },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
  { weight: 1, arbitrary: wrongType },
);

const text: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 12, arbitrary: shortText },
  { weight: 1, arbitrary: tag('long unicode', fc.string({ unit: 'binary', minLength: 1_000, maxLength: 3_000 })) },
  { weight: 1, arbitrary: constant('huge string (100 KB)', ...HUGE_STRINGS) },
);

/** Quantities and prices: JSON has no NaN, so the hostile forms are strings, extremes and signs. */
const amount: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 10, arbitrary: tag('valid amount', fc.integer({ min: 1, max: 5 })) },
  { weight: 2, arbitrary: tag('fractional amount', fc.double({ min: 0.000001, max: 10, noNaN: true })) },
  { weight: 2, arbitrary: constant('zero or negative amount', 0, -0, -1, -0.5, -1e9) },
  { weight: 1, arbitrary: constant('huge number', 1e308, Number.MAX_SAFE_INTEGER, 2 ** 64, 1e-300) },
  { weight: 2, arbitrary: constant('NaN-like string', 'NaN', 'Infinity', '-Infinity', '1e3', '0x10', '', ' 1 ', '1,5', 'two') },
  { weight: 1, arbitrary: constant('numeric string', '2', '0.5', '-3', '12.50') },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
  { weight: 1, arbitrary: wrongType },
);

/** Ids of the hostile products (1..12): carts and products meet on these, with duplicates. */
const productId: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 12, arbitrary: tag('valid id', fc.integer({ min: 1, max: 12 })) },
  { weight: 2, arbitrary: tag('id as string', fc.integer({ min: 1, max: 12 }).map(String)) },
  { weight: 2, arbitrary: constant('invalid id', 0, -1, 1.5, 'abc', '', '9223372036854775807', 2 ** 53 + 2, 1e21) },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
);

const isoAt = (ms: number) => new Date(ms).toISOString();
const inWindowMs = fc.integer({ min: WINDOW.from + 1, max: WINDOW.to - 1 });

const modifiedDateTime: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 20, arbitrary: tag('in window', inWindowMs.map(isoAt)) },
  { weight: 1, arbitrary: tag('7-digit fraction', inWindowMs.map((ms) => isoAt(ms).replace(/Z$/, '4567Z'))) },
  { weight: 1, arbitrary: tag('offset time zone', inWindowMs.map((ms) => new Date(ms + 5 * 3_600_000).toISOString().replace(/\.\d+Z$/, '+05:00'))) },
  { weight: 1, arbitrary: tag('before the window', fc.integer({ min: WINDOW.from - 30 * 86_400_000, max: WINDOW.from - 1 }).map(isoAt)) },
  { weight: 1, arbitrary: tag('after the window', fc.integer({ min: WINDOW.to + 1, max: NOW + 86_400_000 }).map(isoAt)) },
  { weight: 1, arbitrary: constant('far from now', '9999-12-31T23:59:59Z', '0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z') },
  { weight: 1, arbitrary: constant('not a date', 'yesterday', '', '2026-13-45T25:61:00Z', 'NaN', '2026-11-23') },
  { weight: 1, arbitrary: tag('epoch number', inWindowMs) },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
);

const cartId: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  // A small range, so ids repeat across carts (with other content and times).
  { weight: 16, arbitrary: tag('valid id', fc.integer({ min: 1, max: 30 }).map((n) => `H-${n}`)) },
  { weight: 1, arbitrary: constant('html/script', ...GENERATED_MARKUP) },
  { weight: 1, arbitrary: constant('huge string (100 KB)', 'I'.repeat(HUGE)) },
  { weight: 1, arbitrary: tag('unicode', fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 })) },
  { weight: 1, arbitrary: constant('id with / ? # \\', 'a/b?c#d\\e') },
  { weight: 1, arbitrary: constant('empty', '') },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
  { weight: 1, arbitrary: tag('wrong type', fc.integer()) },
);

/** Account numbers of the hostile customers (H1..H8), and everything else a cart might name. */
const accountNumber: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 16, arbitrary: tag('valid id', fc.integer({ min: 1, max: 8 }).map((n) => `H${n}`)) },
  { weight: 1, arbitrary: tag('id with spaces', fc.integer({ min: 1, max: 8 }).map((n) => ` H${n} `)) },
  { weight: 1, arbitrary: constant('html/script', ...GENERATED_MARKUP) },
  { weight: 1, arbitrary: constant('huge string (100 KB)', 'H'.repeat(HUGE)) },
  { weight: 1, arbitrary: constant('empty', '', '   ') },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
  { weight: 1, arbitrary: tag('wrong type', fc.integer()) },
);

const email: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 10, arbitrary: tag('valid email', fc.integer({ min: 1, max: 8 }).map((n) => `h${n}@example.org`)) },
  { weight: 1, arbitrary: tag('padded email', fc.integer({ min: 1, max: 8 }).map((n) => `  H${n}@Example.org `)) },
  { weight: 1, arbitrary: constant('markup in email', '<script>@x.org', 'a"onmouseover=alert(1)"@x.org', '<b>@example.org') },
  { weight: 2, arbitrary: constant('invalid email', 'not an email', 'a@b', '@example.org', 'a b@example.org', 'a@@example.org') },
  { weight: 1, arbitrary: constant('huge string (100 KB)', `${'e'.repeat(HUGE)}@example.org`) },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
  { weight: 1, arbitrary: wrongType },
);

const language: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 3, arbitrary: constant('valid language', 'de-de', 'en-us', 'ja-jp', 'ar-sa') },
  { weight: 2, arbitrary: text },
);

const flag: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 10, arbitrary: constant('valid flag', false) },
  { weight: 2, arbitrary: constant('voided or gift card', true) },
  { weight: 1, arbitrary: constant('wrong type', 'yes', 1, 0, 'false') },
  { weight: 1, arbitrary: nullValue },
  { weight: 1, arbitrary: missing },
);

const imageUrl: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 3, arbitrary: constant('relative image path', 'Products/H_000_001.png', '/Products/a b.png') },
  { weight: 1, arbitrary: constant('absolute image URL', 'https://cdn.contoso.com/p.png', 'http://cdn.contoso.com/p.png?x=1') },
  { weight: 2, arbitrary: constant('hostile URL', 'javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', '" onerror="alert(1)', '//evil.example/x.png') },
  { weight: 2, arbitrary: text },
);

type Fields = Record<string, fc.Arbitrary<Tagged<unknown>>>;

/** An object whose fields are drawn from `fields`; a field drawn as `undefined` is left out. */
function record(fields: Fields, kind: string): fc.Arbitrary<Tagged<RawRecord>> {
  return fc.record(fields).map((drawn) => {
    const value: RawRecord = {};
    const kinds = [kind];
    for (const [name, field] of Object.entries(drawn)) {
      kinds.push(...field.kinds);
      if (field.value !== undefined) value[name] = field.value;
    }
    return { kinds, value };
  });
}

const image: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 4, arbitrary: record({ Url: imageUrl, AltText: text }, 'image').map(({ kinds, value }) => ({ kinds, value: { Items: [value] } })) },
  { weight: 1, arbitrary: constant('malformed image', null, 'image.png', { Items: null }, { Items: [null] }, { Items: 'x' }, []) },
);

function lineOf(lineText: fc.Arbitrary<Tagged<unknown>>): fc.Arbitrary<Tagged<RawRecord>> {
  return record(
    {
      LineId: lineText,
      ProductId: productId,
      ItemId: lineText,
      Quantity: amount,
      Price: amount,
      ExtendedPrice: amount,
      IsVoided: flag,
      IsGiftCardLine: flag,
      Description: lineText,
    },
    'cart line',
  );
}
const line = lineOf(text);

/**
 * Thousands of lines on one cart, drawn once (cheaper than generating and shrinking them each
 * time), with text of ordinary size: 3000 lines of 100 KB strings would test memory, not data.
 */
const THOUSANDS_OF_LINES: Tagged<unknown[]> = (() => {
  const drawn = fc.sample(lineOf(shortText), { numRuns: 3_000, seed: 5 });
  return { kinds: ['thousands of lines (3000)'], value: drawn.map((l) => l.value) };
})();

const lines: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 12, arbitrary: fc.array(line, { maxLength: 5 }).map((drawn) => ({ kinds: drawn.flatMap((l) => l.kinds), value: drawn.map((l) => l.value) })) },
  { weight: 1, arbitrary: fc.constant(THOUSANDS_OF_LINES) },
  { weight: 1, arbitrary: constant('malformed lines', [], null, 'lines', {}, [null, 1, 'x', []]) },
  { weight: 1, arbitrary: missing },
);

/** Carts of a customer mostly have no receipt email; anonymous ones need one. */
const receiptEmail: fc.Arbitrary<Tagged<unknown>> = fc.oneof({ weight: 3, arbitrary: nullValue }, { weight: 1, arbitrary: missing }, { weight: 3, arbitrary: email });

const cart = record(
  {
    Id: cartId,
    CustomerId: accountNumber,
    ReceiptEmail: receiptEmail,
    ModifiedDateTime: modifiedDateTime,
    CartTypeValue: fc.oneof(
      { weight: 16, arbitrary: constant('valid cart type', 1) },
      { weight: 1, arbitrary: constant('other cart type', 2, 0, 3) },
      { weight: 1, arbitrary: constant('wrong type', '1', 1.5, null) },
    ),
    CartLines: lines,
    TotalAmount: amount,
    SubtotalAmount: amount,
  },
  'cart',
);

const customer = record(
  { AccountNumber: accountNumber, Email: email, FirstName: text, LastName: text, Language: language, Name: text },
  'customer',
);

const product = record(
  { RecordId: productId, ProductName: text, Name: text, ItemId: text, Price: amount, BasePrice: amount, Image: image },
  'product',
);

export interface ControlCart {
  cartId: string;
  modifiedAt: string;
  email: string;
  lines: { productId: number; quantity: number; price: number }[];
}

export interface HostileStore {
  data: SimulatorData;
  controls: ControlCart[];
  /** How many values of each kind the store holds. */
  kinds: Record<string, number>;
}

function control(index: number, at: number): { cart: RawRecord; customer: RawRecord; products: RawRecord[]; spec: ControlCart } {
  const account = `CTL${index}`;
  const email = `ctl${index}@example.com`;
  const lineSpecs = [
    { productId: 900_001 + index * 2, quantity: 1, price: 19.9 },
    { productId: 900_002 + index * 2, quantity: 2.5, price: 4 },
  ];
  const modifiedAt = isoAt(at);
  const cart: RawRecord = {
    Id: `CTL-CART-${index}`,
    CustomerId: account,
    ReceiptEmail: null,
    ModifiedDateTime: modifiedAt,
    CartTypeValue: 1,
    CartLines: lineSpecs.map((l, i) => ({ LineId: `L${i}`, ProductId: l.productId, Quantity: l.quantity, Price: l.price, IsVoided: false })),
  };
  return {
    cart,
    customer: customerRecord(account, { Email: email }),
    products: lineSpecs.map((l) => productRecord(l.productId, { Price: l.price })),
    spec: { cartId: String(cart.Id), modifiedAt, email, lines: lineSpecs },
  };
}

/** Tallies the kinds of tagged values, and builds the store around its control carts. */
function assemble(
  parts: { carts: Tagged<RawRecord>[]; copies: number[]; customers: Tagged<RawRecord>[]; products: Tagged<RawRecord>[]; controlTimes: number[] },
): HostileStore {
  const { carts, copies, customers, products, controlTimes } = parts;
  const kinds: Record<string, number> = {};
  for (const tagged of [...carts, ...customers, ...products]) for (const kind of tagged.kinds) kinds[kind] = (kinds[kind] ?? 0) + 1;
  const copied = carts.length === 0 ? [] : copies.map((n) => ({ ...(carts[n % carts.length] as Tagged<RawRecord>).value }));
  if (copied.length > 0) kinds['duplicate cart record'] = copied.length;
  const controls = controlTimes.map((at, i) => control(i + 1, at));
  return {
    data: buildSimulatorData({
      carts: [...carts.map((c) => c.value), ...copied, ...controls.map((c) => c.cart)],
      customers: [...customers.map((c) => c.value), ...controls.map((c) => c.customer)],
      products: [...products.map((p) => p.value), ...controls.flatMap((c) => c.products)],
    }),
    controls: controls.map((c) => c.spec),
    kinds,
  };
}

const controlTimes = fc.uniqueArray(inWindowMs, { minLength: 1, maxLength: 4 });

/**
 * A store: up to 25 hostile carts, 12 customers and 12 products (plus copies of some carts, same
 * id and time, as a server returning a record twice), and 1 to 4 control carts.
 */
export const hostileStore: fc.Arbitrary<HostileStore> = fc
  .record({
    carts: fc.array(cart, { maxLength: 25 }),
    copies: fc.array(fc.nat(), { maxLength: 3 }),
    customers: fc.array(customer, { minLength: 2, maxLength: 12 }),
    products: fc.array(product, { minLength: 2, maxLength: 12 }),
    controlTimes,
  })
  .map(assemble);

/** A string id a cart may really have, however odd. */
const renderableCartId: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  { weight: 6, arbitrary: tag('valid id', fc.integer({ min: 1, max: 40 }).map((n) => `R-${n}`)) },
  { weight: 2, arbitrary: constant('html/script', ...GENERATED_MARKUP) },
  { weight: 1, arbitrary: tag('unicode', fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((id) => id.trim() !== '')) },
  { weight: 1, arbitrary: constant('huge string (100 KB)', 'R'.repeat(HUGE)) },
  { weight: 1, arbitrary: constant('id with / ? # \\', 'r/1?x=<b>#frag\\') },
);

const renderableLine = record(
  {
    ProductId: tag('valid id', fc.integer({ min: 1, max: 12 })),
    Quantity: amount,
    Price: fc.oneof({ weight: 3, arbitrary: amount }, { weight: 1, arbitrary: missing }),
    IsVoided: fc.oneof({ weight: 8, arbitrary: constant('valid flag', false) }, { weight: 1, arbitrary: flag }),
    Description: text,
    ItemId: text,
  },
  'cart line',
);

/**
 * A store whose structure holds (carts of known customers with emails, lines of known products,
 * in the window) while every text, amount, image and language is hostile: most of its carts are
 * reminded, so the payload schema and the preview's escaping meet the hostile text itself.
 */
export const renderableStore: fc.Arbitrary<HostileStore> = fc
  .record({
    carts: fc.array(
      record(
        {
          Id: renderableCartId,
          CustomerId: fc.oneof(
            { weight: 6, arbitrary: tag('valid id', fc.integer({ min: 1, max: 8 }).map((n) => `R${n}`)) },
            { weight: 1, arbitrary: constant('anonymous', '') },
          ),
          ReceiptEmail: fc.oneof({ weight: 2, arbitrary: nullValue }, { weight: 2, arbitrary: email }),
          ModifiedDateTime: tag('in window', inWindowMs.map(isoAt)),
          CartTypeValue: constant('valid cart type', 1),
          CartLines: fc.array(renderableLine, { minLength: 1, maxLength: 4 }).map((drawn) => ({ kinds: drawn.flatMap((l) => l.kinds), value: drawn.map((l) => l.value) })),
        },
        'cart',
      ),
      { minLength: 1, maxLength: 15 },
    ),
    customers: fc.tuple(
      ...Array.from({ length: 8 }, (_, i) =>
        record(
          {
            AccountNumber: constant('valid id', `R${i + 1}`),
            Email: fc.oneof({ weight: 4, arbitrary: constant('valid email', `r${i + 1}@example.net`) }, { weight: 1, arbitrary: email }),
            FirstName: text,
            LastName: text,
            Language: language,
          },
          'customer',
        ),
      ),
    ),
    products: fc.tuple(
      ...Array.from({ length: 12 }, (_, i) =>
        record({ RecordId: constant('valid id', i + 1), ProductName: text, Name: text, ItemId: text, Price: amount, Image: image }, 'product'),
      ),
    ),
    controlTimes,
  })
  .map(({ carts, customers, products, controlTimes: times }) => assemble({ carts, copies: [], customers, products, controlTimes: times }));
