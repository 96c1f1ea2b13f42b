import fc from 'fast-check';
import { absoluteImageUrl, viewPortImages } from '../../src/enrich/images';

// Image paths and URLs from Retail Server go into the template's attributes: nothing that ends an
// attribute comes out, and a path that names no file gives no image.

test("a relative path's ' is percent-encoded, as an absolute URL's is", () => {
  expect(absoluteImageUrl('https://img.example.com/media/', "Products/O'Neill.png")).toBe('https://img.example.com/media/Products/O%27Neill.png');
});

test('a path that names no file (".", "./") gives no image, not the image folder', () => {
  expect(absoluteImageUrl('https://img.example.com/media/', '.')).toBeUndefined();
  expect(absoluteImageUrl('https://img.example.com/search?fileName=/', './')).toBeUndefined();
  expect(absoluteImageUrl('https://img.example.com/media/', 'Products/.')).toBeUndefined();
  expect(absoluteImageUrl('https://img.example.com/media/', 'Products/%2e')).toBeUndefined();
});

const SERVER = 'https://img.example.com/media/';

// The WHATWG parser leaves `"` (and ` { } |`) in a host: new URL('https://x"y.com/').href keeps it.
describe('an absolute image URL whose host holds a "', () => {
  test('https://cdn.example.com"onerror="alert(1)/x.png', () => {
    const url = absoluteImageUrl(SERVER, 'https://cdn"onerror="alert(1)".example.com/x.png');
    expect(url === undefined || !/["'<>\s]/.test(url)).toBe(true);
  });

  test('//a"b.example.com/x.png', () => {
    const url = absoluteImageUrl(SERVER, '//a"b.example.com/x.png');
    expect(url === undefined || !/["'<>\s]/.test(url)).toBe(true);
  });

  test('property (seeded): no attribute-breaking character in any output', () => {
    const char = fc.constantFrom('a', '.', '"', "'", '<', '>', ' ', '/', '%22', '`', '=');
    fc.assert(
      fc.property(fc.constantFrom('https://', '//', 'http://', ''), fc.array(char, { maxLength: 8 }), (prefix, chars) => {
        const url = absoluteImageUrl(SERVER, `${prefix}h${chars.join('')}.png`);
        return url === undefined || !/["'<>\s]/.test(url);
      }),
      { seed: 424242, numRuns: 500 },
    );
  });
});

test('a backquote, brace, bar or caret the parser leaves in a query is percent-encoded', () => {
  expect(absoluteImageUrl(SERVER, 'https://cdn.example.com/a.png?v=`x{|}^')).toBe('https://cdn.example.com/a.png?v=%60x%7B%7C%7D%5E');
  expect(absoluteImageUrl(SERVER, 'https://x.com/a?`')).not.toContain('`');
});

test('a name that cannot be encoded (a lone surrogate) gives no image instead of failing the page', () => {
  const viewPorts = [{ media: '(min-width: 0px)', width: 100, height: 100, useForDefaultImageTag: true }];
  expect(absoluteImageUrl(SERVER, 'Products/Tee\uD800.png')).toBeUndefined();
  expect(viewPortImages(SERVER, 'Products/Tee\uD800.png', viewPorts)).toEqual([]);
});

test('"https:" without slashes starts a file name, not a URL to another host', () => {
  expect(absoluteImageUrl(SERVER, 'https:Products/Tee.png')).toBe('https://img.example.com/media/https%3AProducts/Tee.png');
});
