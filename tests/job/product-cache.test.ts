import { ProductCache } from '../../src/job/product-cache';
import type { Product } from '../../src/retail/models';

const product = (id: number): Product => ({ RecordId: id, ProductName: `Product ${id}` }) as Product;

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
    await Promise.all([first, second]);
    expect(asked).toEqual([[1, 2, 3, 404], [4]]);
    expect(cache.get(2)?.RecordId).toBe(2);
    expect(cache.get(4)?.RecordId).toBe(4);
    expect(cache.get(404)).toBeUndefined();

    // Known ids, found or not, are never asked again.
    await cache.load([1, 404, 4], read);
    expect(asked).toHaveLength(2);
  });

  test('a failed lookup fails every page waiting on it, and the ids may be asked again', async () => {
    const cache = new ProductCache();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('Retail Server down');
    };
    await expect(Promise.all([cache.load([7, 8], failing), cache.load([8], failing)])).rejects.toThrow('Retail Server down');
    expect(calls).toBe(1);
    await cache.load([7, 8], async (ids) => ({ products: ids.map(product), failed: [] }));
    expect(cache.get(8)?.RecordId).toBe(8);
  });

  test('a product Retail Server could not look up is remembered as failed for the run, not as missing', async () => {
    const cache = new ProductCache();
    const asked: number[][] = [];
    const read = async (ids: number[]) => {
      asked.push(ids);
      return { products: ids.filter((id) => id !== 13).map(product), failed: ids.includes(13) ? [{ id: 13, reason: 'HTTP 500' }] : [] };
    };
    await cache.load([12, 13], read);
    expect([cache.get(12)?.RecordId, cache.get(13), cache.failure(13), cache.failure(12)]).toEqual([12, undefined, 'HTTP 500', undefined]);
    // The next page does not ask for it again (each ask would split a lookup to find it).
    await cache.load([13, 14], read);
    expect(asked).toEqual([[12, 13], [14]]);
  });

  test('stays within its capacity, dropping the oldest first', async () => {
    const cache = new ProductCache(3);
    await cache.load([1, 2, 3, 4], async (ids) => ({ products: ids.map(product), failed: [] }));
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(4)?.RecordId).toBe(4);
  });
});
