import type { ViewPortImage } from '../providers/email-provider';

export interface ViewPort {
  /** A CSS media query for the `<source media>` attribute. */
  media: string;
  width: number;
  height: number;
  useForDefaultImageTag: boolean;
}

/** Quality 80, mode 6 (fit inside the box), JPEG: what the Commerce image resizer is asked for. */
const RESIZER_SUFFIX = 'q=80&m=6&f=jpg';

/**
 * A server URL whose query ends in the parameter that names the file, with no value or a folder
 * for one: `.../search?fileName=`, or `.../search?fileName=/` as Commerce's media base URL is
 * usually written. The path goes after it.
 */
const FILE_NAME_QUERY = /[?&][^?&#=]+=(\/(?:[^?&#]*\/)?)?$/;

/** A URL of the web, normalised and kept. */
const HTTP_URL = /^https?:\/\//i;

/**
 * What is a URL but no image of the web: a scheme with an authority (`ftp://`) or one that names
 * no file (`javascript:`, `data:`). Any other text before a colon (`Tee:Blue.png`) is a file name.
 */
const OTHER_URL = /^([a-z][a-z\d+.-]*:\/\/|(javascript|vbscript|data|blob|file|about|mailto):)/i;

/**
 * Joins a product image path to the image server, or `undefined` for a path no image can be made
 * of. Paths and URLs come from Retail Server (a product editor typed them) and go into every
 * reminder, where the retailer's template writes them into `<img src>` and `<source srcset>`: what
 * comes out is a URL as a browser would read it, on the image server for a relative path.
 *
 * An absolute URL is normalised as the WHATWG URL parser reads it (`new URL(path).href`: `"`, `<`,
 * `>` and spaces percent-encoded, tabs and newlines gone; `'` is encoded as well, since that
 * parser leaves it in a path); one without a scheme, `//host/...`, gets https; another scheme
 * with an authority (`ftp://`) or one that names no file (`javascript:`, `data:`) is unusable, and
 * so is a URL that does not parse. A fragment is dropped, so that the resizer parameters stay in
 * the query. Any other text before a colon is part of a file name (`Tee:Blue.png`).
 *
 * A relative path is joined with exactly one slash, or appended to the query value when the server
 * URL ends in one that names the file (`.../search?fileName=` or `...?fileName=/`), as Commerce's
 * image server expects. Retail Server gives paths as they are named (`Products/Tee #2.png`), so
 * each part is percent-encoded: a `#`, `&`, `+` or space would otherwise cut or change the URL. A
 * `.` part is dropped; a `..` part (also written `%2e%2e`, which URL parsers read as `..`), or one
 * that decodes to a slash, would climb out of ImageServerUrl's path, to another container of a
 * signed CDN URL or a file the image server does not mean to serve: such a path is unusable. A server URL with another query of its own (a
 * signed CDN URL) keeps it after the path.
 */
export function absoluteImageUrl(imageServerUrl: string, imagePath: string): string | undefined {
  const path = imagePath.trim();
  if (path.startsWith('//')) return normalisedUrl(`https:${path}`);
  if (HTTP_URL.test(path)) return normalisedUrl(path);
  if (OTHER_URL.test(path)) return undefined;
  // `.` names the folder it is in: dropped. `..`, and a part that decodes to a slash, would leave it.
  const named = path.replace(/^\/+/, '').split('/').map(decodePart);
  // A path that names no file (`.`, `Products/`, `Products/.`) would send a folder as the image.
  const fileName = named[named.length - 1];
  if (fileName === undefined || fileName === '' || fileName === '.') return undefined;
  const parts = named.filter((part) => part !== '.');
  if (parts.some((part) => part === '..' || part.includes('/') || part.includes('\\'))) return undefined;
  // `'` too, which encodeURIComponent leaves: the template may quote its attributes with it.
  const relative = encodedPath(parts);
  if (relative === undefined) return undefined;
  if (FILE_NAME_QUERY.test(imageServerUrl)) return imageServerUrl + relative;
  const queryAt = imageServerUrl.indexOf('?');
  const base = queryAt < 0 ? imageServerUrl : imageServerUrl.slice(0, queryAt);
  const query = queryAt < 0 ? '' : imageServerUrl.slice(queryAt);
  return `${base.replace(/\/+$/, '')}/${relative}${query}`;
}

/** An absolute http(s) URL as the WHATWG parser reads it, without a fragment; `undefined` for any other. */
function normalisedUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  // The parser leaves `"`, backquotes, braces and bars in a host: none is a host's, and a `"` would
  // end the template's attribute.
  if (!/^([a-z\d_-]+\.)*[a-z\d_-]+\.?$|^\[[\da-f:.]+\]$/i.test(url.hostname)) return undefined;
  url.hash = '';
  // The parser leaves these in a query (and `'` in a path): each could end or break an attribute.
  return url.href.replace(/['`{}|^\\"<>]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The parts percent-encoded and joined, `'` too; undefined for a name that cannot be encoded (a lone surrogate). */
function encodedPath(parts: readonly string[]): string | undefined {
  try {
    return parts.map((part) => encodeURIComponent(part).replace(/'/g, '%27')).join('/');
  } catch {
    return undefined;
  }
}

/**
 * One part of a path as it is named: a part that is percent-encoded already is decoded, so that it
 * is encoded once, not twice, and a `%2e%2e` is seen for the `..` it is.
 */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // A lone % is a character of the name, not an escape.
    return part;
  }
}

/** Adds the resizer parameters for one viewport, with `?` or `&` as the URL needs. */
export function resizedImageUrl(url: string, viewPort: Pick<ViewPort, 'width' | 'height'>): string {
  const separator = !url.includes('?') ? '?' : /[?&]$/.test(url) ? '' : '&';
  return `${url}${separator}w=${viewPort.width}&h=${viewPort.height}&${RESIZER_SUFFIX}`;
}

/**
 * The longest product image path or URL taken from Commerce. Browsers, CDNs and email clients
 * stop at a few thousand characters anyway; a longer one is broken data, and copying it into one
 * URL per viewport for every line of a cart would make payloads of hundreds of megabytes.
 */
export const MAX_IMAGE_URL_LENGTH = 2048;

/** One image per configured viewport, for the template's `<picture>` element; none for a missing or unusable path. */
export function viewPortImages(imageServerUrl: string, imagePath: string | undefined, viewPorts: readonly ViewPort[]): ViewPortImage[] {
  if (!imagePath || imagePath.trim() === '' || imagePath.length > MAX_IMAGE_URL_LENGTH) return [];
  const base = absoluteImageUrl(imageServerUrl, imagePath);
  if (base === undefined) return [];
  return viewPorts.map((viewPort) => ({
    url: resizedImageUrl(base, viewPort),
    media: viewPort.media,
    useForDefaultImageTag: viewPort.useForDefaultImageTag,
  }));
}

const NO_IMAGES: readonly ViewPortImage[] = Object.freeze([]);

/**
 * A run's viewport images per product image path. The same few hundred products fill thousands of
 * carts, and building their URLs again for every line was a measurable share of a run's CPU and
 * garbage (with two smaller cuts made with it, 100,000 carts: job CPU 8.2-10.4 s -> 7.6-9.3 s,
 * live heap 80-97 -> 71-80 MB). Every reminder that shows a product shares its list, so
 * the lists are frozen. Bounded like the product cache, oldest dropped first.
 */
export class ViewPortImageCache {
  private readonly byPath = new Map<string, readonly ViewPortImage[]>();

  constructor(
    private readonly imageServerUrl: string,
    private readonly viewPorts: readonly ViewPort[],
    private readonly capacity = 10_000,
  ) {}

  get(imagePath: string | undefined): readonly ViewPortImage[] {
    if (imagePath === undefined) return NO_IMAGES;
    let images = this.byPath.get(imagePath);
    if (!images) {
      images = Object.freeze(viewPortImages(this.imageServerUrl, imagePath, this.viewPorts).map((image) => Object.freeze(image)));
      this.byPath.set(imagePath, images);
      if (this.byPath.size > this.capacity) this.byPath.delete(this.byPath.keys().next().value as string);
    }
    return images;
  }
}
