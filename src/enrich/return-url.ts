/**
 * The link back to the cart. `{cartId}` and `{customerId}` are replaced (URL-encoded, any letter
 * case); a URL without placeholders is used as-is for every cart, as in Microsoft's sample.
 * encodeURIComponent leaves `.` alone, so an id of `.` or `..` in the template's path would lead to
 * another page: the ids come from a parsed cart, and a cart with such an Id or CustomerId does not
 * parse (an invalid record, see `linkId` in retail/models.ts).
 */
export function returnToCartUrl(template: string, cartId: string, customerId: string | undefined): string {
  return template
    .replace(/\{cartId\}/gi, encodeURIComponent(cartId))
    .replace(/\{customerId\}/gi, encodeURIComponent(customerId ?? ''));
}
