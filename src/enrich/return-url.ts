/**
 * The link back to the cart. `{cartId}` and `{customerId}` are replaced (URL-encoded, any letter
 * case); a URL without placeholders is used as-is for every cart, as in Microsoft's sample.
 */
export function returnToCartUrl(template: string, cartId: string, customerId: string | undefined): string {
  return template
    .replace(/\{cartId\}/gi, encodeURIComponent(cartId))
    .replace(/\{customerId\}/gi, encodeURIComponent(customerId ?? ''));
}
