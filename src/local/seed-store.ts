import { cartRecord, channelRecord, type CartLineSpec, type RawRecord, type SimulatorData } from '../simulators/retail-server';
import { seededRandom, type Random } from './random';
import { catalogueProductRecord, DISCONTINUED_PRODUCT_IDS, PRODUCTS, type CatalogueProduct } from './seed/catalogue';
import { PEOPLE, personRecord } from './seed/customers';

/**
 * The store `npm run local` runs against: one online channel (EUR, en-us), the catalogue in
 * seed/catalogue.ts, the customers in seed/customers.ts, and carts planted around `now` so that
 * one run of the connector meets every case it handles. With the connector's default window
 * (carts modified between 500 and 10 minutes ago) and anonymous carts left out (the default):
 *
 * | Planted                                                   | What the run does                         |
 * | --------------------------------------------------------- | ----------------------------------------- |
 * | one cart in the window, 1 to 6 lines (most customers)     | one reminder                              |
 * | several carts in the window for one customer              | reminder for the newest, others superseded |
 * | a cart in the window and an older one before it           | reminder; the old one is never read       |
 * | a cart in the window and a newer, too recent one          | reminder now; the next run sees the other |
 * | names that look like HTML, a very long name               | reminder, the template must escape        |
 * | fractional quantities (fabric by the metre), a gift card  | reminder; the gift card line is left out  |
 * | a voided line beside active ones                          | reminder without the voided line          |
 * | only voided lines                                         | skipped: no-active-lines                  |
 * | a discontinued product beside existing ones               | reminder, that line dropped               |
 * | only discontinued products                                | skipped: no-products-found                |
 * | customer without email (null, empty, blank)               | skipped: customer-without-email           |
 * | customer whose email is not an address                    | skipped: invalid-email                    |
 * | account number the store does not know                    | skipped: customer-not-found               |
 * | modified less than 10 minutes ago                         | not read (left for a later run)           |
 * | modified more than 500 minutes ago, over the last 3 days  | not read                                  |
 * | wish lists (CartTypeValue 2)                              | not read (only shopping carts are)        |
 * | anonymous, with and without ReceiptEmail                  | not read; with IncludeAnonymous, reminders |
 * |                                                           | to receipt emails, the others skipped     |
 *
 * Each cart's `Comment` (a field real carts have and the connector ignores) says which case it is.
 * Everything random (cart ids, which products, quantities, exact times) comes from a seeded
 * generator, so a seed and a `now` always give the same store.
 */

export const DEFAULT_SEED = 20261122;

export interface LocalStoreOptions {
  /** Cart times are planted relative to this instant. */
  now: Date;
  seed?: number;
}

/** The connector's defaults for IncludeAbandonedCartsModifiedSinceLastMinutes and Exclude...; see src/config/schema.ts. */
export const DEFAULT_WINDOW = { includeMinutes: 500, excludeMinutes: 10 } as const;

export interface StoreWindow {
  includeMinutes: number;
  excludeMinutes: number;
}

/**
 * Minutes before `now` for each kind of cart. The bands keep clear of the window's edges, so a run
 * that starts a minute or two after the store was built still sees the same split.
 */
const AGE_BANDS = {
  'in-window': [20, 480],
  'too-recent': [0.5, 5],
  'too-old': [540, 71 * 60],
} as const satisfies Record<string, readonly [number, number]>;

type Age = keyof typeof AGE_BANDS;

const SHOPPING_CART = 1;
const WISH_LIST = 2;

const PRODUCT_BY_ID: ReadonlyMap<number, CatalogueProduct> = new Map(PRODUCTS.map((product) => [product.recordId, product]));
const ORDINARY_PRODUCTS = PRODUCTS.filter((product) => !product.giftCard && !product.byLength);

/** The catalogue product whose name starts with `name` (the whole name, or enough of a long one). */
function productNamed(name: string): CatalogueProduct {
  const product = PRODUCTS.find((candidate) => candidate.name.startsWith(name));
  if (!product) throw new Error(`the local catalogue has no product named ${name}`);
  return product;
}

function roundMoney(amount: number): number {
  return Math.round(amount * 100) / 100;
}

interface PlantedCart {
  /** Which case the cart stands for; kept in its Comment field. */
  story: string;
  /** Account number; omitted for an anonymous cart. */
  customer?: string;
  receiptEmail?: string;
  age: Age;
  lines: CartLineSpec[];
  cartType?: number;
}

/** Plants carts one after another, drawing ids, times and lines from one seeded generator. */
class CartPlanter {
  readonly carts: RawRecord[] = [];

  constructor(
    private readonly random: Random,
    private readonly now: Date,
  ) {}

  plant(cart: PlantedCart): void {
    const record = cartRecord({
      id: this.cartId(),
      customerId: cart.customer ?? '',
      modifiedDateTime: this.timeFor(cart.age),
      lines: cart.lines,
      cartTypeValue: cart.cartType ?? SHOPPING_CART,
      overrides: { Comment: cart.story },
      ...(cart.receiptEmail !== undefined ? { receiptEmail: cart.receiptEmail } : {}),
    });
    this.carts.push(withCatalogueDetails(record));
  }

  /** `count` different ordinary products (random count of 1 to 6 when omitted), 1 to 3 of each, mostly 1. */
  randomLines(count = this.random.int(1, 6)): CartLineSpec[] {
    const pool = [...ORDINARY_PRODUCTS];
    const lines: CartLineSpec[] = [];
    for (let index = 0; index < count && pool.length > 0; index++) {
      const [product] = pool.splice(this.random.int(0, pool.length - 1), 1);
      if (product) lines.push(line(product, this.random.pick([1, 1, 1, 2, 2, 3])));
    }
    return lines;
  }

  /** Commerce cart ids are 32 random letters and digits. */
  private cartId(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let id = '';
    for (let index = 0; index < 32; index++) id += alphabet[this.random.int(0, alphabet.length - 1)];
    return id;
  }

  private timeFor(age: Age): string {
    const [newest, oldest] = AGE_BANDS[age];
    const minutesAgo = this.random.between(newest, oldest);
    return new Date(this.now.getTime() - Math.round(minutesAgo * 60_000)).toISOString();
  }
}

function line(product: CatalogueProduct, quantity: number, isVoided = false): CartLineSpec {
  return { productId: product.recordId, quantity, price: product.price, isVoided };
}

function discontinuedLine(productId: number): CartLineSpec {
  return { productId, quantity: 1, price: 25 };
}

/** Lines as Commerce fills them: the product name as description, gift cards flagged, money in cents. */
function withCatalogueDetails(cart: RawRecord): RawRecord {
  const lines = (cart.CartLines as RawRecord[]).map((cartLine): RawRecord & { ExtendedPrice: number } => {
    const product = PRODUCT_BY_ID.get(Number(cartLine.ProductId));
    return {
      ...cartLine,
      Description: product?.name ?? 'Discontinued item',
      IsGiftCardLine: product?.giftCard === true,
      ExtendedPrice: roundMoney(Number(cartLine.ExtendedPrice)),
    };
  });
  const subtotal = roundMoney(lines.filter((cartLine) => !cartLine.IsVoided).reduce((sum, cartLine) => sum + cartLine.ExtendedPrice, 0));
  return { ...cart, CartLines: lines, SubtotalAmount: subtotal, TotalAmount: subtotal };
}

function plantScenarios(planter: CartPlanter): void {
  const randomLines = (count?: number) => planter.randomLines(count);

  // One cart in the window, reminded: the plain case, in every language and with and without
  // a customer Language (the channel's en-us then), and one customer with no name at all.
  for (const customer of ['C00105', 'C00120', 'C00135', 'C00136', 'C00138', 'C00140', 'C00143', 'C00144', 'C00145', 'C00146']) {
    planter.plant({ story: 'one cart in the window: reminded', customer, age: 'in-window', lines: randomLines() });
  }
  planter.plant({ story: 'the fullest cart: six lines', customer: 'C00113', age: 'in-window', lines: randomLines(6) });
  planter.plant({
    story: 'product names that look like HTML, and a very long one: shown as text',
    customer: 'C00104',
    age: 'in-window',
    lines: [
      line(productNamed('Tee "Classic" <b>bold</b> & co'), 2),
      line(productNamed("Mug <script>alert('cart')</script>"), 1),
      line(productNamed('Ruler 30 cm & 12" – <metric/imperial>'), 3),
      line(productNamed('Extra-wide weekend duffel bag'), 1),
    ],
  });
  planter.plant({
    story: 'fabric by the metre: a fractional quantity',
    customer: 'C00118',
    age: 'in-window',
    lines: [line(productNamed('Linen fabric, natural (per metre)'), 1.5), ...randomLines(1)],
  });
  planter.plant({
    story: 'fabric by the metre: a fractional quantity, customer without a Language',
    customer: 'C00127',
    age: 'in-window',
    lines: [line(productNamed('Baumwollstoff, gestreift (Meterware)'), 2.5), line(productNamed('Reusable gift box'), 1)],
  });
  planter.plant({
    story: 'a gift card beside products: the gift card line is left out',
    customer: 'C00128',
    age: 'in-window',
    lines: [line(productNamed('Gift card'), 1), ...randomLines(2)],
  });
  planter.plant({
    story: 'a voided line beside active ones: reminded without it',
    customer: 'C00122',
    age: 'in-window',
    lines: randomLines(3).map((spec, index) => (index === 1 ? { ...spec, isVoided: true } : spec)),
  });

  // Several carts for one customer: one reminder, for the newest in the window.
  for (const [customer, count] of [['C00101', 3], ['C00112', 2], ['C00121', 2], ['C00129', 2]] as const) {
    for (let index = 0; index < count; index++) {
      planter.plant({ story: `one of ${count} carts in the window: only the newest is reminded`, customer, age: 'in-window', lines: randomLines() });
    }
  }
  for (const customer of ['C00102', 'C00115']) {
    planter.plant({ story: 'a cart in the window: reminded', customer, age: 'in-window', lines: randomLines() });
    planter.plant({ story: 'an older cart of the same customer, before the window: not read', customer, age: 'too-old', lines: randomLines() });
  }
  planter.plant({ story: 'a cart in the window: reminded', customer: 'C00103', age: 'in-window', lines: randomLines() });
  planter.plant({ story: 'a newer cart of the same customer, too recent: for a later run', customer: 'C00103', age: 'too-recent', lines: randomLines() });

  // Wish lists are carts too, but not shopping carts: never reminded.
  planter.plant({ story: 'a wish list: not a shopping cart', customer: 'C00107', age: 'in-window', lines: randomLines(), cartType: WISH_LIST });
  planter.plant({ story: 'a wish list beside a shopping cart: not a shopping cart', customer: 'C00130', age: 'in-window', lines: randomLines(), cartType: WISH_LIST });
  planter.plant({ story: 'a shopping cart beside a wish list: reminded', customer: 'C00130', age: 'in-window', lines: randomLines() });

  // In the window, but nothing to send.
  for (const customer of ['C00110', 'C00119']) {
    planter.plant({
      story: 'only voided lines: skipped (no-active-lines)',
      customer,
      age: 'in-window',
      lines: randomLines().map((spec) => ({ ...spec, isVoided: true })),
    });
  }
  planter.plant({
    story: 'a discontinued product beside existing ones: that line is dropped',
    customer: 'C00111',
    age: 'in-window',
    lines: [...randomLines(2), discontinuedLine(DISCONTINUED_PRODUCT_IDS[0])],
  });
  planter.plant({
    story: 'only discontinued products: skipped (no-products-found)',
    customer: 'C00126',
    age: 'in-window',
    lines: DISCONTINUED_PRODUCT_IDS.map(discontinuedLine),
  });
  for (const customer of ['C00106', 'C00117', 'C00125', 'C00133', 'C00142']) {
    planter.plant({ story: 'customer without email: skipped (customer-without-email)', customer, age: 'in-window', lines: randomLines() });
  }
  planter.plant({ story: 'customer email is not an address: skipped (invalid-email)', customer: 'C00131', age: 'in-window', lines: randomLines() });
  planter.plant({ story: 'account unknown to the store: skipped (customer-not-found)', customer: 'C09999', age: 'in-window', lines: randomLines() });

  // Outside the window: not read at all.
  for (const customer of ['C00108', 'C00114', 'C00123', 'C00132', 'C00139']) {
    planter.plant({ story: 'modified moments ago, still being edited: left for a later run', customer, age: 'too-recent', lines: randomLines() });
  }
  for (const customer of ['C00109', 'C00116', 'C00124', 'C00134', 'C00137', 'C00141']) {
    planter.plant({ story: 'modified long before the window: not read', customer, age: 'too-old', lines: randomLines() });
  }

  // Anonymous carts: read only with IncludeAnonymous, and then reminded at their receipt email.
  for (const receiptEmail of ['guest.lisa@example.com', 'guest.lisa@example.com', 'gast.tobias@example.com', 'guest.yuki@example.com']) {
    planter.plant({ story: 'anonymous with a receipt email: reminded when IncludeAnonymous', receiptEmail, age: 'in-window', lines: randomLines() });
  }
  planter.plant({ story: 'anonymous without a receipt email: skipped (anonymous-without-email)', age: 'in-window', lines: randomLines() });
  planter.plant({ story: 'anonymous with an empty receipt email: skipped (anonymous-without-email)', receiptEmail: '', age: 'in-window', lines: randomLines() });
  planter.plant({ story: 'anonymous, modified long before the window: not read', receiptEmail: 'guest.old@example.com', age: 'too-old', lines: randomLines() });
  planter.plant({ story: 'anonymous, modified moments ago: left for a later run', receiptEmail: 'guest.new@example.com', age: 'too-recent', lines: randomLines() });
}

/** Builds the local store. The same `now` and `seed` always give the same data. */
export function buildLocalStore(options: LocalStoreOptions): SimulatorData {
  const planter = new CartPlanter(seededRandom(options.seed ?? DEFAULT_SEED), options.now);
  plantScenarios(planter);
  return {
    channel: channelRecord({
      ChannelNaturalId: 'LOCAL-ONLINE',
      Currency: 'EUR',
      DefaultLanguageId: 'en-us',
      TimeZoneInfoId: 'W. Europe Standard Time',
    }),
    products: PRODUCTS.map(catalogueProductRecord),
    customers: PEOPLE.map(personRecord),
    carts: planter.carts,
  };
}

export interface LocalStoreSummary {
  products: number;
  customers: number;
  customersWithoutEmail: number;
  /** Customers with more than one cart of any kind or age. */
  customersWithSeveralCarts: number;
  /** Shopping carts (wish lists are counted apart), split by the window below. */
  carts: number;
  inWindow: number;
  tooRecent: number;
  tooOld: number;
  /** Anonymous shopping carts, and how many of them carry a receipt email. */
  anonymous: number;
  anonymousWithEmail: number;
  wishLists: number;
}

/** Counts for the local run's banner, read from the data itself (so they stay true if a test edits it). */
export function describeLocalStore(data: SimulatorData, now: Date, window: StoreWindow = DEFAULT_WINDOW): LocalStoreSummary {
  const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');
  const shoppingCarts = data.carts.filter((cart) => (cart.CartTypeValue ?? SHOPPING_CART) === SHOPPING_CART);
  const minutesAgo = (cart: RawRecord): number => (now.getTime() - Date.parse(text(cart.ModifiedDateTime))) / 60_000;
  const cartsPerCustomer = new Map<string, number>();
  for (const cart of data.carts) {
    const customer = text(cart.CustomerId);
    if (customer) cartsPerCustomer.set(customer, (cartsPerCustomer.get(customer) ?? 0) + 1);
  }
  const anonymous = shoppingCarts.filter((cart) => !text(cart.CustomerId));
  return {
    products: data.products.length,
    customers: data.customers.length,
    customersWithoutEmail: data.customers.filter((customer) => !text(customer.Email)).length,
    customersWithSeveralCarts: [...cartsPerCustomer.values()].filter((count) => count > 1).length,
    carts: shoppingCarts.length,
    inWindow: shoppingCarts.filter((cart) => minutesAgo(cart) >= window.excludeMinutes && minutesAgo(cart) <= window.includeMinutes).length,
    tooRecent: shoppingCarts.filter((cart) => minutesAgo(cart) < window.excludeMinutes).length,
    tooOld: shoppingCarts.filter((cart) => minutesAgo(cart) > window.includeMinutes).length,
    anonymous: anonymous.length,
    anonymousWithEmail: anonymous.filter((cart) => text(cart.ReceiptEmail)).length,
    wishLists: data.carts.length - shoppingCarts.length,
  };
}
