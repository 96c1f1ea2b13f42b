import { LatestCarts } from '../../src/job/latest-carts';

const start = new Date('2026-11-23T00:00:00Z');
const cart = (id: string, customer: string, at: string, email?: string, ticks = 0) => ({
  Id: id,
  CustomerId: customer,
  ReceiptEmail: email,
  ModifiedDateTime: new Date(`2026-11-23T${at}Z`),
  ModifiedTicks: ticks,
});

describe('LatestCarts', () => {
  test('the newest cart per customer counts; account numbers ignore case and padding', () => {
    const latest = new LatestCarts(start);
    const offer = latest.reader();
    const carts = [cart('a1', 'C1', '01:00:00'), cart('b1', 'c2', '01:30:00'), cart('a2', ' c1 ', '02:00:00'), cart('b2', 'C2', '01:45:00')];
    carts.forEach(offer);
    expect(carts.map((c) => latest.isLatest(c))).toEqual([false, false, true, true]);
    expect(latest.size).toBe(2);
  });

  test('anonymous carts are told apart by receipt email, apart from accounts', () => {
    const latest = new LatestCarts(start);
    const offer = latest.reader();
    const carts = [cart('e1', '', '01:00:00', 'Ann@Example.com'), cart('e2', '', '02:00:00', 'ann@example.com '), cart('x', 'ann@example.com', '00:30:00')];
    carts.forEach(offer);
    expect(carts.map((c) => latest.isLatest(c))).toEqual([false, true, true]);
  });

  test('carts of a customer at the same instant: the greatest id counts, whatever order they come in', () => {
    for (const order of [['m', 'z', 'a'], ['z', 'a', 'm'], ['a', 'm', 'z']]) {
      const latest = new LatestCarts(start);
      const offer = latest.reader();
      offer(cart('older', 'C1', '00:59:59'));
      for (const id of order) offer(cart(id, 'C1', '01:00:00'));
      offer(cart('other', 'C2', '01:00:00'));
      expect(['older', 'a', 'm', 'z'].map((id) => latest.isLatest(cart(id, 'C1', id === 'older' ? '00:59:59' : '01:00:00')))).toEqual([false, false, false, true]);
      expect(latest.isLatest(cart('other', 'C2', '01:00:00'))).toBe(true);
    }
  });

  test('carts of a customer in one millisecond: the later ticks count before the id, whatever order they come in', () => {
    // Retail Server keeps 100 ns: 'a' at .1239999 is newer than 'z' at .1230001, though both are 123 ms.
    const tied = [cart('z', 'C1', '01:00:00.123', undefined, 1), cart('a', 'C1', '01:00:00.123', undefined, 9999), cart('m', 'C1', '01:00:00.123', undefined, 9999)];
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const latest = new LatestCarts(start);
      const offer = latest.reader();
      for (const i of order) offer(tied[i] as (typeof tied)[number]);
      // Same ticks for 'a' and 'm': the greater id.
      expect(tied.map((c) => latest.isLatest(c))).toEqual([false, false, true]);
    }
  });

  test('a newer cart ends a tie', () => {
    const latest = new LatestCarts(start);
    const offer = latest.reader();
    offer(cart('b', 'C1', '01:00:00'));
    offer(cart('a', 'C1', '01:00:00'));
    offer(cart('c', 'C1', '02:00:00'));
    expect(['a', 'b'].map((id) => latest.isLatest(cart(id, 'C1', '01:00:00')))).toEqual([false, false]);
    expect(latest.isLatest(cart('c', 'C1', '02:00:00'))).toBe(true);
  });

  test('out of order, exactly one of the tied carts still counts', () => {
    const latest = new LatestCarts(start);
    const offer = latest.reader();
    offer(cart('b', 'C1', '01:00:00'));
    offer(cart('n', 'C9', '03:00:00')); // time moves on before the tie partner arrives
    offer(cart('a', 'C1', '01:00:00'));
    const counted = ['a', 'b'].filter((id) => latest.isLatest(cart(id, 'C1', '01:00:00')));
    expect(counted).toHaveLength(1);
  });

  test('slices read at once keep their own instants', () => {
    const latest = new LatestCarts(start);
    const early = latest.reader();
    const late = latest.reader();
    early(cart('a', 'C1', '01:00:00'));
    late(cart('x', 'C2', '03:00:00'));
    early(cart('b', 'C1', '01:00:00'));
    expect(['a', 'b'].map((id) => latest.isLatest(cart(id, 'C1', '01:00:00')))).toEqual([false, true]);
  });

  test('a customer the survey did not see has no other cart to prefer', () => {
    expect(new LatestCarts(start).isLatest(cart('new', 'C7', '01:00:00'))).toBe(true);
  });
});
