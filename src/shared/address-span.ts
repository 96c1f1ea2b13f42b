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

/** Where the local part before the `@` at `at` begins. */
export function localPartStart(text: string, at: number): number {
  // A comment may be longer than a local part: words are read within MAX_PART of where they end,
  // comments and all within four times that of the `@`.
  const limit = Math.max(0, at - MAX_PART * 4);
  let position = at;
  while (position > limit && isSpace(text.charAt(position - 1))) position--;
  for (;;) {
    position = commentsBefore(text, position, limit);
    const word = wordBefore(text, position, Math.max(limit, position - MAX_PART));
    if (word === position) return position;
    position = commentsBefore(text, word, limit);
    if (position > limit && text.charAt(position - 1) === '.') position--;
    else return position;
  }
}

/** Where the domain after the `@` whose domain starts at `from` ends (exclusive). */
export function domainEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_PART * 4);
  let position = from;
  while (position < limit && isSpace(text.charAt(position))) position++;
  position = commentsAfter(text, position, limit);
  if (text.charAt(position) === '[') {
    const close = text.indexOf(']', position);
    position = close < 0 || close >= limit ? limit : close + 1;
  } else {
    while (position < limit && /[A-Za-z0-9.\-_%]/.test(text.charAt(position))) position++;
    while (position < limit && text.charCodeAt(position) > 127 && !isSpace(text.charAt(position))) position++;
  }
  return commentsAfter(text, position, limit);
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

/** Where the comments (and the spaces beside them) that end at `end` begin. */
function commentsBefore(text: string, end: number, limit: number): number {
  let position = end;
  for (;;) {
    let back = position;
    while (back > limit && isSpace(text.charAt(back - 1))) back--;
    if (text.charAt(back - 1) !== ')') return back === position || position === end ? position : back;
    let depth = 0;
    let i = back - 1;
    for (; i >= limit; i--) {
      const character = text.charAt(i);
      if (character === ')') depth++;
      else if (character === '(' && --depth === 0) break;
    }
    if (i < limit) return limit;
    position = i;
    while (position > limit && isSpace(text.charAt(position - 1))) position--;
  }
}

/** Where the comments (and the spaces beside them) that start at `start` end. */
function commentsAfter(text: string, start: number, limit: number): number {
  let position = start;
  for (;;) {
    let ahead = position;
    while (ahead < limit && isSpace(text.charAt(ahead))) ahead++;
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
