import { REDACTION_WINDOW, redactEmails, withoutControlCharacters } from '../../src/shared/redact';

describe('redactEmails', () => {
  test('replaces each address, makes whitespace one space, and bounds the length', () => {
    expect(redactEmails('Customer  ann.lee@example.com\n is locked; ask bo@x.org')).toBe('Customer <email> is locked; ask <email>');
    expect(redactEmails('x'.repeat(500))).toBe(`${'x'.repeat(200)}...`);
    expect(redactEmails('x'.repeat(500), 300)).toBe(`${'x'.repeat(300)}...`);
  });

  test('reads the first REDACTION_WINDOW characters and nothing past them, so its work is bounded however long the text', () => {
    // A 1 MB word without a separator (a base64 blob): the regular expression this replaced
    // backtracked quadratically over such a word. What lies past the window is never looked at,
    // so the address at its end changes nothing: the answer is the one for the window alone.
    const word = 'A'.repeat(1_000_000);
    expect(redactEmails(`${word}@example.com`, 300)).toBe(redactEmails(word.slice(0, REDACTION_WINDOW), 300));
    expect(redactEmails(`${word}@example.com`, 300)).toBe(`${'A'.repeat(300)}...`);
  });

  test('a word the window cuts is dropped whole: the part of an address before the cut does not survive', () => {
    const text = `Customer${' '.repeat(REDACTION_WINDOW - 14)}ann.lee@example.com is locked`;
    expect(text.slice(0, REDACTION_WINDOW).endsWith(' ann.le')).toBe(true);
    expect(redactEmails(text)).toBe('Customer');
  });
});

describe('no part of an address survives', () => {
  test.each([
    ["Invalid contact sean.o'brien@example.com", 'Invalid contact <email>'],
    ["Customer d'angelo@example.com is locked", 'Customer <email> is locked'],
    ['Invalid contact "ann.lee@example.com".', 'Invalid contact <email>'],
    ['Customer (ann.lee@example.com) is locked', 'Customer <email> is locked'],
    ["Customer (sean.o'brien@example.com)", 'Customer <email>'],
    ['contact: ann.lee@example.com, <bo@x.org>; mailto:carla+cart@example.net', 'contact: <email>, <<email>>; mailto:<email>'],
    ['a quoted local part "sean o\'brien"@example.com with a space', 'a quoted local part <email> with a space'],
    ['a comment sean(o brien)@example.com in the local part', 'a comment <email> in the local part'],
    ["Customer's cart ann@example.com", "Customer's cart <email>"],
    ['Contact "ann.lee"@example.com here', 'Contact <email> here'],
  ])('%j', (text, expected) => {
    expect(redactEmails(text)).toBe(expected);
  });
});

describe('control characters', () => {
  const ESC = '\u001b';
  test('are removed from a remote text, before its addresses are looked for', () => {
    expect(redactEmails(`locked ${ESC}[2J${ESC}[1;1H\u009b31m\u0000 ann${ESC}@example.com\r\nnext`)).toBe('locked [2J[1;1H31m <email> next');
  });
  test('are removed from text for a terminal, which keeps its lines and tabs', () => {
    expect(withoutControlCharacters(`a\tb\nc${ESC}]8;;https://x/${ESC}\\d\u0007\u007f\u202eé`)).toBe('a\tb\nc]8;;https://x/\\dé');
  });
});

describe('what stays of the text around an address', () => {
  test("a quote of the address's own word (key=\"address\", an attribute) takes only that word", () => {
    expect(redactEmails('The customer with EmailAddress="ann@example.com" was not found')).toBe('The customer with <email> was not found');
    expect(redactEmails('Validation failed for <Customer Email="ann@example.com"/> in request')).toBe('Validation failed for <Customer <email>> in request');
  });

  test.each([
    ['Cart 42 is locked.\rContact support', 'Cart 42 is locked. Contact support'],
    ['Cart 42\fis locked', 'Cart 42 is locked'],
    ['Cart 42\vis locked', 'Cart 42 is locked'],
  ])('%j: a carriage return, form feed or vertical tab still parts words', (text, expected) => {
    expect(redactEmails(text)).toBe(expected);
  });

  test('a window that cuts through a quoted local part drops its start too', () => {
    const padding = ' '.repeat(REDACTION_WINDOW - 'Error'.length - '"sean '.length - "o'br".length);
    const text = `Error${padding}"sean o'brien"@example.com is locked`;
    expect(text.slice(0, REDACTION_WINDOW).endsWith(`"sean o'br`)).toBe(true);
    expect(redactEmails(text)).toBe('Error');
  });
});
