import { addressAround } from './address-span';

// Text a remote service wrote (Retail Server's error message, Emarsys' reply text) made fit for a
// failure reason, a log line and a run report. Such text may name the customer a call was about,
// and an email address never appears in a log: anything shaped like one is removed. The text is
// untrusted, and the CLI prints reasons to an operator's terminal: control characters are removed
// too.
//
// Linear in the text's length, and only the first REDACTION_WINDOW characters are read at all: a
// regular expression over the words backtracked quadratically on a long run without a separator
// (40 kB took 4 s, 1 MB half an hour, with the event loop blocked), and what is kept of the text
// is a few hundred characters anyway.

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
 * Whether a word (a run without separators) may hold an address's `@`: something before and after
 * it, in the word or in the words beside it. `addressAround` then says whether an address is there.
 */
function looksLikeEmail(word: string, wordBefore: boolean, wordAfter: boolean): boolean {
  const at = atSign(word);
  if (at < 0) return false;
  const width = word.charAt(at) === '@' ? 1 : 3;
  // RFC 5322 lets spaces stand beside the `@` (`"sean o" @x.com`, a line wrapped after `ann@`).
  return (at > 0 || wordBefore) && (at + width < word.length || wordAfter);
}

/** Where the first `@` of an address at or after `from` is in `word` (one written `%40`, as in a query string, too); -1 for none. */
function atSign(word: string, from = 0): number {
  const at = word.indexOf('@', from);
  const encoded = word.toLowerCase().indexOf('%40', from);
  return at >= 0 && (encoded < 0 || at < encoded) ? at : encoded;
}

const ENTITIES: Record<string, string> = { quot: '"', apos: "'", amp: '&', lt: '<', gt: '>' };

/** XML and HTML character references read as the characters they stand for (`&apos;`, `&#64;`). */
function decodeEntities(text: string): string {
  return text.replace(/&(quot|apos|amp|lt|gt);|&#(\d{1,7});|&#x([\da-f]{1,6});/gi, (entity, name?: string, decimal?: string, hex?: string) => {
    if (name !== undefined) return ENTITIES[name.toLowerCase()] ?? entity;
    const code = decimal !== undefined ? Number(decimal) : parseInt(hex ?? '', 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}

/**
 * Removes control characters and every email address, makes each run of whitespace one space, and
 * bounds the length to `maxLength` characters (and `...` when cut).
 *
 * Each word (a run without separators) with an address's `@` in it goes whole, and so does every
 * word the address itself reaches into (see `address-span.ts`): a quoted local part or a comment
 * may hold spaces (`"sean o'brien"@example.com`, `sean (home)@x.com`), and it is read from the
 * `@` outwards, so a stray quote elsewhere in the text (27" monitor) changes nothing. XML and HTML
 * character references are read as the characters they stand for.
 *
 * Only the first REDACTION_WINDOW characters are read. When that cuts the text, the words within a
 * local part's length of the cut go (the rest of an address, a quoted local part or a comment may
 * lie past it); a window that is one word is kept (no address is kilobytes long).
 */
export function redactEmails(text: string, maxLength = 200): string {
  const cut = text.length > REDACTION_WINDOW;
  const window = withoutControlCharacters(decodeEntities(cut ? text.slice(0, REDACTION_WINDOW) : text));
  // Words at even indexes, the separators between them at odd ones; `starts` their offsets.
  const parts = window.split(SEPARATORS);
  const words = parts.slice();
  const starts: number[] = [];
  let offset = 0;
  for (const part of parts) {
    starts.push(offset);
    offset += part.length;
  }
  const partAt = (position: number, from: number): number => {
    let index = from;
    while (index > 0 && (starts[index] as number) > position) index--;
    while (index + 1 < parts.length && (starts[index + 1] as number) <= position) index++;
    return index;
  };
  const spaceOnly = (separator: string | undefined) => separator !== undefined && /^\s+$/.test(separator);
  for (let i = 0; i < parts.length; i += 2) {
    const word = words[i] as string;
    const wordBefore = i >= 2 && spaceOnly(words[i - 1]) && words[i - 2] !== '';
    const wordAfter = i + 2 < words.length && spaceOnly(words[i + 1]) && words[i + 2] !== '';
    if (!looksLikeEmail(word, wordBefore, wordAfter)) continue;
    let first = i;
    let last = i;
    let found = false;
    // Every `@` of the word: in `"o@home"@x.com` the address's own is the last.
    for (let inWord = atSign(word); inWord >= 0; inWord = atSign(word, inWord + 1)) {
      const at = (starts[i] as number) + inWord;
      const address = addressAround(window, at, at + (word.charAt(inWord) === '@' ? 1 : 3));
      if (!address) continue;
      found = true;
      first = Math.min(first, partAt(address.start, i));
      last = Math.max(last, partAt(Math.max(address.end - 1, at), i));
    }
    if (!found) continue;
    clear(parts, first + (first % 2), i);
    parts[i] = '<email>';
    clear(parts, i + 1, last + 1 + (last % 2));
  }
  if (cut && parts.length > 1) {
    // The cut may go through an address, a quoted local part or a comment: the words within a
    // local part's length of it go (the shown text is a few hundred characters from the start).
    clear(parts, partAt(Math.max(0, window.length - MAX_LOCAL_PART), parts.length - 1), parts.length);
  }
  const redacted = parts
    .map((part, index) => (index % 2 === 0 ? part : part.replace(/\s+/g, ' ')))
    .join('')
    .trim();
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}...` : redacted;
}

/** Clears the parts from `from` up to (not including) `to`: words and the separators between them. */
function clear(parts: string[], from: number, to: number): void {
  for (let j = from; j < to; j++) parts[j] = '';
}
