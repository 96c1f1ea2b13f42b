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

/**
 * Joins a product image path to the image server. An absolute URL is kept as it is (one without a
 * scheme, `//host/...`, gets https); a relative path is joined with exactly one slash, or appended
 * to the query value when the server URL ends in one that names the file (`.../search?fileName=`
 * or `...?fileName=/`), as Commerce's image server expects. Retail Server gives paths as they are
 * named (`Products/Tee #2.png`), so each part is percent-encoded: a `#`, `&`, `+` or space would
 * otherwise cut or change the URL. A server URL with another query of its own (a signed CDN URL)
 * keeps it after the path.
 */
export function absoluteImageUrl(imageServerUrl: string, imagePath: string): string {
  const path = imagePath.trim();
  if (/^https?:\/\//i.test(path)) return path;
  if (path.startsWith('//')) return `https:${path}`;
  const relative = path.replace(/^\/+/, '');
  if (FILE_NAME_QUERY.test(imageServerUrl)) return imageServerUrl + relative.split('/').map(encodePart).join('/');
  const queryAt = imageServerUrl.indexOf('?');
  const base = queryAt < 0 ? imageServerUrl : imageServerUrl.slice(0, queryAt);
  const query = queryAt < 0 ? '' : imageServerUrl.slice(queryAt);
  return `${base.replace(/\/+$/, '')}/${relative.split('/').map(encodePart).join('/')}${query}`;
}

/** Percent-encodes one part of a path; a part that is encoded already is encoded once, not twice. */
function encodePart(part: string): string {
  let decoded = part;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    // A lone % is a character of the name, not an escape.
  }
  return encodeURIComponent(decoded);
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
