import { encode as encodeJpeg } from 'jpeg-js';
import { encodePng } from './png';

/** The formats the resizer's `f` parameter may ask for, and how each goes over the wire. */
export type ImageFormat = 'jpeg' | 'png';

export const CONTENT_TYPE: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
};

/** Encodes RGBA pixels; `quality` (1..100) matters only to JPEG, as with the real resizer. */
export function encodeImage(rgba: Buffer, width: number, height: number, format: ImageFormat, quality: number): Buffer {
  if (format === 'png') return encodePng(rgba, width, height);
  return encodeJpeg({ data: rgba, width, height }, quality).data;
}
