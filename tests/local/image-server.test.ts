import { createServer } from 'node:net';
import { inflateSync } from 'node:zlib';
import { decode as decodeJpeg } from 'jpeg-js';
import { absoluteImageUrl, resizedImageUrl } from '../../src/enrich/images';
import { startImageServer, type ImageServer } from '../../src/local/image-server';
import { LruCache } from '../../src/local/images/lru-cache';

/**
 * The offline image server, asked exactly as the connector asks it: the product's relative image
 * path joined to `imageServerUrl`, then `w`, `h` and `q=80&m=6&f=jpg` (src/enrich/images.ts).
 */

let server: ImageServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<ImageServer> {
  server = await startImageServer();
  return server;
}

/** The URL the connector would put in an email for this image path and viewport. */
function connectorUrl(imageServer: ImageServer, imagePath: string, width: number, height: number): string {
  return resizedImageUrl(absoluteImageUrl(imageServer.imageServerUrl, imagePath) ?? '', { width, height });
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** Width and height from a JPEG's start-of-frame segment, read without decoding. */
function jpegSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.readUInt16BE(0)).toBe(0xffd8);
  let offset = 2;
  while (offset < bytes.length) {
    const marker = bytes.readUInt16BE(offset);
    const length = bytes.readUInt16BE(offset + 2);
    if (marker >= 0xffc0 && marker <= 0xffc2) return { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    offset += 2 + length;
  }
  throw new Error('no start-of-frame segment');
}

/** Width and height from a PNG's IHDR, after checking the signature, and the decompressed size. */
function pngSize(bytes: Buffer): { width: number; height: number; inflatedBytes: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.toString('ascii', 12, 16)).toBe('IHDR');
  const idatStart = bytes.indexOf('IDAT', 0, 'ascii');
  const idatLength = bytes.readUInt32BE(idatStart - 4);
  const inflated = inflateSync(bytes.subarray(idatStart + 4, idatStart + 4 + idatLength));
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), inflatedBytes: inflated.length };
}

describe('the local image server', () => {
  test('has an ImageServerUrl shaped like the Commerce one', async () => {
    const images = await start();
    expect(images.imageServerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cms\/imageFileData\/search\?fileName=$/);
  });

  test('answers the connector URL with a real JPEG of exactly w×h pixels', async () => {
    const images = await start();
    const url = connectorUrl(images, 'Products/SIM000101_000_001.png', 300, 200);
    expect(url).toBe(`${images.imageServerUrl}Products/SIM000101_000_001.png&w=300&h=200&q=80&m=6&f=jpg`);

    const response = await get(url);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(Number(response.headers.get('content-length'))).toBe(response.body.length);
    expect(jpegSize(response.body)).toEqual({ width: 300, height: 200 });
    const decoded = decodeJpeg(response.body, { useTArray: true });
    expect({ width: decoded.width, height: decoded.height }).toEqual({ width: 300, height: 200 });
    // A picture, not a blank: the frame, the background and the shape differ.
    const pixel = (x: number, y: number) => Array.from(decoded.data.subarray((y * 300 + x) * 4, (y * 300 + x) * 4 + 3));
    const samples = new Set([pixel(1, 1), pixel(20, 20), pixel(150, 92)].map((rgb) => rgb.map((v) => Math.round(v / 32)).join()));
    expect(samples.size).toBe(3);
  });

  test.each([
    ['Products/SIM000102_000_001.png', 300, 300],
    ['Products/SIM000103_000_001.png', 600, 600],
    ['Products/Sub folder/SHIRT (blue)_000_001.jpg', 1, 1],
    ['Products/SIM000104_000_001.png', 640, 120],
  ])('%s at %i×%i', async (imagePath, width, height) => {
    const images = await start();
    const response = await get(connectorUrl(images, imagePath, width, height));
    expect(response.status).toBe(200);
    expect(jpegSize(response.body)).toEqual({ width, height });
  });

  test('serves PNG for f=png and JPEG for f=jpeg or no f; sizes default to 300×300 and are clamped', async () => {
    const images = await start();
    const base = `${images.imageServerUrl}Products/SIM000105_000_001.png`;

    const png = await get(`${base}&w=120&h=80&f=png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(pngSize(png.body)).toEqual({ width: 120, height: 80, inflatedBytes: (120 * 4 + 1) * 80 });

    const jpeg = await get(`${base}&w=50&h=40&f=jpeg`);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect(jpegSize(jpeg.body)).toEqual({ width: 50, height: 40 });

    const defaults = await get(base);
    expect(defaults.headers.get('content-type')).toBe('image/jpeg');
    expect(jpegSize(defaults.body)).toEqual({ width: 300, height: 300 });

    const clamped = await get(`${base}&w=0&h=99999&f=png`);
    expect(pngSize(clamped.body)).toMatchObject({ width: 1, height: 2000 });
  });

  test('honours the JPEG quality and accepts any fit mode', async () => {
    const images = await start();
    const base = `${images.imageServerUrl}Products/SIM000106_000_001.png&w=400&h=400`;
    const low = await get(`${base}&q=5&m=6&f=jpg`);
    const high = await get(`${base}&q=100&m=6&f=jpg`);
    const otherMode = await get(`${base}&q=5&m=2&f=jpg`);
    expect(low.body.length).toBeLessThan(high.body.length);
    expect(otherMode.status).toBe(200);
    expect(jpegSize(otherMode.body)).toEqual({ width: 400, height: 400 });
  });

  test('gives the same bytes for the same URL, on every server, and different pictures for different products', async () => {
    const images = await start();
    const url = connectorUrl(images, 'Products/SIM000107_000_001.png', 300, 300);
    const first = await get(url);
    const second = await get(url);
    expect(second.body.equals(first.body)).toBe(true);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));

    const other = await get(connectorUrl(images, 'Products/SIM000108_000_001.png', 300, 300));
    expect(other.body.equals(first.body)).toBe(false);

    await images.close();
    const restarted = await start();
    const again = await get(connectorUrl(restarted, 'Products/SIM000107_000_001.png', 300, 300));
    expect(again.body.equals(first.body)).toBe(true);
  });

  test('answers HEAD with the headers only, and a matching If-None-Match with 304', async () => {
    const images = await start();
    const url = connectorUrl(images, 'Products/SIM000109_000_001.png', 300, 300);
    const head = await get(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);

    const etag = head.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const revalidated = await get(url, { headers: { 'If-None-Match': etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  test.each([
    ['/'],
    ['/favicon.ico'],
    ['/cms/imageFileData/other?fileName=Products/A.png'],
    ['/cms/imageFileData/search/extra?fileName=Products/A.png'],
  ])('answers 404 for %s', async (path) => {
    const images = await start();
    const response = await get(new URL(path, images.imageServerUrl).toString());
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body.toString('utf8'))).toMatchObject({ error: { code: 'NotFound' } });
  });

  test.each([
    ['no file name', '/cms/imageFileData/search'],
    ['an empty file name', '/cms/imageFileData/search?fileName='],
    ['a parent directory', '/cms/imageFileData/search?fileName=../secrets.png'],
    ['a parent directory inside', '/cms/imageFileData/search?fileName=Products/../../etc/passwd.png'],
    ['an encoded parent directory', '/cms/imageFileData/search?fileName=Products%2F..%2F..%2Fkey.png'],
    ['an absolute path', '/cms/imageFileData/search?fileName=/etc/hosts.png'],
    ['a backslash', '/cms/imageFileData/search?fileName=Products%5CA.png'],
    ['a URL', '/cms/imageFileData/search?fileName=https://evil.example/a.png'],
    ['a file that is not an image', '/cms/imageFileData/search?fileName=Products/readme.txt'],
    ['markup', '/cms/imageFileData/search?fileName=Products/%3Cscript%3E.png'],
    ['a width that is not a number', '/cms/imageFileData/search?fileName=Products/A.png&w=wide'],
    ['a quality that is not a number', '/cms/imageFileData/search?fileName=Products/A.png&q=best'],
    ['an unknown format', '/cms/imageFileData/search?fileName=Products/A.png&f=webp'],
  ])('answers 400 for %s', async (_case, path) => {
    const images = await start();
    const response = await get(new URL(path, images.imageServerUrl).toString());
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body.toString('utf8'))).toMatchObject({ error: { code: 'BadRequest' } });
  });

  test('refuses methods other than GET and HEAD', async () => {
    const images = await start();
    const response = await get(connectorUrl(images, 'Products/A.png', 10, 10), { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  test('counts the requests it answered, whatever their outcome', async () => {
    const images = await start();
    expect(images.requests).toBe(0);
    await get(connectorUrl(images, 'Products/A.png', 10, 10));
    await get(new URL('/nowhere', images.imageServerUrl).toString());
    await get(`${images.imageServerUrl}..%2Fx.png`);
    expect(images.requests).toBe(3);
  });

  test('listens where it is told, and close() frees the port', async () => {
    const images = await start();
    const port = Number(new URL(images.imageServerUrl).port);
    await images.close();
    await expect(fetch(images.imageServerUrl)).rejects.toThrow();

    // Nothing holds the port any more: another listener can take it.
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
    server = await startImageServer({ host: '127.0.0.1', port });
    expect(server.imageServerUrl).toBe(`http://127.0.0.1:${port}/cms/imageFileData/search?fileName=`);
    expect((await get(connectorUrl(server, 'Products/A.png', 10, 10))).status).toBe(200);
  });
});

describe('the rendition cache', () => {
  test('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = new LruCache<string>(2, 1000, (value) => value.length);
    cache.set('a', 'A');
    cache.set('b', 'B');
    expect(cache.get('a')).toBe('A');
    cache.set('c', 'C');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
    expect(cache.size).toBe(2);
  });

  test('keeps the total size within maxBytes and does not keep a value larger than that', () => {
    const cache = new LruCache<string>(10, 10, (value) => value.length);
    cache.set('a', 'aaaa');
    cache.set('b', 'bbbb');
    cache.set('c', 'cccc');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set('huge', 'x'.repeat(11));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('b')).toBe('bbbb');
    cache.set('b', 'bb');
    cache.set('d', 'dddddd');
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual(['bb', undefined, 'dddddd']);
  });
});
