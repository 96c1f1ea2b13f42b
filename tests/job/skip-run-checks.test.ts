import type { CartSearchQuery } from '../../src/retail/retail-client';
import { changeable, from, id, readAll, to } from '../support/unreadable-paging';

/**
 * The check of each `$skip` step inside a run of carts at one instant (is the last cart read
 * still in its place?), at its edges: the cart that moved into that place is one Retail Server
 * cannot load, and a Retail Server whose order of carts at one instant changes from one search
 * to the next.
 */
const instant = new Date(from.getTime() + 10 * 60_000);

function moveOut(data: ReturnType<typeof changeable>['data'], cartId: string): void {
  const cart = data.carts.find((record) => record.Id === cartId) as { ModifiedDateTime: string };
  cart.ModifiedDateTime = new Date(to.getTime() + 3_600_000).toISOString();
}

test('a cart that leaves the instant, with one Retail Server cannot load moving into its place: the read goes on past that one', async () => {
  // Six carts at minute 10; cart-02 is one Retail Server cannot load. Pages of 2.
  const { retail, data } = changeable([10, 10, 10, 10, 10, 10], new Set([id(2)]));
  let searches = 0;
  let moved = false;
  const watched = {
    async searchCarts(query: CartSearchQuery) {
      // Once the instant's first two positions have been stepped over, cart-00 leaves the instant.
      if (++searches > 1 && query.skip > 0 && !moved) {
        moved = true;
        moveOut(data, id(0));
      }
      return retail.searchCarts(query);
    },
  };
  // Once, the check's own search failed on that cart (HTTP 500) and failed the read.
  expect(await readAll(watched, { from: instant, to, cartIdsDoneAtFrom: [] }, 2)).toEqual([id(0), id(1), '!', id(3), id(4), id(5)]);
});

test('a Retail Server that orders carts at one instant differently on every search: the read ends, every cart read', async () => {
  const { retail } = changeable([10, 10, 10, 10, 10, 10, 10, 10, 10, 10], new Set());
  let searches = 0;
  const shuffled = {
    async searchCarts(query: CartSearchQuery) {
      searches++;
      const records = await retail.searchCarts({ ...query, top: 1000, skip: 0 });
      // A different order of the instant's carts each time (a rotation by the search's number).
      const turn = searches % records.length;
      const order = [...records.slice(turn), ...records.slice(0, turn)];
      return order.slice(query.skip, query.skip + query.top);
    },
  };
  const read = await readAll(shuffled, { from: instant, to, cartIdsDoneAtFrom: [] }, 3);
  // Every check fails; after three reads of the instant from its start the steps go on without it.
  expect(new Set(read).size).toBe(read.length);
  expect(searches).toBeLessThan(40);
});

test('a cart that leaves the instant after the check of the last place but before the next page is answered: no cart stepped over', async () => {
  // Six carts at minute 10, pages of 2. cart-00 leaves the instant while the third page's search
  // is on its way: every position moves up one, so that search answers [cart-05] alone. (Checked
  // before that search, the last place still held cart-03, and cart-04 was stepped over.)
  const { retail, data } = changeable([10, 10, 10, 10, 10, 10], new Set());
  const watched = {
    async searchCarts(query: CartSearchQuery) {
      if (query.skip === 4 && query.top === 2 && data.carts.some((cart) => cart.Id === id(0) && cart.ModifiedDateTime === instant.toISOString())) moveOut(data, id(0));
      return retail.searchCarts(query);
    },
  };
  expect(await readAll(watched, { from: instant, to, cartIdsDoneAtFrom: [] }, 2)).toEqual([id(0), id(1), id(2), id(3), id(4), id(5)]);
});
