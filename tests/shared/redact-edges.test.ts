import fc from 'fast-check';
import { redactEmails, REDACTION_WINDOW } from '../../src/shared/redact';

// Addresses at the edges of what redactEmails reads: quoted local parts and comments with spaces,
// escaped quotes, line breaks beside an address, domain literals, and the 4 kB window cutting
// through any of them. No part of an address survives, and no word that is not part of one goes.

test('an IPv6 domain literal (cut at its colon) still makes the word an address', () => {
  expect(redactEmails('Unknown contact ann@[IPv6:2001:db8::1] today')).not.toMatch(/ann/);
});

test('an escaped quote inside a quoted local part does not end it', () => {
  expect(redactEmails('Unknown contact "ann lee\\""@example.com today')).toBe('Unknown contact <email> today');
});

describe('line breaks', () => {
  test('NEL (U+0085) parts words as a line break, so the word before the address stays', () => {
    expect(redactEmails('Contact\u0085ann.lee@example.com was not found')).toBe('Contact <email> was not found');
  });
});

// RFC 5322's obsolete local part puts a quoted string or a comment between dots.
describe('a quoted word or comment in the middle of a local part', () => {
  test('"sean o".brien@example.com goes whole', () => {
    expect(redactEmails('Unknown contact "sean o".brien@example.com today')).toBe('Unknown contact <email> today');
  });

  test('sean(o brien).lee@example.com goes whole', () => {
    expect(redactEmails('Unknown contact sean(o brien).lee@example.com today')).toBe('Unknown contact <email> today');
  });
});

test('a quoted local part holding an @ and a dot takes only its own words', () => {
  expect(redactEmails('Please check the contact "ann@old.example lee"@example.com now')).toBe('Please check the contact <email> now');
});

/** Filler words, then `tail` placed so that the 4 kB window ends `cutAt` characters into `address`. */
function cutThrough(tail: string, address: string, cutAt: number): string {
  const addressStart = tail.indexOf(address);
  const fill = REDACTION_WINDOW - addressStart - cutAt;
  return `${'w '.repeat(Math.ceil(fill / 2)).slice(0, fill - 1)} ${tail}`;
}

describe('the window cut through a comment or a quoted word of a local part', () => {
  test('sean(o brien)@example.com cut inside the comment: no part of it stays', () => {
    const text = cutThrough('Unknown contact sean(o brien)@example.com please check', 'sean(o brien)@example.com', 8);
    expect(text.slice(REDACTION_WINDOW - 8, REDACTION_WINDOW)).toBe('sean(o b');
    expect(redactEmails(text, 100_000).slice(-40)).not.toMatch(/sean/);
  });

  test('sean."o brien"@example.com cut inside the quoted word: no part of it stays', () => {
    const text = cutThrough('Unknown contact sean."o brien"@example.com please check', 'sean."o brien"@example.com', 10);
    expect(redactEmails(text, 100_000).slice(-40)).not.toMatch(/sean/);
  });

  test('property (seeded): no part of the local part stays, wherever the cut falls in a comment', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 99 }), fc.integer({ min: 0, max: 30 }), (n, cutAt) => {
        const address = `q${n}(c${n} d${n})@example.com`;
        const text = cutThrough(`Unknown contact ${address} please check`, address, cutAt);
        return !redactEmails(text, 100_000).includes(`q${n}`);
      }),
      { seed: 424242, numRuns: 200 },
    );
  });

  test('after a long quoted phrase, quotes are paired from the start: the cut local part goes', () => {
    const tail = 'Sent by "Ann Lee of the Northern Estates, the Western Fields and the Far Isles" to <"sean obrien"@example.com> today';
    const cutAt = '"sean ob'.length + 1; // the window ends inside "obrien"
    const fill = REDACTION_WINDOW - tail.indexOf('"sean') - cutAt;
    const text = `${'w '.repeat(Math.ceil(fill / 2)).slice(0, fill - 1)} ${tail}`;
    expect(text.slice(REDACTION_WINDOW - 9, REDACTION_WINDOW)).toBe('"sean obr');
    expect(redactEmails(text, 100_000).slice(-40)).not.toMatch(/sean/);
  });
});

describe('each address judged on its own words', () => {
  test('a stray quote elsewhere in the text (27" monitor) does not let a quoted local part through', () => {
    expect(redactEmails('Product 27" monitor unavailable for "sean o"@x.com today')).toBe('Product 27" monitor unavailable for <email> today');
    expect(redactEmails('" "sean o"@x.com')).not.toMatch(/sean/);
  });

  const json = '{"Message":"The request could not be completed because the customer record failed validation: ';
  test('inside a long JSON string, a comment or an escaped quoted local part goes whole', () => {
    expect(redactEmails(`${json}sean(o brien).lee@x.com"}`)).not.toMatch(/sean/);
    expect(redactEmails(`${json}\\"sean o\\"@x.com"}`)).not.toMatch(/sean/);
  });

  test('a comment in the domain goes with it', () => {
    expect(redactEmails('Unknown ann@(comment here)x.com end')).toBe('Unknown <email> end');
  });

  test('an address written with %40, as a query string has it, is one', () => {
    expect(redactEmails('GET /customers?email=ann%40x.com failed')).toBe('GET <email> failed');
  });
});

describe('an address read from its @ outwards, as RFC 5322 writes one', () => {
  test.each([
    ['a comment between the local part and the @', 'Unknown sean (home)@x.com today'],
    ['escaped quotes inside a quoted local part', 'Unknown "john \\"the boss\\" smith"@x.com today'],
    ['two quoted strings joined by a dot', 'Unknown "sean o"."brien x"@x.com today'],
    ['a quoted string, then a comment with a space', 'Unknown "sean o"(home addr)@x.com today'],
    ['a quoted local part holding an @ and a space', 'Unknown "sean o@home"@x.com today'],
    ['a nested comment', 'Unknown sean(a (b c) d).lee@x.com today'],
  ])('%s: the address goes whole', (_, text) => {
    expect(redactEmails(text)).toBe('Unknown <email> today');
  });

  test('the same address JSON-escaped (JSON.stringify of the message)', () => {
    expect(redactEmails(JSON.stringify({ Message: 'Unknown "john \\"the boss\\" smith"@x.com today' }))).not.toMatch(/john/);
  });

  test('a quoted local part glued to a long path in the same word', () => {
    expect(redactEmails('GET /Commerce/Customers/SearchByEmailAddressInTheCustomerDirectoryWithFilters?email="sean o"@x.com failed')).not.toMatch(/sean/);
  });

  test('in an XML attribute, &quot; is the quote it stands for', () => {
    expect(redactEmails('<Customer Email="&quot;sean o&quot;@x.com" Name="x"/>')).not.toMatch(/sean/);
    expect(redactEmails('<Customer Email="&quot;sean&quot;.lee@x.com"/>')).not.toMatch(/sean/);
  });

  test('an address spanning words just before the window cut', () => {
    const address = '"sean o"@x.com';
    const head = 'x '.repeat(1500);
    const filler = 'y'.repeat(REDACTION_WINDOW - head.length - address.length - 3);
    const text = `${head}${filler} ${address} tail and more text after the cut`;
    expect(text.slice(REDACTION_WINDOW - 5, REDACTION_WINDOW)).toBe('com t');
    expect(redactEmails(text, 100_000)).not.toMatch(/sean/);
  });
});

function cutAfter(kept: string): string {
  const address = 'sean (home)@x.com and more text after the cut';
  const head = 'x '.repeat(1500);
  const filler = 'y'.repeat(REDACTION_WINDOW - head.length - 1 - kept.length);
  const text = `${head}${filler} ${address}`;
  expect(text.slice(REDACTION_WINDOW - kept.length, REDACTION_WINDOW)).toBe(kept);
  return text;
}

describe('the window cut through a comment after the local part', () => {
  test.each(['sean (ho', 'sean (home)', 'sean (home)@'])('window ends "%s": sean goes', (kept) => {
    expect(redactEmails(cutAfter(kept), 100_000).slice(-20)).not.toMatch(/sean/);
  });
});

test('a local part before a long comment goes', () => {
  const text = 'Unknown sean (a comment that is rather long, explaining who this person is and more)@x.com today';
  expect(redactEmails(text)).not.toMatch(/sean/);
});

describe('whitespace beside the @', () => {
  test.each([
    ['a comment, then a space before the @', 'Unknown sean (home) @x.com today'],
    ['a quoted local part, then a space', 'Unknown "sean o" @x.com today'],
    ['a line break right after the @ (wrapped text)', 'Unknown ann.sean@\nexample.com today'],
  ])('%s: the local part goes', (_, text) => {
    expect(redactEmails(text)).not.toMatch(/sean/);
  });
});

describe('XML and HTML character references are read as their characters', () => {
  test.each([
    ['&apos;', '<Error Message="Unknown customer sean.o&apos;brien@x.com" />'],
    ['&#39;', 'Unknown customer sean.o&#39;brien@x.com today'],
  ])("an apostrophe written %s: no part of sean.o'brien survives", (_, text) => {
    expect(redactEmails(text)).not.toMatch(/sean/);
  });

  test('a quoted local part whose quotes are written &#x22;', () => {
    expect(redactEmails('Unknown &#x22;sean o&#x22;@x.com today')).not.toMatch(/sean|x\.com/);
  });
});

// Text that holds no address keeps its words: prices, SQL parameters, OData annotations, package
// paths, and the parentheses beside a plain address.
describe('what is not an address stays', () => {
  describe('OData annotations are not addresses', () => {
    test('@odata.type inside "error" keeps the annotation and the "error" key before it', () => {
      const text =
        '{"error":{"@odata.type":"#Microsoft.Dynamics.Commerce.Runtime.DataValidationException","code":"InvalidRequest","message":"Invalid request"}}';
      const out = redactEmails(text, 1000);
      expect(out).toContain('{"error":');
      expect(out).toContain('@odata.type');
    });

    test('@odata.context keeps its key', () => {
      const text = '{"@odata.context":"https://csu.example.com/Commerce/$metadata#CommerceException","error":{"code":"NotFound"}}';
      expect(redactEmails(text, 1000)).toContain('@odata.context');
    });
  });

  describe('a parenthesis beside a complete address is kept', () => {
    test('after the domain: the HTTP status', () => {
      const out = redactEmails('Failed to send to ann@example.com (HTTP 429): rate limited, retry after 30 s');
      expect(out).toContain('(HTTP 429)');
    });

    test("after the domain: Emarsys' reason", () => {
      expect(redactEmails('No contact found with the external id: 3 - ann@example.com (contact not found)')).toContain(
        '(contact not found)',
      );
    });

    test('before the local part: the id', () => {
      expect(redactEmails('Invalid contact (id 3) ann@example.com')).toContain('(id 3)');
    });

    test('before the local part: .NET ArgumentNullException text, words before it too', () => {
      const out = redactEmails("Value cannot be null. (Parameter 'customerId') ann@example.com");
      expect(out).toContain('null.');
      expect(out).toContain("(Parameter 'customerId')");
    });
  });

  test('a stack-trace line through a scoped npm package keeps its file', () => {
    const out = redactEmails('Error: connect ECONNREFUSED\n    at /home/site/wwwroot/node_modules/@azure/core-rest-pipeline/dist/index.js:42:13');
    expect(out).toContain('core-rest-pipeline/dist/index.js');
  });

  describe('an @ between spaces, with no address in the text', () => {
    test('a price mismatch keeps both prices', () => {
      const out = redactEmails('Price mismatch: expected 2 @ 5.00, got 2 @ 4.50 for line 3');
      expect(out).toContain('2 @ 5.00');
      expect(out).toContain('2 @ 4.50');
    });

    test('a quantity line keeps its unit price', () => {
      expect(redactEmails('Quantity 2 @ 5.00 EUR; line amount 10.00')).toContain('5.00');
    });

    test('a rate-limit message keeps its time and its parenthesis', () => {
      const out = redactEmails('Retry at 12:00 @ UTC (rate limit 1000 @ 1 min)');
      expect(out).toContain('UTC');
      expect(out).toContain('rate limit');
    });

    test('"see docs @ <url>" keeps the URL', () => {
      expect(redactEmails('Header OUN does not match channel 5637144592; see docs @ https://learn.microsoft.com/x')).toContain(
        'https://learn.microsoft.com/x',
      );
    });
  });

  describe('SQL parameter names are not addresses', () => {
    test('the missing parameter of "expects parameter" survives', () => {
      const out = redactEmails("Procedure or function 'GETCARTS' expects parameter '@bi_ChannelId', which was not supplied.");
      expect(out).toContain('bi_ChannelId');
    });

    test('a WHERE clause keeps its comparisons', () => {
      const out = redactEmails('SELECT * FROM crt.CARTS WHERE ID = @cartId AND CHANNEL = @channelId failed: timeout');
      expect(out).toContain('= @cartId');
      expect(out).toContain('= @channelId');
    });
  });
});
