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
 * Joins a product image path to the image server. An absolute URL is kept as it is; a relative
 * path is joined with exactly one slash, or appended as-is when the server URL ends in `=`
 * (e.g. `.../search?fileName=`), as Commerce's image server expects.
 */
export function absoluteImageUrl(imageServerUrl: string, imagePath: string): string {
  const path = imagePath.trim();
  if (/^https?:\/\//i.test(path)) return path;
  if (imageServerUrl.endsWith('=')) return imageServerUrl + path.replace(/^\/+/, '');
  return `${imageServerUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
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
