import type { NotificationData } from '../email-provider';
import { summarizeCart, type CartSummary, type SummaryLine } from './cart-summary';
import { decimalToString } from './decimal';
import { createFormatters, type Formatters } from './format';
import { escapeHtml, urlAttribute } from './html';
import { renderPicture } from './picture';

/**
 * The reminder email as a retailer's template would build it from the payload, so people can see
 * what the connector sends before pointing it at a real provider. Email clients ignore external
 * stylesheets and much of modern CSS, hence the table layout and inline styles; the one `<style>`
 * block only adapts sizes on narrow screens. The wording is English: in production the email
 * provider's template, not this preview, owns the copy.
 *
 * Pure: the same payload always renders the same string.
 */

export const EMAIL_TITLE = 'You left something in your cart';

/** Product image width on wide screens, in CSS pixels; narrow screens shrink it (see `STYLE`). */
const IMAGE_WIDTH = 96;
const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const INK = '#111827';
const MUTED = '#6b7280';
const RULE = '#e5e7eb';
const ACCENT = '#1f4fd1';

const STYLE = `
  body { margin:0; padding:0; background:#f3f4f6; -webkit-text-size-adjust:100%; }
  a { color:${ACCENT}; }
  @media (max-width: 599px) {
    .outer { padding:0 !important; }
    .container { width:100% !important; border-radius:0 !important; }
    .px { padding-left:20px !important; padding-right:20px !important; }
    .title { font-size:24px !important; }
    .product-image { width:72px !important; padding-right:12px !important; }
    .product-image img, .product-image-missing { width:72px !important; height:auto !important; }
    .product-meta .separator { display:none !important; }
    .product-meta .each { display:block !important; }
    .button { width:100% !important; }
    .button a { display:block !important; text-align:center !important; }
  }`;

function greeting(firstName: string): string {
  const name = firstName.trim();
  return name === '' ? 'Hello,' : `Hi ${escapeHtml(name)},`;
}

function itemsLabel(summary: CartSummary, format: Formatters): string {
  const count = format.quantity(summary.itemCount);
  return decimalToString(summary.itemCount) === '1' ? `${count} item` : `${count} items`;
}

function renderLine(line: SummaryLine, format: Formatters, localImages: ReadonlyMap<string, string> | undefined): string {
  const { detail } = line;
  const alt = detail.productImage.altText.trim() === '' ? detail.productName : detail.productImage.altText;
  const picture = renderPicture(detail.productImage.viewPortImages, alt, { displayWidth: IMAGE_WIDTH, localImages });
  const quantity = line.quantity ? format.quantity(line.quantity) : detail.quantity;
  const unitPrice = line.unitPrice ? format.money(line.unitPrice) : detail.unitPrice;
  const lineTotal = line.lineTotal ? escapeHtml(format.money(line.lineTotal)) : '&mdash;';
  const cell = `border-top:1px solid ${RULE};vertical-align:top;`;
  return `
            <tr class="product">
              <td class="product-image" width="${IMAGE_WIDTH}" style="${cell}width:${IMAGE_WIDTH}px;padding:16px 16px 16px 0;">${picture}</td>
              <td class="product-info" style="${cell}padding:16px 0;">
                <div class="product-name" style="font-size:16px;line-height:22px;font-weight:600;color:${INK};">${escapeHtml(detail.productName)}</div>
                <div class="product-meta" style="margin-top:6px;font-size:14px;line-height:20px;color:${MUTED};">Quantity: <span class="quantity">${escapeHtml(quantity)}</span><span class="separator"> &middot; </span><span class="each" style="white-space:nowrap;"><span class="unit-price">${escapeHtml(unitPrice)}</span> each</span></div>
              </td>
              <td class="line-total" align="right" style="${cell}padding:16px 0 16px 12px;font-size:16px;line-height:22px;font-weight:600;color:${INK};white-space:nowrap;">${lineTotal}</td>
            </tr>`;
}

function renderButton(url: string): string {
  return `
            <table role="presentation" class="button" cellpadding="0" cellspacing="0" border="0">
              <tr>
                <td style="border-radius:8px;background:${ACCENT};">
                  <a class="cta" href="${urlAttribute(url)}" style="display:inline-block;padding:14px 32px;font-family:${FONT};font-size:16px;line-height:20px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:8px;">Return to your cart</a>
                </td>
              </tr>
            </table>`;
}

/** `localImages`: copies of the product images in the preview's folder, by URL (see PictureOptions). */
export function renderEmail(data: NotificationData, localImages?: ReadonlyMap<string, string>): string {
  const format = createFormatters(data.language, data.currency);
  const summary = summarizeCart(data, format.moneyDigits);
  const total = format.money(summary.total);
  const verb = decimalToString(summary.itemCount) === '1' ? 'is' : 'are';
  const preheader = `Your ${itemsLabel(summary, format)} (${total}) ${verb} still waiting for you.`;
  const px = 'padding-left:40px;padding-right:40px;';
  return `<!DOCTYPE html>
<html lang="${escapeHtml(format.locale)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light">
  <meta name="format-detection" content="telephone=no">
  <title>${EMAIL_TITLE}</title>
  <style>${STYLE}
  </style>
</head>
<body style="margin:0;padding:0;background:#f3f4f6;font-family:${FONT};color:${INK};">
  <div class="preheader" style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;">${escapeHtml(preheader)}</div>
  <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f3f4f6;">
    <tr>
      <td class="outer" align="center" style="padding:32px 12px;">
        <table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px;max-width:600px;background:#ffffff;border-radius:12px;font-family:${FONT};">
          <tr>
            <td class="px" style="${px}padding-top:36px;padding-bottom:8px;">
              <p style="margin:0 0 8px;font-size:13px;line-height:18px;letter-spacing:.08em;text-transform:uppercase;font-weight:600;color:${ACCENT};">Your cart is waiting</p>
              <h1 class="title" style="margin:0 0 20px;font-size:28px;line-height:34px;font-weight:700;color:${INK};">${EMAIL_TITLE}</h1>
              <p class="greeting" style="margin:0 0 8px;font-size:16px;line-height:24px;">${greeting(data.firstName)}</p>
              <p style="margin:0 0 16px;font-size:16px;line-height:24px;color:#374151;">You added these to your cart but didn&rsquo;t check out. We saved them for you, so you can pick up right where you left off.</p>
            </td>
          </tr>
          <tr>
            <td class="px" style="${px}">
              <table role="presentation" class="products" width="100%" cellpadding="0" cellspacing="0" border="0">${summary.lines.map((line) => renderLine(line, format, localImages)).join('')}
                <tr>
                  <td colspan="2" style="border-top:2px solid ${INK};padding:16px 0 4px;font-size:16px;line-height:22px;font-weight:600;">Total <span class="item-count" style="font-weight:400;color:${MUTED};">(${escapeHtml(itemsLabel(summary, format))})</span></td>
                  <td class="cart-total" align="right" style="border-top:2px solid ${INK};padding:16px 0 4px 12px;font-size:20px;line-height:26px;font-weight:700;white-space:nowrap;">${escapeHtml(total)}</td>
                </tr>
              </table>
            </td>
          </tr>
          <tr>
            <td class="px" style="${px}padding-top:28px;padding-bottom:36px;">${renderButton(data.returnToCartUrl)}
            </td>
          </tr>
          <tr>
            <td class="px" style="${px}padding-top:20px;padding-bottom:28px;border-top:1px solid ${RULE};font-size:12px;line-height:18px;color:${MUTED};">
              Prices are those of the items in your cart when you left it; discounts, taxes and delivery are worked out at checkout.<br>
              Cart reference: <span class="cart-id">${escapeHtml(data.cartId)}</span>
            </td>
          </tr>
        </table>
      </td>
    </tr>
  </table>
</body>
</html>
`;
}
