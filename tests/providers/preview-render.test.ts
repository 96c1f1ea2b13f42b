import { addDecimals, decimalToString, multiplyDecimals, parseDecimal, roundDecimal } from '../../src/providers/preview/decimal';
import { createFormatters } from '../../src/providers/preview/format';
import { escapeHtml, safeUrl } from '../../src/providers/preview/html';
import { renderEmail } from '../../src/providers/preview/render-email';
import { renderIndex } from '../../src/providers/preview/render-index';
import { toPreviewPayload } from '../../src/providers/preview/payload';
import { germanCart, HOSTILE_NAME, hostileCart, japaneseCart, notificationOf, product } from './preview-fixtures';

const NBSP = '\u00a0';

/** An attribute value as it appears in the HTML: `&` escaped. */
function attr(value: string): string {
  return value.replace(/&/g, '&amp;');
}

function pictures(html: string): string[] {
  return html.match(/<picture>[\s\S]*?<\/picture>/g) ?? [];
}

function money(amount: number | string, language: string, currency: string): string {
  return createFormatters(language, currency).money(parseDecimal(String(amount)) ?? { units: 0n, scale: 0 });
}

describe('renderEmail', () => {
  it('renders one <picture> per product with a source per viewport, in order, and the default as <img>', () => {
    const notification = germanCart();
    const html = renderEmail(notification.data);
    const found = pictures(html);
    expect(found).toHaveLength(2);
    notification.data.orderDetails.forEach((detail, i) => {
      const [small, large] = detail.productImage.viewPortImages;
      const match = /^<picture><source media="([^"]*)" srcset="([^"]*)"><source media="([^"]*)" srcset="([^"]*)"><img src="([^"]*)" alt="([^"]*)" width="(\d+)" height="(\d+)"[^>]*><\/picture>$/.exec(
        found[i] ?? '',
      );
      expect(match).not.toBeNull();
      const [, media1, srcset1, media2, srcset2, src, alt, width, height] = match ?? [];
      expect([media1, srcset1, media2, srcset2]).toEqual([
        '(max-width: 599px)',
        attr(small?.url ?? ''),
        '(min-width: 600px)',
        attr(large?.url ?? ''),
      ]);
      expect(src).toBe(attr(large?.url ?? ''));
      expect(alt).toBe(escapeHtml(detail.productImage.altText));
      // The image cell's 96 px, square like the 600 x 600 image.
      expect({ width, height }).toEqual({ width: '96', height: '96' });
    });
    expect(srcOf(html)).toContain('w=600');
  });

  it('takes the <img> from the viewport marked useForDefaultImageTag, else the last, with its aspect ratio', () => {
    const images = [
      { url: 'https://img.example/a.png?w=400&h=200', media: '(max-width: 599px)', useForDefaultImageTag: true },
      { url: 'https://img.example/b.png?w=800&h=400', media: '(min-width: 600px)', useForDefaultImageTag: false },
    ];
    const marked = renderEmail(notificationOf('t1', { orderDetails: [product({ productName: 'Mug', productImage: { altText: 'A mug', viewPortImages: images } })] }).data);
    expect(srcOf(marked)).toBe('https://img.example/a.png?w=400&amp;h=200');
    expect(marked).toMatch(/<img src="[^"]*" alt="A mug" width="96" height="48"/);

    const unmarked = images.map((image) => ({ ...image, useForDefaultImageTag: false }));
    const last = renderEmail(notificationOf('t2', { orderDetails: [product({ productName: 'Mug', productImage: { altText: 'A mug', viewPortImages: unmarked } })] }).data);
    expect(srcOf(last)).toBe('https://img.example/b.png?w=800&amp;h=400');
  });

  it('uses the product name as alt text when the image has none, and draws no <picture> without images', () => {
    const withoutAlt = product({ productName: 'Mug', productImage: { altText: '', viewPortImages: [] } });
    const html = renderEmail(notificationOf('t', { orderDetails: [withoutAlt] }).data);
    expect(pictures(html)).toHaveLength(0);
    expect(html).toContain('aria-label="Mug"');

    const noAlt = product({ productName: 'Mug' });
    noAlt.productImage.altText = '';
    expect(renderEmail(notificationOf('t', { orderDetails: [noAlt] }).data)).toMatch(/<img [^>]*alt="Mug"/);
  });

  it('shows names, quantities, unit prices, line totals and the cart total in the customer’s language', () => {
    const html = renderEmail(germanCart().data);
    expect(html).toContain('<html lang="de-de">');
    expect(html).toContain('Leinenhemd „Sommer“');
    expect(html).toContain(`<span class="quantity">2</span><span class="separator"> &middot; </span><span class="each" style="white-space:nowrap;"><span class="unit-price">44,90${NBSP}€</span> each</span>`);
    expect(html).toContain(`>89,80${NBSP}€</td>`);
    expect(html).toContain(`>1.234,50${NBSP}€</td>`);
    expect(html).toContain(`<td class="cart-total" align="right" style="${'border-top:2px solid #111827;padding:16px 0 4px 12px;font-size:20px;line-height:26px;font-weight:700;white-space:nowrap;'}">1.324,30${NBSP}€</td>`);
    expect(html).toContain('(3 items)');
    expect(html).toContain('Hi Jürgen,');
  });

  it('greets neutrally without a first name', () => {
    const html = renderEmail(japaneseCart().data);
    expect(html).toContain('<p class="greeting" style="margin:0 0 8px;font-size:16px;line-height:24px;">Hello,</p>');
    expect(renderEmail(notificationOf('t', { firstName: '   ' }).data)).toContain('>Hello,</p>');
  });

  it('links the button to the return-to-cart URL and loads nothing but the product images', () => {
    const notification = germanCart();
    const html = renderEmail(notification.data);
    expect(html).toContain(`<a class="cta" href="${attr(notification.data.returnToCartUrl)}"`);
    expect(html).not.toMatch(/<(script|link|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/url\(/i);
    const imageUrls = notification.data.orderDetails.flatMap((detail) => detail.productImage.viewPortImages.map((image) => attr(image.url)));
    const loaded = [...html.matchAll(/\s(?:src|srcset)="([^"]*)"/g)].map((match) => match[1]);
    expect(loaded.length).toBeGreaterThan(0);
    for (const url of loaded) expect(imageUrls).toContain(url);
  });

  it('shows a product name with markup as text, and escapes every other payload field', () => {
    const notification = hostileCart();
    notification.data.firstName = '<script>alert("hi")</script>';
    notification.data.cartId = '"><img src=x onerror=alert(1)>';
    notification.data.language = '"><svg onload=alert(1)>';
    const html = renderEmail(notification.data);
    expect(html).toContain('Tee &quot;Classic&quot; &lt;b&gt;bold&lt;/b&gt; &amp; co');
    expect(html).not.toContain(HOSTILE_NAME);
    expect(html).not.toMatch(/<b>|<script|<svg|<img src=x/i);
    expect(html).toContain('Hi &lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;,');
    expect(html).toContain('<html lang="en-US">');
  });

  it('replaces javascript:, data: and relative URLs with # and keeps quotes from leaving attributes', () => {
    const notification = notificationOf('t', {
      returnToCartUrl: 'javascript:alert(document.cookie)',
      orderDetails: [
        product({
          productName: 'Mug',
          productImage: {
            altText: 'x" onerror="alert(1)',
            viewPortImages: [
              { url: 'data:image/svg+xml,<svg onload=alert(1)>', media: '(max-width: 599px)', useForDefaultImageTag: false },
              { url: 'https://img.example/m.png?fileName="><script>alert(1)</script>&w=600', media: '" onload="x', useForDefaultImageTag: true },
            ],
          },
        }),
      ],
    });
    const html = renderEmail(notification.data);
    expect(html).toContain('<a class="cta" href="#"');
    expect(html).toContain('srcset="#"');
    expect(html).toContain('srcset="https://img.example/m.png?fileName=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&amp;w=600"');
    expect(html).toContain('alt="x&quot; onerror=&quot;alert(1)"');
    expect(html).toContain('media="&quot; onload=&quot;x"');
    expect(html).not.toMatch(/javascript:|<script|<svg/i);
  });
});

function srcOf(html: string): string | undefined {
  return /<img src="([^"]*)"/.exec(html)?.[1];
}

describe('money and quantity formatting', () => {
  it('formats for en-us/USD, de-de/EUR and ja-jp/JPY', () => {
    expect(money('1234.5', 'en-us', 'USD')).toBe('$1,234.50');
    expect(money('1234.5', 'de-de', 'EUR')).toBe(`1.234,50${NBSP}€`);
    expect(money('1234.5', 'ja-jp', 'JPY')).toBe('￥1,235');
    expect(createFormatters('de-de', 'EUR').quantity(parseDecimal('1.5') ?? { units: 0n, scale: 0 })).toBe('1,5');
  });

  it('falls back to en-US for a language tag Intl refuses, and to number + code for an unknown currency', () => {
    expect(createFormatters('not a language!', 'USD').locale).toBe('en-US');
    expect(money('1234.5', '', 'USD')).toBe('$1,234.50');
    expect(money('1234.5', 'en-us', 'EURO')).toBe('1,234.50 EURO');
    expect(money('2', 'de-de', '')).toBe('2,00');
  });

  it('computes totals exactly from decimal strings', () => {
    const line = multiplyDecimals(parseDecimal('3') ?? { units: 0n, scale: 0 }, parseDecimal('19.9') ?? { units: 0n, scale: 0 });
    expect(decimalToString(line)).toBe('59.7');
    expect(decimalToString(addDecimals(parseDecimal('0.1') ?? line, parseDecimal('0.2') ?? line))).toBe('0.3');
    expect(decimalToString(parseDecimal('-0.050') ?? line)).toBe('-0.05');
    expect(money('1.005', 'en-us', 'USD')).toBe('$1.01');
    expect(parseDecimal('1e3')).toBeUndefined();
    expect(parseDecimal('')).toBeUndefined();
    expect(renderEmail(hostileCart().data)).toContain('>$59.70</td>');
    expect(renderEmail(hostileCart().data)).toContain('>$83.70</td>');
  });

  it('totals the line totals as shown, each rounded to the currency as the shop charges it (goods by weight, yen)', () => {
    // 0.5 kg at 1,99 €/kg is 0,995 €: the line shows (and the shop charges) 1,00 €, two make 2,00 €.
    const apples = notificationOf('t', {
      language: 'de-de',
      currency: 'EUR',
      orderDetails: [
        product({ productId: '1', productName: 'Äpfel', quantity: '0.5', unitPrice: '1.99' }),
        product({ productId: '2', productName: 'Birnen', quantity: '0.5', unitPrice: '1.99' }),
      ],
    });
    const html = renderEmail(apples.data);
    expect([...html.matchAll(/<td class="line-total"[^>]*>([^<]*)<\/td>/g)].map((m) => m[1])).toEqual([`1,00${NBSP}€`, `1,00${NBSP}€`]);
    expect(html).toMatch(new RegExp(`class="cart-total"[^>]*>2,00${NBSP}€</td>`));
    const index = renderIndex([{ htmlFileName: 't.html', payload: toPreviewPayload(apples) }], new Date(0));
    expect(index).toContain(`class="num total">2,00${NBSP}€</td>`);
    // The yen has no minor unit: 3 × 33,3 ¥ shows as ￥100 a line; the dinar has three.
    const yen = notificationOf('t', {
      language: 'ja-jp',
      currency: 'JPY',
      orderDetails: [product({ productId: '1', productName: '米', quantity: '3', unitPrice: '33.3' }), product({ productId: '2', productName: '茶', quantity: '3', unitPrice: '33.3' })],
    });
    expect(renderEmail(yen.data)).toMatch(/class="cart-total"[^>]*>￥200<\/td>/);
    const dinar = notificationOf('t', {
      currency: 'KWD',
      orderDetails: [product({ productId: '1', productName: 'Dates', quantity: '0.25', unitPrice: '1.25' }), product({ productId: '2', productName: 'Figs', quantity: '0.25', unitPrice: '1.25' })],
    });
    expect(renderEmail(dinar.data)).toMatch(/class="cart-total"[^>]*>KWD\u00a00\.626<\/td>/);
    expect(decimalToString(roundDecimal(parseDecimal('-0.3125') ?? { units: 0n, scale: 0 }, 3))).toBe('-0.313');
    expect(decimalToString(roundDecimal(parseDecimal('12.5') ?? { units: 0n, scale: 0 }, 0))).toBe('13');
  });

  it('shows a line with an unreadable price without a line total and leaves it out of the total', () => {
    const html = renderEmail(notificationOf('t', { orderDetails: [product({ productName: 'A', unitPrice: 'n/a' }), product({ productName: 'B', unitPrice: '5' })] }).data);
    expect(html).toContain('<span class="unit-price">n/a</span>');
    expect(html).toContain('>&mdash;</td>');
    expect(html).toMatch(/class="cart-total"[^>]*>\$5\.00<\/td>/);
  });
});

describe('safeUrl', () => {
  it('keeps http and https URLs and refuses everything else', () => {
    expect(safeUrl('https://shop.example/cart?id=1&x=2')).toBe('https://shop.example/cart?id=1&x=2');
    expect(safeUrl('http://127.0.0.1:8080/a b')).toBe('http://127.0.0.1:8080/a%20b');
    for (const url of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,x', 'vbscript:x', '/cart', '//evil.example/x', '', 'mailto:a@b.c']) {
      expect(safeUrl(url)).toBe('#');
    }
  });
});

describe('renderIndex', () => {
  it('lists each email with customer, email, cart, items and total, linking to its file', () => {
    const entries = [germanCart(), hostileCart(), japaneseCart()].map((notification) => ({
      htmlFileName: `${notification.triggerId}.html`,
      payload: toPreviewPayload(notification),
    }));
    const html = renderIndex(entries, new Date('2024-05-01T10:00:00Z'));
    const rows = html.match(/<tr class="email-row">[\s\S]*?<\/tr>/g) ?? [];
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('>Jürgen Müller</td>');
    expect(rows[0]).toContain('>juergen.mueller@example.de</td>');
    expect(rows[0]).toContain('>0f3a9c2e-4b11-4c7e-9d55-6f1e0c3a7b21</td>');
    expect(rows[0]).toContain('class="num items">3</td>');
    expect(rows[0]).toContain(`class="num total">1.324,30${NBSP}€</td>`);
    expect(rows[0]).toContain('<a href="cart-0f3a9c2e4b.html">View email</a>');
    expect(rows[1]).toContain('class="num total">$83.70</td>');
    expect(rows[1]).toContain('class="num items">4</td>');
    expect(rows[2]).toContain('>佐藤</td>');
    expect(rows[2]).toContain('class="num total">￥5,500</td>');
    expect(html).toContain('<span class="count">3 emails</span>');
    expect(html).toContain('Updated 2024-05-01 10:00 UTC.');
  });

  it('escapes customer data and says when the folder is empty', () => {
    const notification = notificationOf('x', { firstName: '<i>Eve</i>', email: '"><script>@example.com' });
    const html = renderIndex([{ htmlFileName: 'x.html', payload: toPreviewPayload(notification) }], new Date(0));
    expect(html).toContain('&lt;i&gt;Eve&lt;/i&gt; Lee');
    expect(html).not.toMatch(/<i>|<script/);
    expect(renderIndex([], new Date(0))).toContain('No emails yet');
  });
});

describe('preheader', () => {
  it('summarises the cart in the hidden preview line', () => {
    expect(renderEmail(germanCart().data)).toContain(`>Your 3 items (1.324,30${NBSP}€) are still waiting for you.</div>`);
    expect(renderEmail(notificationOf('t', {}).data)).toContain('>Your 1 item ($10.00) is still waiting for you.</div>');
  });
});
