import { REDACTION_WINDOW, redactEmails } from '../../src/shared/redact';

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
