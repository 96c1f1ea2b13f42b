import type { Product } from '../retail/models';

/** What one read of products found: the products, and the ids Retail Server failed for (see lookup-isolation). */
export interface ProductRead {
  products: readonly Product[];
  failed: readonly { id: number; reason: string }[];
}

/**
 * Products repeat from page to page (a store has far fewer products than carts), so a run reads
 * each product once, and pages worked at the same time share one lookup of the products they
 * have in common instead of each asking for them. A product Retail Server fails to look up is
 * remembered as such for the run, so that each page does not split its lookup again to find it.
 * Bounded, oldest dropped first, so memory does not follow the window.
 */
export class ProductCache {
  private readonly entries = new Map<number, Product | null>();
  private readonly failures = new Map<number, string>();
  private readonly pending = new Map<number, Promise<void>>();
  constructor(private readonly capacity = 10_000) {}

  /** Reads the ids neither known nor being read (one `read` for them all) and waits for those another page is reading. */
  async load(ids: readonly number[], read: (ids: number[]) => Promise<ProductRead>): Promise<void> {
    const missing = ids.filter((id) => !this.entries.has(id) && !this.failures.has(id) && !this.pending.has(id));
    const waits = new Set<Promise<void>>();
    for (const id of ids) {
      const reading = this.pending.get(id);
      if (reading) waits.add(reading);
    }
    if (missing.length > 0) {
      const reading = read(missing)
        .then((found) => this.remember(missing, found))
        .finally(() => {
          for (const id of missing) this.pending.delete(id);
        });
      for (const id of missing) this.pending.set(id, reading);
      waits.add(reading);
    }
    await Promise.all(waits);
  }

  private remember(asked: readonly number[], found: ProductRead): void {
    const byId = new Map(found.products.map((product) => [product.RecordId, product]));
    for (const { id, reason } of found.failed) {
      this.failures.set(id, reason);
      if (this.failures.size > this.capacity) this.failures.delete(this.failures.keys().next().value as number);
    }
    for (const id of asked) {
      if (this.failures.has(id)) continue;
      this.entries.delete(id);
      this.entries.set(id, byId.get(id) ?? null);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as number);
    }
  }

  get(id: number): Product | undefined {
    return this.entries.get(id) ?? undefined;
  }

  /** Why Retail Server could not look this product up in this run, if it could not. */
  failure(id: number): string | undefined {
    return this.failures.get(id);
  }
}
