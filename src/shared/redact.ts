/**
 * Text a remote service wrote (Retail Server's error message, Emarsys' reply text) made fit for a
 * failure reason, a log line and a run report. Such text may name the customer a call was about,
 * and an email address never appears in a log: anything shaped like one is removed. The text is
 * untrusted, and the CLI prints reasons to an operator's terminal: control characters are removed
 * too.
 *
 * Linear in the text's length, and only the first REDACTION_WINDOW characters are read at all: a
 * regular expression over the words backtracked quadratically on a long run without a separator
 * (40 kB took 4 s, 1 MB half an hour, with the event loop blocked), and what is kept of the text
 * is a few hundred characters anyway.
 */

/**
 * C0 control characters but tab and newline, DEL, C1 control characters (ESC and CSI start the
 * escape sequences that clear a terminal, move its cursor or plant a hyperlink), and the
 * bidirectional overrides and isolates that make a line read other than it is.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Vertical tab, form feed, carriage return and NEL: they part words, so they become spaces. */
const LINE_BREAKING = /[\v\f\r\u0085]/g;

/** The text without control characters: what is printed to a terminal or kept from a remote service. */
export function withoutControlCharacters(text: string): string {
  return text.replace(LINE_BREAKING, ' ').replace(CONTROL_CHARACTERS, '');
}

/** How much of a text is read: a few kB, far more than any reason keeps. */
export const REDACTION_WINDOW = 4_096;

/**
 * Characters that end a word: whitespace and what RFC 5322 allows in no unquoted part of an address.
 * `'` is an ordinary character of a mailbox name (sean.o'brien@), and `"`, `(` and `)` belong to
 * quoted local parts and comments; a word is taken up to whitespace across them, or the part of
 * the address before them would survive the redaction.
 */
const SEPARATORS = /([\s<>,;:]+)/;

/** The longest local part an address may have (RFC 5321). */
const MAX_LOCAL_PART = 64;

/**
 * Whether a word (a run without separators) holds something like an address: a character, `@`, a
 * character. Such a word is redacted whole. No dot is asked for after the `@`: a domain may be a
 * literal (`ann@[IPv6:...]`, cut at its colon), or cut from its dot by a line break.
 */
function looksLikeEmail(word: string): boolean {
  const at = atSign(word);
  return at > 0 && at < word.length - 1;
}

/** Where the `@` of an address is in `word` (one written `%40`, as in a query string, too). */
function atSign(word: string): number {
  const at = word.indexOf('@', 1);
  const encoded = word.toLowerCase().indexOf('%40', 1);
  return at > 0 && (encoded < 0 || at < encoded) ? at : encoded;
}

/**
 * What opened, in an earlier word, the quoted string or comment a local part is part of: a `"`
 * unless the local part is a quoted string of its own (`"ann"`), escaped or not (a quote in JSON
 * text is written `\\"`); a `(` when it closes more comments than it opens.
 */
function beganEarlier(localPart: string): '"' | '(' | undefined {
  const quoted = localPart.split('"').length - 1;
  const ownQuotedString = localPart.startsWith('"') && localPart.endsWith('"') && quoted === 2;
  if (quoted > 0 && !ownQuotedString && !localPart.startsWith('"')) return '"';
  if (quoted % 2 === 1) return '"';
  return openParens(localPart) < 0 ? '(' : undefined;
}

/** `(` less `)` in `text`. */
function openParens(text: string): number {
  let depth = 0;
  for (const character of text) {
    if (character === '(') depth++;
    else if (character === ')') depth--;
  }
  return depth;
}

/**
 * Removes control characters and anything that looks like an email address, makes each run of
 * whitespace one space, and bounds the length to `maxLength` characters (and `...` when cut).
 *
 * A quoted local part or a comment may hold whitespace (`"sean o'brien"@example.com`,
 * `sean(o brien).lee@example.com`, `ann@(a comment)example.com`), so an address may span words.
 * Each address is judged on its own word: a local part with an odd number of quotes, or with more
 * `)` than `(`, began in an earlier word, and the words back to the nearest one with a `"` (or a
 * `(`) go too; a domain with an open `(` goes on to the word that closes it. Either reaches at most
 * a local part's length: further, the quote is the text's. A stray quote elsewhere in the text
 * (27" monitor) changes nothing, and the words taken are at most that many characters of text next
 * to the address.
 *
 * Only the first REDACTION_WINDOW characters are read. When that cuts a word, the cut word goes too
 * (the rest of an address may lie past the cut, and the part before it would not look like one),
 * and so do the words from the last `"` or `(` near the cut (it may open a quoted local part the
 * cut went through). A window that is one word is kept (no address is kilobytes long).
 */
export function redactEmails(text: string, maxLength = 200): string {
  const cut = text.length > REDACTION_WINDOW;
  const parts = withoutControlCharacters(cut ? text.slice(0, REDACTION_WINDOW) : text).split(SEPARATORS);
  // parts: words at even indexes, the separators between them at odd ones.
  if (cut && parts.length > 1) {
    parts[parts.length - 1] = '';
    const opener = nearest(parts, parts.length - 1, -1, (word) => word.includes('"') || word.includes('('));
    if (opener !== undefined) clear(parts, opener, parts.length);
  }
  // What is looked back and forward at is the text as it came, not what an earlier address left.
  const words = parts.slice();
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i] as string;
    if (!looksLikeEmail(word)) continue;
    const at = atSign(word);
    const localPart = word.slice(0, at);
    const domain = word.slice(at + 1);
    parts[i] = '<email>';
    const opener = beganEarlier(localPart);
    if (opener !== undefined) {
      const from = nearest(words, i, -1, (earlier) => earlier.includes(opener));
      if (from !== undefined) clear(parts, from, i);
    }
    if (openParens(domain) > 0) {
      const to = nearest(words, i, 1, (later) => later.includes(')'));
      if (to !== undefined) clear(parts, i + 1, to + 1);
    }
  }
  const redacted = parts
    .map((part, index) => (index % 2 === 0 ? part : part.replace(/\s+/g, ' ')))
    .join('')
    .trim();
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}...` : redacted;
}

/**
 * The index of the nearest word before (`step` -1) or after (1) `parts[index]` that `matches`,
 * within a local part's length of it; undefined when none is.
 */
function nearest(parts: readonly string[], index: number, step: -1 | 1, matches: (word: string) => boolean): number | undefined {
  let length = 0;
  for (let j = index + 2 * step; j >= 0 && j < parts.length; j += 2 * step) {
    const word = parts[j] as string;
    length += word.length + 1;
    if (length > MAX_LOCAL_PART + 2) return undefined;
    if (matches(word)) return j;
  }
  return undefined;
}

/** Clears the parts from `from` up to (not including) `to`: words and the separators between them. */
function clear(parts: string[], from: number, to: number): void {
  for (let j = from; j < to; j++) parts[j] = '';
}
