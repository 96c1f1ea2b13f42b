import fc from 'fast-check';
import {
  cartHeaderSchema,
  cartKeySchema,
  cartLineSchema,
  channelConfigurationSchema,
  collectionSchema,
  customerSchema,
  fields,
  parseCart,
  subMillisecondTicks,
  type RecordSchema,
} from '../../src/retail/models';

/**
 * Retail Server's records are parsed through plain predicates when every field passes them, and
 * by zod otherwise (src/retail/models.ts). These properties are what makes that safe: each
 * field's predicate accepts exactly what its zod type accepts, and a whole record parses to the
 * same result either way, valid or not.
 */

const SPECIAL_NUMBERS = [0, -0, 1, -1, 0.5, 1e21, 1e-7, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity];
const SPECIAL_STRINGS = ['', ' ', '.', '..', '0', '1', '-1', '01', '1.', '.5', '1.50', '-0', '1e3', '0x10', ' 12', '12 ', '1,5', 'NaN', 'Infinity', '9007199254740993', '9223372036854775807', '\ud800', 'a\udfffb', '😀'];
const DATE_STRINGS = ['2026-11-23T12:00:00Z', '2026-11-23T12:00:00.1234567Z', '2026-11-23T12:00:00+05:00', '2026-11-23', '2026-13-45T25:61:00Z', 'yesterday', 'Sun, 06 Dec 2026 10:00:00 GMT', '0'];

/** Anything a JSON answer could hold, and then some: the edges of every field kind. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.constantFrom<unknown>(...SPECIAL_NUMBERS, ...SPECIAL_STRINGS, ...DATE_STRINGS, null, undefined, true, false, [], {}, [1, 2]),
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.stringMatching(/^-?\d{1,20}(\.\d{1,8})?$/),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.string({ maxLength: 12 }),
  fc.array(fc.anything(), { maxLength: 3 }),
);

describe('record fields', () => {
  it.each(Object.entries(fields))('%s: the predicate accepts exactly what the zod type accepts', (_, field) => {
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(anyValue, (value) => {
        const accepted = field.accepts(value);
        seen[accepted ? 'accepted' : 'rejected']++;
        expect(accepted).toBe(field.schema.safeParse(value).success);
      }),
      { numRuns: 3_000, seed: 6 },
    );
    // Both sides were tried, so the property is not true of an empty set.
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.rejected).toBeGreaterThan(20);
  });
});

/** A record of the given keys: each one present with a value that may or may not fit, or absent. */
function recordOf(keys: readonly string[]): fc.Arbitrary<unknown> {
  const fieldValue = fc.option(anyValue, { nil: undefined, freq: 6 });
  const object = fc
    .tuple(fc.array(fieldValue, { minLength: keys.length, maxLength: keys.length }), fc.dictionary(fc.string({ maxLength: 6 }), anyValue, { maxKeys: 2 }))
    .map(([values, extra]) => {
      const out: Record<string, unknown> = { ...extra };
      keys.forEach((key, i) => {
        if (values[i] !== undefined) out[key] = values[i];
      });
      return out;
    });
  return fc.oneof({ weight: 9, arbitrary: object }, { weight: 1, arbitrary: anyValue });
}

/** Values that fit, so that a good share of generated records pass whole. */
const FITTING: Record<string, fc.Arbitrary<unknown>> = {
  Id: fc.string({ minLength: 1, maxLength: 8 }),
  AccountNumber: fc.string({ minLength: 1, maxLength: 8 }),
  Currency: fc.constantFrom('EUR', 'USD'),
  DefaultLanguageId: fc.constantFrom('en-us', 'de-de'),
  ModifiedDateTime: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  RecordId: fc.oneof(fc.integer({ min: 1 }), fc.integer({ min: 1 }).map(String)),
  ProductId: fc.oneof(fc.integer({ min: 1 }), fc.integer({ min: 1 }).map(String)),
  Quantity: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.stringMatching(/^-?\d{1,6}(\.\d{1,4})?$/)),
  CartTypeValue: fc.option(fc.integer(), { nil: null }),
  CartLines: fc.option(fc.array(fc.anything(), { maxLength: 2 }), { nil: null }),
  value: fc.array(fc.anything(), { maxLength: 3 }),
  IsVoided: fc.option(fc.boolean(), { nil: null }),
  IsGiftCardLine: fc.option(fc.boolean(), { nil: null }),
};
const TEXT = fc.option(fc.string({ maxLength: 8 }), { nil: null });
const DECIMAL = fc.option(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.stringMatching(/^\d{1,4}(\.\d{1,2})?$/)), { nil: null });

function fittingRecordOf(keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const decimals = new Set(['Price', 'ExtendedPrice', 'TotalAmount', 'SubtotalAmount']);
  return fc.record(Object.fromEntries(keys.map((key) => [key, FITTING[key] ?? (decimals.has(key) ? DECIMAL : TEXT)])));
}

const RECORDS: [string, RecordSchema<unknown>, string[]][] = [
  ['cart key', cartKeySchema, ['Id', 'ModifiedDateTime']],
  ['cart header', cartHeaderSchema, ['Id', 'ModifiedDateTime', 'CustomerId', 'ReceiptEmail', 'CartTypeValue', 'TotalAmount', 'SubtotalAmount', 'CartLines']],
  ['cart line', cartLineSchema, ['LineId', 'ProductId', 'ItemId', 'Quantity', 'Price', 'ExtendedPrice', 'IsVoided', 'IsGiftCardLine', 'Description']],
  ['customer', customerSchema, ['AccountNumber', 'Email', 'FirstName', 'LastName', 'Language']],
  ['channel configuration', channelConfigurationSchema, ['RecordId', 'Currency', 'DefaultLanguageId', 'TimeZoneInfoId']],
  ['collection envelope', collectionSchema, ['value']],
];

describe('records parsed through the predicates', () => {
  it.each(RECORDS)('%s: parses exactly as zod alone does, valid or not', (_, schema, keys) => {
    const seen = { valid: 0, invalid: 0 };
    const arbitrary = fc.oneof(recordOf(keys), fittingRecordOf(keys), fittingRecordOf(keys).chain((good) => recordOf(keys).map((bad) => ({ ...good, ...(bad as object) }))));
    fc.assert(
      fc.property(arbitrary, (raw) => {
        const fast = schema.safeParse(raw);
        const slow = schema.safeParseWithZod(raw);
        seen[slow.success ? 'valid' : 'invalid']++;
        expect(fast.success).toBe(slow.success);
        if (fast.success && slow.success) expect(fast.data).toStrictEqual(slow.data);
        if (!fast.success && !slow.success) expect(fast.error.issues).toEqual(slow.error.issues);
      }),
      { numRuns: 2_000, seed: 6 },
    );
    expect(seen.valid).toBeGreaterThan(200);
    expect(seen.invalid).toBeGreaterThan(200);
  });

  it('keeps no reference into the record it parsed', () => {
    const raw = { Id: 'c1', ModifiedDateTime: '2026-11-23T12:00:00Z', CustomerId: 'C1', CartLines: [{ ProductId: 7, Quantity: 1, Price: 2 }] };
    const parsed = parseCart(raw);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.CartLines).not.toBe(raw.CartLines);
    expect(parsed.value.CartLines[0]).not.toBe(raw.CartLines[0]);
  });
});

describe('ModifiedDateTime below the millisecond', () => {
  test('the 100 ns ticks Retail Server writes are kept beside the Date, which keeps milliseconds', () => {
    expect(subMillisecondTicks('2026-11-23T10:15:30.1239999+00:00')).toBe(9999);
    expect(subMillisecondTicks('2026-11-23T10:15:30.1230001Z')).toBe(1);
    expect(subMillisecondTicks('2026-11-23T10:15:30.12345Z')).toBe(4500);
    expect(subMillisecondTicks('2026-11-23T10:15:30.123456789Z')).toBe(4567);
    for (const plain of ['2026-11-23T10:15:30.123Z', '2026-11-23T10:15:30.5Z', '2026-11-23T10:15:30Z', '2026-11-23T10:15:30.123-05:00']) expect(subMillisecondTicks(plain)).toBe(0);
    const parsed = parseCart({ Id: 'c1', ModifiedDateTime: '2026-11-23T10:15:30.1239999-05:00', CartLines: [] });
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.ModifiedDateTime.toISOString()).toBe('2026-11-23T15:15:30.123Z');
    expect(parsed.value.ModifiedTicks).toBe(9999);
  });
});

describe('ModifiedDateTime and the time zone', () => {
  test('one without a zone designator, or not ISO-8601, does not parse: Date.parse would read it in the host\'s time zone', () => {
    for (const text of ['2026-11-23T05:03:00', '2026-11-23T05:03:00.1234567', '11/23/2026 05:03:00', 'Mon Nov 23 2026 05:03:00', '2026-11-23']) {
      expect(parseCart({ Id: 'c1', ModifiedDateTime: text, CartLines: [] }).ok).toBe(false);
    }
    for (const text of ['2026-11-23T05:03:00Z', '2026-11-23T10:33:00.1234567+05:30', '2026-11-23T01:33:00-03:30', '0001-01-01T00:00:00+00:00', '9999-12-31T23:59:59.9999999+00:00', '+010000-01-01T00:00:00.000Z']) {
      expect(parseCart({ Id: 'c1', ModifiedDateTime: text, CartLines: [] }).ok).toBe(true);
    }
  });
});
