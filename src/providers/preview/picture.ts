import type { ViewPortImage } from '../email-provider';
import { escapeHtml, safeUrl, UNSAFE_URL, urlAttribute } from './html';

/**
 * A product's `<picture>`: one `<source media srcset>` per viewport, in the payload's order (the
 * browser takes the first whose media matches), and an `<img>` fallback from the viewport marked
 * `useForDefaultImageTag` (else the last one) for clients that ignore `<source>`. The `<img>`
 * carries explicit width and height so the layout does not jump while images load and so
 * Outlook-style clients, which ignore CSS sizes, still draw it at the intended size.
 */

export interface PictureOptions {
  /** The CSS width the image is shown at; the height follows the image's aspect ratio. */
  displayWidth: number;
  /**
   * Copies of the images in the preview's folder, by URL: the email shows the copy (a path
   * relative to the email), so it keeps its pictures once the image server is gone.
   */
  localImages?: ReadonlyMap<string, string> | undefined;
}

/** The viewport whose URL the `<img>` fallback uses. */
export function defaultViewPort(images: readonly ViewPortImage[]): ViewPortImage | undefined {
  return images.find((image) => image.useForDefaultImageTag) ?? images[images.length - 1];
}

/** The height for `displayWidth` from the resizer's `w` and `h` in the URL; square when absent. */
export function displayHeight(url: string, displayWidth: number): number {
  const safe = safeUrl(url);
  if (safe === UNSAFE_URL) return displayWidth;
  const query = new URL(safe).searchParams;
  const width = Number(query.get('w'));
  const height = Number(query.get('h'));
  if (!(width > 0) || !(height > 0)) return displayWidth;
  return Math.max(1, Math.round((displayWidth * height) / width));
}

const IMAGE_STYLE = 'display:block;border:0;border-radius:8px;background:#f1f3f5;object-fit:cover;';

export function renderPicture(images: readonly ViewPortImage[], alt: string, options: PictureOptions): string {
  const fallback = defaultViewPort(images);
  const width = options.displayWidth;
  if (!fallback) {
    return `<div class="product-image-missing" role="img" aria-label="${escapeHtml(alt)}" style="width:${width}px;height:${width}px;border-radius:8px;background:#f1f3f5;"></div>`;
  }
  const height = displayHeight(fallback.url, width);
  // A copy's path is the preview's own (images/<hash>.<ext>), never the payload's text.
  const source = (url: string) => {
    const copy = options.localImages?.get(url);
    return copy === undefined ? urlAttribute(url) : escapeHtml(copy);
  };
  const sources = images.map((image) => `<source media="${escapeHtml(image.media)}" srcset="${source(image.url)}">`);
  const img =
    `<img src="${source(fallback.url)}" alt="${escapeHtml(alt)}" width="${width}" height="${height}"` +
    ` style="${IMAGE_STYLE}width:${width}px;height:${height}px;">`;
  return `<picture>${sources.join('')}${img}</picture>`;
}
