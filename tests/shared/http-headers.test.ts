import { headerValue } from '../../src/shared/http-headers';

describe('headerValue', () => {
  test('reads a fetch Headers object and a plain record, whatever the case of the name', () => {
    expect(headerValue(new Headers({ 'Retry-After': '30' }), 'retry-after')).toBe('30');
    expect(headerValue({ 'Retry-After': '30' }, 'retry-after')).toBe('30');
    expect(headerValue({ location: '/elsewhere' }, 'Location')).toBe('/elsewhere');
  });

  test('numbers and repeated headers become text; absent and unreadable values are undefined', () => {
    expect(headerValue({ 'x-ratelimit-reset': 60 }, 'X-RateLimit-Reset')).toBe('60');
    expect(headerValue({ 'set-cookie': ['a=1', 'b=2'] }, 'set-cookie')).toBe('a=1, b=2');
    expect(headerValue({ other: 'x' }, 'retry-after')).toBeUndefined();
    expect(headerValue({ 'retry-after': { seconds: 5 } }, 'retry-after')).toBeUndefined();
    expect(headerValue({ 'retry-after': null }, 'retry-after')).toBeUndefined();
    expect(headerValue(undefined, 'retry-after')).toBeUndefined();
  });
});
