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
  const at = word.indexOf('@', 1);
  return at > 0 && at < word.length - 1;
}

/**
 * Where a quoted string or a comment that is still open began, word by word: a quoted local part or
 * a comment may hold whitespace (`"sean o'brien"@example.com`, `sean(o brien).lee@example.com`),
 * so the words of an address may begin before the word with its `@`. Read forward from the text's
 * start, so that a quote is known to open or close (`Email="ann@..."` opens one, `lee"@...` closes
 * one); `\"` inside a quoted string is a character of it.
 */
class OpenQuote {
  /** The word the open quoted string or outermost comment began in, if one is open. */
  openedIn: number | undefined;
  private quoted = false;
  private depth = 0;

  read(word: string, index: number): void {
    for (let i = 0; i < word.length; i++) {
      const character = word.charAt(i);
      if (this.quoted) {
        if (character === '\\') i++;
        else if (character === '"') this.quoted = false;
      } else if (character === '"') {
        this.quoted = true;
        if (this.depth === 0) this.openedIn = index;
      } else if (character === '(') {
        if (this.depth++ === 0) this.openedIn = index;
      } else if (character === ')' && this.depth > 0) {
        this.depth--;
      }
    }
    if (!this.quoted && this.depth === 0) this.openedIn = undefined;
  }
}

/**
 * Removes control characters and anything that looks like an email address, makes each run of
 * whitespace one space, and bounds the length to `maxLength` characters (and `...` when cut).
 * Only the first REDACTION_WINDOW characters are read. When that cuts a word, the cut word goes
 * too (the rest of an address may lie past the cut, and the part before it would not look like
 * one), and so does a quoted string or comment the cut leaves open near the end (the start of a
 * quoted local part). A window that is one word is kept (no address is kilobytes long).
 */
export function redactEmails(text: string, maxLength = 200): string {
  const cut = text.length > REDACTION_WINDOW;
  const parts = withoutControlCharacters(cut ? text.slice(0, REDACTION_WINDOW) : text).split(SEPARATORS);
  // parts: words at even indexes, the separators between them at odd ones.
  if (cut && parts.length > 1 && parts[parts.length - 1] !== '') parts[parts.length - 1] = '';
  const open = new OpenQuote();
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i] as string;
    const openedIn = open.openedIn;
    open.read(word, i);
    if (!looksLikeEmail(word)) continue;
    parts[i] = '<email>';
    // A quoted string or comment that began in an earlier word is part of this address's local part.
    if (openedIn !== undefined) clearBack(parts, openedIn, i);
  }
  // A quoted string or comment the window's cut left open may be the start of an address.
  if (cut && open.openedIn !== undefined) clearBack(parts, open.openedIn, parts.length);
  const redacted = parts
    .map((part, index) => (index % 2 === 0 ? part : part.replace(/\s+/g, ' ')))
    .join('')
    .trim();
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}...` : redacted;
}

/**
 * Clears the words from `from` up to (not including) `to`, and the separators between them and
 * before `to`, when they are no longer together than a local part may be: further back, the quote
 * or comment is the text's, not an address's.
 */
function clearBack(parts: string[], from: number, to: number): void {
  let length = 0;
  for (let j = from; j < to; j++) length += (parts[j] as string).length;
  if (length > MAX_LOCAL_PART + 2) return;
  for (let j = from; j < to; j++) parts[j] = '';
}
