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

/** Vertical tab, form feed and carriage return: they part words, so they become spaces. */
const LINE_BREAKING = /[\v\f\r]/g;

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
const SEPARATOR = /[\s<>,;:]/;
const SEPARATORS = /([\s<>,;:]+)/;

/** The longest local part an address may have (RFC 5321). */
const MAX_LOCAL_PART = 64;

/**
 * Whether a word (a run without separators) holds something like an address: a character, `@`, a
 * character, `.`, a character. Such a word is redacted whole.
 */
function looksLikeEmail(word: string): boolean {
  const at = word.indexOf('@', 1);
  return at > 0 && word.slice(at + 2, -1).includes('.');
}

/**
 * The first REDACTION_WINDOW characters. When that cuts a word, the cut word goes too: the rest of
 * an address may lie past the cut, and the part before it would not look like one. A window that
 * is one word is kept (no address is kilobytes long; whether it holds an `@` and a `.` is checked).
 */
function leadingWindow(text: string): string {
  if (text.length <= REDACTION_WINDOW) return text;
  const window = text.slice(0, REDACTION_WINDOW);
  let end = window.length;
  while (end > 0 && !SEPARATOR.test(window.charAt(end - 1))) end--;
  if (end === 0) return window;
  // A quoted local part or a comment the cut went through ("sean o'br...): its start goes too.
  const kept = window.slice(0, end);
  const tailStart = Math.max(0, kept.length - MAX_LOCAL_PART);
  const opener = unmatchedOpener(kept.slice(tailStart));
  return opener === undefined ? kept : kept.slice(0, tailStart + opener);
}

/** Where the first `"` or `(` that nothing closes is in `text`, if one is. */
function unmatchedOpener(text: string): number | undefined {
  let quote: number | undefined;
  const parens: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const character = text.charAt(i);
    if (character === '"') quote = quote === undefined ? i : undefined;
    else if (quote !== undefined) continue;
    else if (character === '(') parens.push(i);
    else if (character === ')') parens.pop();
  }
  const firstParen = parens[0];
  if (quote === undefined) return firstParen;
  return firstParen === undefined ? quote : Math.min(quote, firstParen);
}

/**
 * Removes control characters and anything that looks like an email address, makes each run of
 * whitespace one space, and bounds the length to `maxLength` characters (and `...` when cut).
 */
export function redactEmails(text: string, maxLength = 200): string {
  const parts = withoutControlCharacters(leadingWindow(text)).split(SEPARATORS);
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i] as string;
    if (!looksLikeEmail(word)) continue;
    parts[i] = '<email>';
    // A quoted local part or a comment may hold whitespace ("sean o'brien"@example.com,
    // sean(o brien)@example.com): one that opened in an earlier word, and closes right before the
    // `@`, goes back to where it opened. A quote of the word's own (Email="ann@example.com") does not.
    const localPart = word.slice(0, word.indexOf('@', 1));
    const quoteOpenedBefore = localPart.endsWith('"') && occurrences(localPart, '"') % 2 === 1;
    const commentOpenedBefore = localPart.endsWith(')') && occurrences(localPart, ')') > occurrences(localPart, '(');
    const opener = quoteOpenedBefore ? '"' : commentOpenedBefore ? '(' : undefined;
    if (opener !== undefined) redactBackTo(opener, parts, i, localPart.length);
  }
  const redacted = parts
    .map((part, index) => (index % 2 === 0 ? part : part.replace(/\s+/g, ' ')))
    .join('')
    .trim();
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}...` : redacted;
}

function occurrences(text: string, character: string): number {
  return text.split(character).length - 1;
}

/**
 * Clears the words and separators before `parts[index]` back to the word with `opener` in it (the
 * opening `"` or `(` of the local part), that word too, looking no further back than a local part's
 * length.
 */
function redactBackTo(opener: string, parts: string[], index: number, length: number): void {
  for (let j = index - 2; j >= 0 && length <= MAX_LOCAL_PART; j -= 2) {
    const word = parts[j] as string;
    length += word.length + (parts[j + 1] as string).length;
    parts[j + 1] = '';
    parts[j] = '';
    if (word.includes(opener)) return;
  }
}
