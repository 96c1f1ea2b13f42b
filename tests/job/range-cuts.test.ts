import { RangeCuts } from '../../src/job/range-cuts';

describe('RangeCuts', () => {
  test('cuts before a complete timestamp about every `granularity` carts, never inside a run of ties', () => {
    const cuts = new RangeCuts(0, 3);
    // One page: 1, 2, 2, 2, 3, 5, 5, 8 (8 is the page's newest, so not complete yet).
    cuts.addPage([1, 2, 2, 2, 3, 5, 5, 8]);
    // 1 + three at 2 = 4 carts >= 3: cut before 3; then 3 + two at 5 = 3: cut before 8.
    expect(cuts.at).toEqual([0, 3, 8]);
    expect(cuts.counts).toEqual([4, 3]);
    expect(cuts.openCarts).toBe(1);
  });

  test('the page newest stays open until a later page shows it complete', () => {
    const cuts = new RangeCuts(0, 2);
    cuts.addPage([5, 5]); // nothing older than 5 on this page
    expect(cuts.at).toEqual([0]);
    cuts.addPage([5, 5, 6]); // the next page starts at 5: its ties, then 6
    expect(cuts.at).toEqual([0, 6]);
    expect(cuts.counts).toEqual([4]);
    expect(cuts.openCarts).toBe(1);
  });

  test('cutAt closes the open range at an instant; unreadable records count where they came', () => {
    const cuts = new RangeCuts(0, 100);
    cuts.addPage([1, undefined, 2, 9]);
    cuts.cutAt(9);
    expect(cuts.at).toEqual([0, 9]);
    expect(cuts.counts).toEqual([3]);
    expect(cuts.openCarts).toBe(1);
    cuts.cutAt(9); // no empty range
    expect(cuts.at).toEqual([0, 9]);
  });

  test('every cart lands in exactly one range', () => {
    const times = Array.from({ length: 500 }, (_, i) => Math.floor(i / 3) * 7);
    const cuts = new RangeCuts(0, 25);
    for (let i = 0; i < times.length; i += 40) cuts.addPage(times.slice(i, i + 40));
    const total = cuts.counts.reduce((a, b) => a + b, 0) + cuts.openCarts;
    expect(total).toBe(500);
    for (const n of cuts.counts) expect(n).toBeGreaterThanOrEqual(25);
    for (let i = 0; i < cuts.counts.length; i++) {
      const [from, to] = [cuts.at[i] as number, cuts.at[i + 1] as number];
      expect(times.filter((t) => t >= from && t < to)).toHaveLength(cuts.counts[i] as number);
    }
  });
});
