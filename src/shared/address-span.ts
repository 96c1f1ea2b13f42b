/**
 * Where an email address around an `@` begins and ends in a text, read as RFC 5322 writes one: a
 * local part of atoms and quoted strings joined by dots, comments and the spaces beside them
 * anywhere between, then a domain of labels or a literal in brackets. Used by the redaction, which
 * must take every part of an address, however it is written: `"sean o'brien"@example.com`,
 * `"a b".c@d.e`, `sean(a (b c) d).lee@x.com`, `sean (home)@x.com`, `ann@(note)x.com`,
 * `ann@[IPv6:2001:db8::1]`. A quoted string that ends with an escaped quote (`\"`, as JSON text
 * writes one) began with one.
 *
 * A local part's words are read at most `MAX_PART` characters back (a local part is at most 64, and
 * what lies further is the text's, not the address's), comments and all at most four times that
 * either side of the `@`. Both scans are linear in what they read.
 */

/** The most characters read either side of an `@`. */
const MAX_PART = 66;

/** Characters an atom may hold (RFC 5322 atext), and any beyond ASCII (RFC 6531). */
function isAtomCharacter(character: string): boolean {
  return /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/.test(character) || character.charCodeAt(0) > 127;
}

function isSpace(character: string | undefined): boolean {
  return character !== undefined && /\s/.test(character);
}

/**
 * The address around the `@` at `at` (its domain starts at `domainFrom`, after `%40` too), as the
 * offsets it spans; undefined when what stands there is no address: a local part with no letter or
 * digit (`"@odata.type"`, `@cartId`), or a domain that is neither a bracketed literal nor a name
 * with a dot and a letter (`2 @ 5.00`, `@azure/core`, `pkg@1.4.0`).
 */
export function addressAround(text: string, at: number, domainFrom: number): { start: number; end: number } | undefined {
  const start = localPartStart(text, at);
  if (!/[\p{L}\p{N}]/u.test(text.slice(start, at))) return undefined;
  const domain = domainAfter(text, domainFrom);
  const name = text.slice(domain.start, domain.nameEnd);
  if (!name.startsWith('[') && !(/\p{L}/u.test(name) && /[^.]\.[^.]/.test(name))) return undefined;
  return { start, end: domain.end };
}

/** Where the local part before the `@` at `at` begins. */
function localPartStart(text: string, at: number): number {
  // A comment may be longer than a local part: words are read within MAX_PART of where they end,
  // comments and all within four times that of the `@`.
  const limit = Math.max(0, at - MAX_PART * 4);
  let position = at;
  while (position > limit && isSpace(text.charAt(position - 1))) position--;
  // Spaces and comments may stand between the local part and its `@`; within the local part a
  // comment touches what it stands beside (`sean(o brien).lee`), or it is the text's (`(id 3) ann@`).
  position = commentsBefore(text, position, limit, true);
  for (;;) {
    const word = wordBefore(text, position, Math.max(limit, position - MAX_PART));
    if (word === position) return position;
    position = commentsBefore(text, word, limit, false);
    if (position > limit && text.charAt(position - 1) === '.') position = commentsBefore(text, position - 1, limit, false);
    else return position;
  }
}

/**
 * The domain after the `@` whose domain starts at `from`: where its name (or literal) starts and
 * ends, and where the address ends, a comment touching it included (`x.com(home)`; one after a
 * space, `x.com (HTTP 429)`, is the text's).
 */
function domainAfter(text: string, from: number): { start: number; nameEnd: number; end: number } {
  const limit = Math.min(text.length, from + MAX_PART * 4);
  let position = from;
  while (position < limit && isSpace(text.charAt(position))) position++;
  position = commentsAfter(text, position, limit, true);
  const start = position;
  if (text.charAt(position) === '[') {
    const close = text.indexOf(']', position);
    position = close < 0 || close >= limit ? limit : close + 1;
  } else {
    while (position < limit && /[A-Za-z0-9.\-_%]/.test(text.charAt(position))) position++;
    while (position < limit && text.charCodeAt(position) > 127 && !isSpace(text.charAt(position))) position++;
  }
  return { start, nameEnd: position, end: commentsAfter(text, position, limit, false) };
}

/** Where an atom or a quoted string ending at `end` begins (`end` itself when none does). */
function wordBefore(text: string, end: number, limit: number): number {
  if (text.charAt(end - 1) === '"') {
    // The opening quote is escaped as the closing one is (none in plain text, one `\` in JSON);
    // a quote escaped once more is a character of the string.
    const escapes = backslashesBefore(text, end - 1);
    for (let i = end - 2 - escapes; i >= limit; i--) {
      if (text.charAt(i) === '"' && backslashesBefore(text, i) === escapes) return i - escapes;
    }
    return limit;
  }
  let position = end;
  while (position > limit && isAtomCharacter(text.charAt(position - 1))) position--;
  return position;
}

/** How many backslashes stand right before `index`. */
function backslashesBefore(text: string, index: number): number {
  let count = 0;
  while (index - count - 1 >= 0 && text.charAt(index - count - 1) === '\\') count++;
  return count;
}

/**
 * Where the comments that end at `end` begin, with the spaces between and before them; with
 * `spacesFirst`, spaces before `end` are skipped to reach the first one. `end` when none is there.
 */
function commentsBefore(text: string, end: number, limit: number, spacesFirst: boolean): number {
  let position = end;
  let back = position;
  if (spacesFirst) while (back > limit && isSpace(text.charAt(back - 1))) back--;
  while (text.charAt(back - 1) === ')') {
    let depth = 0;
    let i = back - 1;
    for (; i >= limit; i--) {
      const character = text.charAt(i);
      if (character === ')') depth++;
      else if (character === '(' && --depth === 0) break;
    }
    if (i < limit) return limit;
    position = i;
    back = position;
    while (back > limit && isSpace(text.charAt(back - 1))) back--;
    // Spaces before a comment belong to the address only when a word or comment of it is there.
    if (back !== position && !isAtomCharacter(text.charAt(back - 1)) && text.charAt(back - 1) !== '"' && text.charAt(back - 1) !== ')') return position;
    position = back;
  }
  return position;
}

/**
 * Where the comments that start at `start` end; with `spacesFirst`, spaces after `start` are
 * skipped to reach the first one. `start` when none is there.
 */
function commentsAfter(text: string, start: number, limit: number, spacesFirst: boolean): number {
  let position = start;
  for (;;) {
    let ahead = position;
    if (spacesFirst) while (ahead < limit && isSpace(text.charAt(ahead))) ahead++;
    if (text.charAt(ahead) !== '(') return position;
    let depth = 0;
    let i = ahead;
    for (; i < limit; i++) {
      const character = text.charAt(i);
      if (character === '(') depth++;
      else if (character === ')' && --depth === 0) break;
    }
    if (i >= limit) return limit;
    position = i + 1;
  }
}
