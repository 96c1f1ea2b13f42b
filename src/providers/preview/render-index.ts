import { summarizeCart } from './cart-summary';
import { createFormatters } from './format';
import { escapeHtml } from './html';
import type { PreviewPayload } from './payload';

/**
 * `index.html` of the preview folder: one row per saved email, so a person running the connector
 * locally can see at a glance who would get a reminder, for which cart and how much, and open the
 * email itself. Each row's money is formatted as its email formats it (the customer's language
 * and the channel's currency). Pure: entries and a time in, HTML out.
 */

export interface IndexEntry {
  /** The email's HTML file, relative to the index. */
  htmlFileName: string;
  payload: PreviewPayload;
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

const STYLE = `
  body { margin:0; background:#f3f4f6; color:#111827; font-family:${FONT}; }
  main { max-width:1100px; margin:0 auto; padding:32px 20px; }
  h1 { margin:0 0 4px; font-size:26px; }
  .meta { margin:0 0 24px; color:#6b7280; font-size:14px; }
  table { width:100%; border-collapse:collapse; background:#fff; border-radius:12px; overflow:hidden; box-shadow:0 1px 2px rgba(0,0,0,.06); }
  th, td { padding:12px 16px; text-align:left; font-size:14px; border-bottom:1px solid #e5e7eb; vertical-align:top; }
  th { background:#f9fafb; color:#6b7280; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.05em; }
  tr:last-child td { border-bottom:0; }
  td.num, th.num { text-align:right; white-space:nowrap; }
  .cart-id { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; color:#374151; word-break:break-all; }
  .email { word-break:break-all; }
  a { color:#1f4fd1; font-weight:600; text-decoration:none; }
  a:hover { text-decoration:underline; }
  .empty { padding:32px; background:#fff; border-radius:12px; color:#6b7280; }
  @media (max-width: 699px) {
    main { padding:20px 12px; }
    thead { display:none; }
    table, tbody, tr, td { display:block; width:auto; }
    tr { border-bottom:1px solid #e5e7eb; padding:8px 0; }
    td { display:grid; grid-template-columns:72px 1fr; column-gap:12px; align-items:baseline; border:0; padding:4px 16px; text-align:left !important; }
    td::before { content:attr(data-label); color:#6b7280; font-size:12px; text-transform:uppercase; letter-spacing:.05em; }
  }`;

function customerName(payload: PreviewPayload): string {
  const name = `${payload.data.firstName} ${payload.data.lastName}`.trim();
  return name === '' ? '(no name)' : name;
}

function renderRow(entry: IndexEntry): string {
  const { data } = entry.payload;
  const format = createFormatters(data.language, data.currency);
  const summary = summarizeCart(data, format.moneyDigits);
  const href = escapeHtml(encodeURIComponent(entry.htmlFileName));
  return `
        <tr class="email-row">
          <td data-label="Customer" class="customer">${escapeHtml(customerName(entry.payload))}</td>
          <td data-label="Email" class="email">${escapeHtml(data.email)}</td>
          <td data-label="Cart" class="cart-id">${escapeHtml(data.cartId)}</td>
          <td data-label="Items" class="num items">${escapeHtml(format.quantity(summary.itemCount))}</td>
          <td data-label="Total" class="num total">${escapeHtml(format.money(summary.total))}</td>
          <td data-label="Open" class="link"><a href="${href}">View email</a></td>
        </tr>`;
}

function renderTable(entries: readonly IndexEntry[]): string {
  if (entries.length === 0) return '<p class="empty">No emails yet. Run the connector to generate some.</p>';
  return `<table>
      <thead>
        <tr><th>Customer</th><th>Email</th><th>Cart</th><th class="num">Items</th><th class="num">Total</th><th></th></tr>
      </thead>
      <tbody>${entries.map(renderRow).join('')}
      </tbody>
    </table>`;
}

export function renderIndex(entries: readonly IndexEntry[], generatedAt: Date): string {
  const count = entries.length === 1 ? '1 email' : `${entries.length} emails`;
  const time = `${generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Abandoned cart emails (preview)</title>
  <style>${STYLE}
  </style>
</head>
<body>
  <main>
    <h1>Abandoned cart emails</h1>
    <p class="meta">Preview: nothing was sent. <span class="count">${count}</span> in this folder, newest first. Updated ${escapeHtml(time)}.</p>
    ${renderTable(entries)}
  </main>
</body>
</html>
`;
}
