import { seededRandom } from '../../src/local/random';
import { getCustomersIndexed, searchCartsIndexed, searchProductsIndexed } from '../../src/simulators/retail-server/indexed-queries';
import { getCustomers, searchCarts, searchProducts, type ODataOptions, type QueryOutcome } from '../../src/simulators/retail-server/queries';
import { buildSimulatorData, cartRecord, channelRecord, customerRecord, productRecord, type RawRecord } from '../../src/simulators/retail-server';

/**
 * The benchmark's Retail Server answers from an index; it must answer exactly what the plain
 * simulator answers, or the benchmark would measure a different job. Random data with the awkward
 * cases (ties, unreadable times, anonymous carts, wish lists, duplicate and odd keys), random queries.
 */

const random = seededRandom(42);
const base = Date.parse('2026-11-23T00:00:00.000Z');
const time = (minute: number) => new Date(base + minute * 60_000).toISOString();

const carts: RawRecord[] = Array.from({ length: 400 }, (_, i) => {
  const minute = random.int(0, 120);
  const cart = cartRecord({
    id: `cart-${random.int(0, 350)}`,
    customerId: random.chance(0.1) ? '' : `C${random.int(0, 60)}`,
    modifiedDateTime: time(minute),
    cartTypeValue: random.chance(0.1) ? 2 : 1,
    lines: [{ productId: random.int(1, 30) }],
  });
  if (i % 37 === 0) cart.ModifiedDateTime = 'not a date';
  if (i % 41 === 0) delete cart.ModifiedDateTime;
  return cart;
});
const customers = [
  ...Array.from({ length: 60 }, (_, i) => customerRecord(`C${i}`)),
  customerRecord('C5', { FirstName: 'Duplicate' }),
  { AccountNumber: 17, Email: 'number@example.com' },
];
const products = [...Array.from({ length: 30 }, (_, i) => productRecord(i + 1)), productRecord(3, { ProductName: 'Duplicate' }), { RecordId: '7', ProductName: 'text id' }];
const data = buildSimulatorData({ channel: channelRecord(), carts, customers, products });

const options = (top: number | undefined, skip: number, orderBy?: string): ODataOptions => ({ top, skip, orderBy });

/** What the client receives: the body as JSON text, whether serialized on the way out or joined from the index. */
function received(outcome: QueryOutcome): unknown {
  if (!outcome.ok) return outcome;
  return 'json' in outcome ? outcome.json : JSON.stringify(outcome.body);
}

describe('the indexed simulator answers as the plain one', () => {
  test('cart searches: windows, ties, $skip, $top, anonymity, cart type; other queries fall back', () => {
    for (let i = 0; i < 300; i++) {
      const from = random.int(-10, 130);
      const criteria: Record<string, unknown> = {
        LastModifiedDateTimeFrom: random.chance(0.9) ? time(from) : null,
        LastModifiedDateTimeTo: random.chance(0.9) ? time(from + random.int(0, 60)) : null,
        IncludeAnonymous: random.chance(0.5),
        CartTypeValue: random.chance(0.8) ? 1 : null,
      };
      if (random.chance(0.05)) criteria.CartId = `cart-${random.int(0, 350)}`;
      const body = { cartSearchCriteria: criteria };
      const query = options(random.chance(0.9) ? random.int(0, 50) : undefined, random.int(0, 20), random.pick([undefined, 'ModifiedDateTime', 'ModifiedDateTime desc']));
      expect(received(searchCartsIndexed(data, body, query))).toEqual(received(searchCarts(data, body, query)));
    }
    const bad = { cartSearchCriteria: { LastModifiedDateTimeFrom: 'yesterday' } };
    expect(received(searchCartsIndexed(data, bad, options(10, 0)))).toEqual(received(searchCarts(data, bad, options(10, 0))));
  });

  test('customers and products by id, with duplicates and ids that do not exist', () => {
    for (let i = 0; i < 100; i++) {
      const accountNumbers = Array.from({ length: random.int(0, 30) }, () => (random.chance(0.1) ? '17' : `C${random.int(0, 80)}`));
      const query = options(random.chance(0.8) ? accountNumbers.length : random.int(0, 5), 0);
      expect(received(getCustomersIndexed(data, { accountNumbers }, query))).toEqual(received(getCustomers(data, { accountNumbers }, query)));

      const ids = Array.from({ length: random.int(0, 30) }, () => (random.chance(0.2) ? String(random.int(1, 40)) : random.int(1, 40)));
      const channelId = random.chance(0.9) ? data.channel.RecordId : 1;
      const body = { productSearchCriteria: { Ids: ids, Context: { ChannelId: channelId } } };
      expect(received(searchProductsIndexed(data, body, query))).toEqual(received(searchProducts(data, body, query)));
    }
    expect(received(getCustomersIndexed(data, { nope: true }, options(1, 0)))).toEqual(received(getCustomers(data, { nope: true }, options(1, 0))));
  });
});
