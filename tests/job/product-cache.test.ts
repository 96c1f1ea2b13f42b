import { ProductCache, type ProductRead } from '../../src/job/product-cache';
import type { Product } from '../../src/retail/models';

const product = (id: number): Product => ({ RecordId: id, ProductName: `Product ${id}` }) as Product;
const found = (lookup: { products: Map<number, Product> }) => [...lookup.products.keys()].sort((a, b) => a - b);

describe('ProductCache', () => {
  test('pages working at once share one lookup of the products they have in common', async () => {
    const cache = new ProductCache();
    const asked: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const read = async (ids: number[]) => {
      asked.push(ids);
      await gate;
      return { products: ids.filter((id) => id !== 404).map(product), failed: [] };
    };
    const first = cache.load([1, 2, 3, 404], read);
    const second = cache.load([2, 3, 4], read);
    release();
    const [one, two] = await Promise.all([first, second]);
    expect(asked).toEqual([[1, 2, 3, 404], [4]]);
    expect([found(one), found(two)]).toEqual([[1, 2, 3], [2, 3, 4]]);
    expect(two.products.get(2)?.RecordId).toBe(2);

    // Known ids, found or not, are never asked again.
    const again = await cache.load([1, 404, 4, 4], read);
    expect(asked).toHaveLength(2);
    expect(found(again)).toEqual([1, 4]);
  });

  test('a failed lookup fails every page waiting on it, and the ids may be asked again', async () => {
    const cache = new ProductCache();
    let calls = 0;
    const failing = async (): Promise<ProductRead> => {
      calls++;
      throw new Error('Retail Server down');
    };
    await expect(Promise.all([cache.load([7, 8], failing), cache.load([8], failing)])).rejects.toThrow('Retail Server down');
    expect(calls).toBe(1);
    const lookup = await cache.load([7, 8], async (ids) => ({ products: ids.map(product), failed: [] }));
    expect(found(lookup)).toEqual([7, 8]);
  });

  test('a product Retail Server could not look up is remembered as failed for the run, not as missing', async () => {
    const cache = new ProductCache();
    const asked: number[][] = [];
    const read = async (ids: number[]) => {
      asked.push(ids);
      return { products: ids.filter((id) => id !== 13).map(product), failed: ids.includes(13) ? [{ id: 13, reason: 'HTTP 500' }] : [] };
    };
    const first = await cache.load([12, 13], read);
    expect([found(first), [...first.failures]]).toEqual([[12], [[13, 'HTTP 500']]]);
    // The next page does not ask for it again (each ask would split a lookup to find it).
    const next = await cache.load([13, 14], read);
    expect(asked).toEqual([[12, 13], [14]]);
    expect([found(next), [...next.failures]]).toEqual([[14], [[13, 'HTTP 500']]]);
  });

  test('stays within its capacity, dropping the one used least lately first', async () => {
    const cache = new ProductCache(3);
    const asked: number[][] = [];
    const read = async (ids: number[]) => {
      asked.push(ids);
      return { products: ids.map(product), failed: [] };
    };
    await cache.load([1, 2, 3, 4], read);
    await cache.load([1, 4], read);
    expect(asked).toEqual([[1, 2, 3, 4], [1]]);
  });

  test('drops the product used least lately, not the one read first: a product every page asks for stays', async () => {
    const cache = new ProductCache(3);
    const asked: number[][] = [];
    const read = async (ids: number[]) => {
      asked.push(ids);
      return { products: ids.map(product), failed: [] };
    };
    await cache.load([1, 2, 3], read);
    // Product 1 is on this page too (a best seller): it was used after 2 and 3.
    await cache.load([1], read);
    await cache.load([4], read);
    await cache.load([1, 3, 4], read);
    expect(asked).toEqual([[1, 2, 3], [4]]);
  });

  test('a page gets every product it asked for, even when more than the capacity is read meanwhile', async () => {
    const cache = new ProductCache(3);
    const read = async (ids: number[]) => ({ products: ids.map(product), failed: [] });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // One page's read is still out while another page's read pushes the cache past its capacity.
    const slow = cache.load([1, 2], async (ids) => {
      await gate;
      return read(ids);
    });
    const waiting = cache.load([2, 9], read);
    await cache.load([10, 11, 12, 13], read);
    release();
    const [first, second] = await Promise.all([slow, waiting]);
    expect([found(first), found(second)]).toEqual([[1, 2], [2, 9]]);
    // One read of more ids than the cache holds hands the page all of them.
    expect(found(await cache.load([20, 21, 22, 23, 24], read))).toEqual([20, 21, 22, 23, 24]);
  });

  test('a page whose products another page is reading takes each of them once, not its list so far again', async () => {
    // Page sizes of 1,000 carts with a few dozen lines over a large catalogue put tens of thousands
    // of distinct products on a page, most of them in the read of the page in flight beside it. The
    // waiting page's list of them used to be copied for each id (n²/2 copies: 60,000 ids held the
    // run's only thread for about a minute, 10,000 for 0.2 s); at 200,000 that never ends.
    const cache = new ProductCache(300_000);
    const ids = Array.from({ length: 200_000 }, (_, i) => i + 1);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reads = 0;
    const first = cache.load(ids, async (asked) => {
      reads++;
      await gate;
      return { products: asked.map(product), failed: [] };
    });
    const second = cache.load(ids, async (asked) => {
      reads++;
      return { products: asked.map(product), failed: [] };
    });
    release();
    const [one, two] = await Promise.all([first, second]);
    expect(reads).toBe(1);
    expect([one.products.size, two.products.size]).toEqual([200_000, 200_000]);
  });
});
