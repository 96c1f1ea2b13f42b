import { renderEmail, renderIndex } from '../../src/providers/preview';
import type { NotificationData } from '../../src/providers/email-provider';

/**
 * Checks that generated text stayed text in the preview's HTML. The structure an email may have is
 * learnt from the preview itself, rendering harmless payloads: the element and attribute names it
 * uses. A hostile render may repeat that structure (more lines, longer text) but must never add an
 * element or an attribute, and no generated markup may appear as written.
 */

export interface MarkupStructure {
  tags: Set<string>;
  attributes: Set<string>;
}

const TAG = /<\/?([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g;
/** Attribute names in a tag whose values are double-quoted, as the preview writes them. */
const ATTRIBUTE = /\s([^\s="'<>/]+)(?:\s*=\s*"[^"]*")?/g;

export function markupStructure(html: string): MarkupStructure {
  const tags = new Set<string>();
  const attributes = new Set<string>();
  for (const [, name, rest] of html.matchAll(TAG)) {
    tags.add((name as string).toLowerCase());
    for (const [, attribute] of (rest ?? '').matchAll(ATTRIBUTE)) attributes.add((attribute as string).toLowerCase());
  }
  return { tags, attributes };
}

const harmless: NotificationData = {
  firstName: 'Ann',
  lastName: 'Lee',
  email: 'ann@example.com',
  language: 'en-us',
  currency: 'USD',
  returnToCartUrl: 'https://shop.contoso.com/cart?cartId=1',
  cartId: 'cart-1',
  orderDetails: [
    {
      productId: '1',
      productName: 'Linen shirt',
      productImage: {
        altText: 'A linen shirt',
        viewPortImages: [
          { url: 'https://images.contoso.com/a.png?w=300&h=300', media: '(max-width: 599px)', useForDefaultImageTag: false },
          { url: 'https://images.contoso.com/a.png?w=600&h=600', media: '(min-width: 600px)', useForDefaultImageTag: true },
        ],
      },
      quantity: '2',
      unitPrice: '44.9',
    },
    { productId: '2', productName: 'Socks', productImage: { altText: '', viewPortImages: [] }, quantity: '1', unitPrice: '5' },
  ],
};

/** Every element and attribute name the preview writes for harmless payloads (one email and the index). */
export function allowedStructure(): MarkupStructure {
  const email = markupStructure(renderEmail(harmless));
  const index = markupStructure(
    renderIndex([{ htmlFileName: 'cart-1.html', payload: { external_id: harmless.email, trigger_id: 'cart-1', data: harmless } }], new Date(0)),
  );
  return { tags: new Set([...email.tags, ...index.tags]), attributes: new Set([...email.attributes, ...index.attributes]) };
}

/**
 * What is wrong with one rendered file: an element or attribute the preview never writes, a
 * script, or a generated markup string found as written (only its escaped form may appear).
 */
export function markupProblems(html: string, allowed: MarkupStructure, generatedMarkup: Iterable<string>): string[] {
  const problems: string[] = [];
  const found = markupStructure(html);
  for (const tag of found.tags) if (!allowed.tags.has(tag)) problems.push(`element <${tag}>`);
  for (const attribute of found.attributes) if (!allowed.attributes.has(attribute)) problems.push(`attribute ${attribute}=`);
  if (/<script/i.test(html)) problems.push('<script');
  for (const markup of generatedMarkup) {
    const probe = markup.slice(0, 120);
    if (probe.length >= 3 && html.includes(probe)) problems.push(`generated markup as written: ${JSON.stringify(probe.slice(0, 40))}`);
  }
  return problems;
}
