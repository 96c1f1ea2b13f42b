import { createHash } from 'node:crypto';

/**
 * A fixed piece of the work a run does most of: parse a Retail Server page of 1,000 carts from
 * JSON, hash each cart's id, build a payload per cart and serialize the batch. Timed just before
 * each scenario, in the orchestrator (the job process starts with the heap it would have anyway).
 * The job's wall time here follows the CPU's speed (the pipelined run at 100,000 carts is
 * CPU-bound), and a shared cloud machine's speed changes from one day to the next: this figure,
 * the median of 15 rounds, tells a slower machine from a slower job when two runs of the
 * benchmark are compared. Lower is faster.
 */

const CARTS = 1000;
const WARM_UP_ROUNDS = 5;
const ROUNDS = 15;

export function measureCpuReference(): number {
  const page = JSON.stringify({ value: Array.from({ length: CARTS }, (_, i) => referenceCart(i)) });
  const round = (): number => {
    const started = performance.now();
    const { value } = JSON.parse(page) as { value: ReturnType<typeof referenceCart>[] };
    const contacts = value.map((cart) => ({
      external_id: `cart-${createHash('sha256').update(`${cart.Id}\n${cart.ModifiedDateTime}`).digest('hex').slice(0, 40)}`,
      data: {
        cartId: cart.Id,
        orderDetails: cart.CartLines.map((line) => ({
          productId: String(line.ProductId),
          quantity: line.Quantity,
          price: line.Price.toFixed(2),
          productImage: { viewPortImages: ['xs', 'sm', 'md', 'lg'].map((size) => ({ size, url: `https://images.example.com/${line.ProductId}?w=${size}` })) },
        })),
      },
    }));
    JSON.stringify({ key_id: 3, contacts });
    return performance.now() - started;
  };
  for (let i = 0; i < WARM_UP_ROUNDS; i++) round();
  const times = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
  return times[Math.floor(ROUNDS / 2)] ?? 0;
}

function referenceCart(i: number) {
  return {
    Id: `reference-cart-${String(i).padStart(7, '0')}`,
    ModifiedDateTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    CustomerId: `BC${String(i).padStart(7, '0')}`,
    CartTypeValue: 1,
    TotalAmount: 10 + (i % 90),
    CartLines: Array.from({ length: 1 + (i % 5) }, (_, k) => ({
      LineId: `${i}-${k}`,
      ProductId: 68719476736 + ((i * 7 + k) % 500),
      ItemId: `ITEM-${(i * 7 + k) % 500}`,
      Quantity: 1 + (k % 3),
      Price: 5 + (k % 60),
      IsVoided: false,
    })),
  };
}
