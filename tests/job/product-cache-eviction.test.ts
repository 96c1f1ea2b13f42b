import { buildSimulatorData, cartRecord, customerRecord, productRecord } from '../../src/simulators/retail-server';
import { startHarness, type Harness } from '../support/harness';

/**
 * The run's product cache is bounded (10,000 products, the one used least lately dropped first). A page must get the
 * products it asked for even when the products read since, by it or by the pages worked beside it,
 * push the cache past that bound: once, a page read them into the cache and took them out
 * afterwards, and products Retail Server had returned were gone by then; their lines counted as
 * `product-not-found` and a cart that lost them all was skipped for good as `no-products-found`.
 * Here 99 carts of 205 distinct products each (about 10,250 products per page of the run's two
 * pages), and one cart, the oldest, whose only product is read first and so dropped first.
 */
const NOW = '2026-11-23T12:00:00Z';

function seed() {
  const products = [productRecord(1)];
  const carts = [cartRecord({ id: 'cart-first', customerId: 'C000', modifiedDateTime: '2026-11-23T09:00:00Z', lines: [{ productId: 1 }] })];
  let next = 2;
  for (let c = 1; c < 100; c++) {
    const lines = [];
    for (let l = 0; l < 205; l++) {
      products.push(productRecord(next));
      lines.push({ productId: next++ });
    }
    carts.push(cartRecord({ id: `cart-${String(c).padStart(3, '0')}`, customerId: `C${String(c).padStart(3, '0')}`, modifiedDateTime: `2026-11-23T10:${String(c % 60).padStart(2, '0')}:00Z`, lines }));
  }
  const customers = carts.map((cart) => customerRecord(String(cart.CustomerId)));
  return buildSimulatorData({ customers, products, carts });
}

describe('the run-wide product cache', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ data: seed(), now: NOW, knownContacts: Array.from({ length: 100 }, (_, i) => `c${String(i).padStart(3, '0')}@example.com`) });
  });
  afterEach(() => h.close());

  test('a product Retail Server returned is not lost before the page that asked for it uses it', async () => {
    const report = await h.run({}, { RetailServerClientOptions__PageSize: '100' });
    expect(report.status).toBe('completed');
    // Every product exists, so no line may be dropped as not found and no cart skipped for it.
    expect(report.carts.skippedByReason['no-products-found'] ?? 0).toBe(0);
    expect(report.carts.notified).toBe(100);
  }, 120_000);
});
