/**
 * Half of a surrogate pair without its other half: what a field truncated by UTF-16 units inside
 * an emoji holds, and what Retail Server (.NET) sends as a lone `\ud83d` escape. It is no
 * character: encodeURIComponent throws on it, and JSON.stringify writes it back as that escape.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDFFF]/.test(text) && LONE_SURROGATE.test(text);
}

/** The text with each lone surrogate replaced by U+FFFD, as a UTF-8 encoder writes it. */
export function wellFormed(text: string): string {
  return hasLoneSurrogate(text) ? text.replace(LONE_SURROGATES, '\uFFFD') : text;
}
