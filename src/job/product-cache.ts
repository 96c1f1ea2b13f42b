import type { Product } from '../retail/models';

/** What one read of products found: the products, and the ids Retail Server failed for (see lookup-isolation). */
export interface ProductRead {
  products: readonly Product[];
  failed: readonly { id: number; reason: string }[];
}

/** What a page gets for the product ids it asked: each found product, and why each failed one failed. */
export interface ProductLookup {
  products: Map<number, Product>;
  /** Ids Retail Server failed every lookup of in this run, and why. */
  failures: Map<number, string>;
}

/** One read's answer, by id: a product, `null` when Retail Server has no such product, or why the lookup failed. */
type Answer = Map<number, Product | null | { failed: string }>;

/**
 * Products repeat from page to page (a store has far fewer products than carts), so a run reads
 * each product once, and pages worked at the same time share one lookup of the products they
 * have in common instead of each asking for them. A product Retail Server fails to look up is
 * remembered as such for the run, so that each page does not split its lookup again to find it.
 * Bounded, the product used least lately dropped first, so memory does not follow the window and
 * the products most pages ask for stay; what a page asked for is
 * handed to it, so that products other pages read meanwhile cannot push its own out before it
 * uses them.
 */
export class ProductCache {
  private readonly entries = new Map<number, Product | null>();
  private readonly failures = new Map<number, string>();
  private readonly pending = new Map<number, Promise<Answer>>();
  constructor(private readonly capacity = 10_000) {}

  /**
   * The products `ids` name: those known at once, those being read by another page when that read
   * ends, and the rest in one `read`. A failed `read` fails every page waiting on it, and its ids
   * may be asked again.
   */
  async load(ids: readonly number[], read: (ids: number[]) => Promise<ProductRead>): Promise<ProductLookup> {
    const lookup: ProductLookup = { products: new Map(), failures: new Map() };
    const missing: number[] = [];
    const waits = new Map<Promise<Answer>, number[]>();
    for (const id of new Set(ids)) {
      const failure = this.failures.get(id);
      const reading = this.pending.get(id);
      if (failure !== undefined) lookup.failures.set(id, failure);
      else if (this.entries.has(id)) {
        // Used now: moved to the end, so the products dropped first are those used least lately
        // (a best seller on every page stays, whenever it was first read).
        const known = this.entries.get(id) as Product | null;
        this.entries.delete(id);
        this.entries.set(id, known);
        take(lookup, id, known);
      }
      else if (reading) {
        // Appended in place: copying the list for each id made a page sharing tens of thousands of
        // products with another page's read quadratic.
        const asked = waits.get(reading);
        if (asked) asked.push(id);
        else waits.set(reading, [id]);
      } else missing.push(id);
    }
    if (missing.length > 0) {
      const reading = read(missing)
        .then((found) => this.remember(missing, found))
        .finally(() => {
          for (const id of missing) this.pending.delete(id);
        });
      for (const id of missing) this.pending.set(id, reading);
      waits.set(reading, missing);
    }
    await Promise.all(
      [...waits].map(async ([reading, asked]) => {
        const answer = await reading;
        for (const id of asked) take(lookup, id, answer.get(id));
      }),
    );
    return lookup;
  }

  private remember(asked: readonly number[], found: ProductRead): Answer {
    const answer: Answer = new Map(asked.map((id) => [id, null]));
    for (const product of found.products) if (answer.has(product.RecordId)) answer.set(product.RecordId, product);
    for (const { id, reason } of found.failed) {
      answer.set(id, { failed: reason });
      this.failures.set(id, reason);
      if (this.failures.size > this.capacity) this.failures.delete(this.failures.keys().next().value as number);
    }
    for (const [id, value] of answer) {
      if (value !== null && 'failed' in value) continue;
      this.entries.delete(id);
      this.entries.set(id, value);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as number);
    }
    return answer;
  }
}

function take(lookup: ProductLookup, id: number, value: Product | null | { failed: string } | undefined): void {
  if (value === null || value === undefined) return;
  if ('failed' in value) lookup.failures.set(id, value.failed);
  else lookup.products.set(id, value);
}
