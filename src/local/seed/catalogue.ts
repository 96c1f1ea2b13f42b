import { productRecord, type RawRecord } from '../../simulators/retail-server';

/**
 * The local store's catalogue: what a small fashion and home shop sells, named the way the
 * products would be in a multilingual channel. The names are chosen to break naive templates:
 * umlauts and accents, Japanese and other scripts, right-to-left text, an emoji, a very long name,
 * and names that look like HTML, which an email must show as text. Prices mix whole numbers,
 * one-decimal and two-decimal amounts (129, 4.5, 19.99), as the email formats each for the
 * channel currency and the customer's language.
 */

export interface CatalogueEntry {
  name: string;
  price: number;
  /** The image's alt text; null where the catalogue has none, so the email falls back to the name. */
  alt: string | null;
  /** Sold by the metre: the carts that hold it may have fractional quantities (1.5). */
  byLength?: true;
  /** A gift card: its cart line is flagged IsGiftCardLine, and the reminder leaves it out. */
  giftCard?: true;
  /** Only `Name` is filled, not `ProductName`, as some catalogues send; the connector falls back. */
  onlyName?: true;
}

/** The first product's RecordId; products are numbered from here in catalogue order (SIM000101, ...). */
export const FIRST_PRODUCT_ID = 101;

export const CATALOGUE: readonly CatalogueEntry[] = [
  // English
  { name: 'Linen shirt', price: 44.9, alt: 'A white linen shirt on a hanger' },
  { name: 'Classic denim jacket', price: 89.99, alt: 'A blue denim jacket' },
  { name: 'Wool beanie', price: 19.99, alt: null },
  { name: 'Leather belt', price: 35, alt: 'A brown leather belt with a brass buckle' },
  { name: 'Canvas tote bag', price: 12.5, alt: null },
  { name: 'Trail running shoes', price: 129, alt: 'Grey running shoes with orange laces' },
  { name: 'Packable rain jacket', price: 74.95, alt: 'A yellow rain jacket' },
  { name: 'Cotton socks (3 pack)', price: 9.99, alt: null },
  { name: 'Ceramic coffee mug', price: 4.5, alt: 'A speckled ceramic mug' },
  { name: 'Scented soy candle', price: 16, alt: null },
  { name: 'Linen fabric, natural (per metre)', price: 18.4, alt: 'A roll of natural linen fabric', byLength: true },
  // German
  { name: 'Größenverstellbarer Gürtel', price: 29.95, alt: 'Ein schwarzer Gürtel' },
  { name: 'Übergangsjacke für Damen', price: 119, alt: null },
  { name: 'Strickpullover aus Schurwolle', price: 79.9, alt: 'Ein grauer Strickpullover' },
  { name: 'Lederhandschuhe, gefüttert', price: 49.5, alt: null },
  { name: 'Socken – 5er-Pack', price: 14.99, alt: 'Fünf Paar bunte Socken' },
  { name: 'Bügelfreies Hemd, weiß', price: 39.99, alt: null },
  { name: 'Hausschuhe „Gemütlich“', price: 24.95, alt: 'Filzhausschuhe' },
  { name: 'Baumwollstoff, gestreift (Meterware)', price: 12.9, alt: null, byLength: true },
  // French
  { name: 'Chemise en lin écru', price: 59, alt: 'Une chemise en lin écru' },
  { name: 'Veste légère d’été', price: 85.5, alt: null },
  { name: 'Écharpe en laine côtelée', price: 32.99, alt: 'Une écharpe rouge' },
  { name: 'Chaussures à lacets', price: 99.9, alt: null },
  { name: 'Pull à col roulé', price: 64.95, alt: 'Un pull à col roulé bleu marine' },
  { name: 'Béret français', price: 22, alt: null },
  { name: 'Sac à dos « Randonnée »', price: 54.99, alt: 'Un sac à dos vert' },
  // Japanese
  { name: 'コットンTシャツ', price: 25, alt: '白いコットンTシャツ' },
  { name: 'デニムジャケット', price: 98.5, alt: null },
  { name: 'ウールのマフラー', price: 36.99, alt: 'グレーのマフラー' },
  { name: '革の財布（ブラウン）', price: 68, alt: null },
  { name: '折りたたみ傘', price: 18.99, alt: '紺色の折りたたみ傘' },
  { name: '浴衣・紺', price: 120.5, alt: null },
  // Other languages and scripts
  { name: 'Camiseta de algodón orgánico', price: 21.95, alt: 'Camiseta verde' },
  { name: 'Żółta kurtka przeciwdeszczowa', price: 69.99, alt: null },
  { name: 'Randig tröja i ull', price: 55, alt: 'Randig tröja' },
  { name: '丝绸围巾', price: 45.8, alt: null },
  { name: '가죽 지갑', price: 52.5, alt: '갈색 가죽 지갑' },
  { name: 'حقيبة جلدية', price: 88, alt: 'حقيبة جلدية بنية' },
  { name: 'Κεραμική κούπα', price: 8.9, alt: null },
  { name: 'Socks party pack 🧦🎉', price: 11.11, alt: 'Six pairs of patterned socks' },
  // Names that must be escaped, clipped or fallen back from
  { name: 'Tee "Classic" <b>bold</b> & co', price: 19.99, alt: null },
  { name: "Mug <script>alert('cart')</script>", price: 7.5, alt: 'A mug & a <tag>' },
  { name: 'Ruler 30 cm & 12" – <metric/imperial>', price: 3.2, alt: null },
  {
    name: 'Extra-wide weekend duffel bag in waxed cotton canvas with leather handles, detachable shoulder strap and a separate shoe compartment',
    price: 149.99,
    alt: 'A large olive-green duffel bag',
  },
  { name: 'Reusable gift box', price: 2.5, alt: null, onlyName: true },
  { name: 'Gift card', price: 50, alt: 'A gift card', giftCard: true },
  // A few everyday items, so random carts are not all exotic
  { name: 'Organic cotton hoodie', price: 64, alt: 'A sand-coloured hoodie' },
  { name: 'Slim chinos', price: 59.95, alt: null },
  { name: 'Merino T-shirt', price: 49, alt: 'A navy merino T-shirt' },
  { name: 'Waterproof ankle boots', price: 139.9, alt: null },
  { name: 'Bamboo sunglasses', price: 39.5, alt: 'Sunglasses with bamboo arms' },
  { name: 'Enamel water bottle', price: 17.25, alt: null },
  { name: 'Knitted throw blanket', price: 89, alt: 'A cream knitted blanket' },
  { name: 'Linen napkins (set of 4)', price: 27.8, alt: null },
];

export interface CatalogueProduct extends CatalogueEntry {
  recordId: number;
}

export const PRODUCTS: readonly CatalogueProduct[] = CATALOGUE.map((entry, index) => ({ ...entry, recordId: FIRST_PRODUCT_ID + index }));

/**
 * Product ids that carts still reference but the catalogue no longer has (discontinued items):
 * the line is dropped from the reminder, and a cart with nothing else is not sent.
 */
export const DISCONTINUED_PRODUCT_IDS = [990001, 990002] as const;

/** The Retail Server record for a catalogue entry; image paths are relative, like Products/SIM000101_000_001.png. */
export function catalogueProductRecord(product: CatalogueProduct): RawRecord {
  const base = productRecord(product.recordId, { Price: product.price, BasePrice: product.price, Description: product.name });
  const itemId = String(base.ItemId);
  return {
    ...base,
    ProductName: product.onlyName ? null : product.name,
    Name: product.name,
    Image: { Items: [{ Url: `Products/${itemId}_000_001.png`, AltText: product.alt, IsDefault: true }] },
  };
}
