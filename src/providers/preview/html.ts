/**
 * Everything the preview prints comes from cart and customer data, which a shopper (or a product
 * editor) typed. These helpers make sure such text is only ever shown, never interpreted.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes text for an element body or a quoted attribute value. One function for both: quotes
 * are escaped too, so a value can never leave its attribute.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (character) => ESCAPES[character] ?? character);
}

/** What an unusable link or image URL is replaced with: a link to nowhere, not an error. */
export const UNSAFE_URL = '#';

/**
 * Returns the URL normalised (spaces and other unsafe characters percent-encoded, so it also
 * survives a `srcset`) when it is an absolute http or https URL, else `#`. `javascript:`,
 * `data:` and relative URLs are refused: an email has no base URL and must not run script.
 * The result still needs `escapeHtml` when placed in an attribute.
 */
export function safeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return UNSAFE_URL;
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : UNSAFE_URL;
}

/** `safeUrl` escaped for a double-quoted attribute. */
export function urlAttribute(url: string): string {
  return escapeHtml(safeUrl(url));
}
