import type { ImageFormat } from './encode';

/**
 * The query of an image request, read the way Commerce's image resizer reads it:
 * `fileName` (the product image path), `w`/`h` (pixels), `q` (JPEG quality), `m` (fit mode) and
 * `f` (output format). Out-of-range sizes and qualities are clamped, as the real resizer does;
 * values that are not numbers, unknown formats and unsafe file names are refused.
 */

export interface ResizeRequest {
  fileName: string;
  width: number;
  height: number;
  /** 1..100; irrelevant (and normalised to 100) for PNG. */
  quality: number;
  format: ImageFormat;
  /** Accepted and ignored: every mode gives a w×h picture here (6, "fit", is what the connector asks for). */
  mode: string;
}

export type ParsedResizeRequest = { ok: true; request: ResizeRequest } | { ok: false; message: string };

export const MAX_SIDE = 2000;
export const DEFAULT_SIDE = 300;
export const DEFAULT_QUALITY = 80;
const MAX_FILE_NAME_LENGTH = 260;

/** Path segments of letters, digits, space, `_ . ( ) -`, starting with a letter or digit, ending in an image extension. */
const SEGMENT = '[A-Za-z0-9][A-Za-z0-9 _.()-]*';
const FILE_NAME = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*\\.(?:png|jpe?g|gif|webp|bmp)$`, 'i');

const FORMATS: Readonly<Record<string, ImageFormat>> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png' };

/** Whether a product image path is one this server will draw: relative, no `..`, no odd characters. */
export function isSafeFileName(fileName: string): boolean {
  return fileName.length <= MAX_FILE_NAME_LENGTH && !fileName.includes('..') && FILE_NAME.test(fileName);
}

/** An integer parameter clamped to [min, max]; `fallback` when absent or empty, null when not an integer. */
function clampedInteger(value: string | null, min: number, max: number, fallback: number): number | null {
  if (value === null || value.trim() === '') return fallback;
  if (!/^-?\d{1,9}$/.test(value.trim())) return null;
  return Math.min(max, Math.max(min, Number(value)));
}

export function parseResizeRequest(query: URLSearchParams): ParsedResizeRequest {
  const fileName = query.get('fileName');
  if (fileName === null || fileName === '') return { ok: false, message: "The query parameter 'fileName' is required." };
  if (!isSafeFileName(fileName)) {
    return { ok: false, message: "The query parameter 'fileName' must be a relative image path such as Products/ITEM_000_001.png." };
  }
  const width = clampedInteger(query.get('w'), 1, MAX_SIDE, DEFAULT_SIDE);
  const height = clampedInteger(query.get('h'), 1, MAX_SIDE, DEFAULT_SIDE);
  if (width === null || height === null) return { ok: false, message: "The query parameters 'w' and 'h' must be integers (pixels)." };
  const quality = clampedInteger(query.get('q'), 1, 100, DEFAULT_QUALITY);
  if (quality === null) return { ok: false, message: "The query parameter 'q' must be an integer from 1 to 100." };
  const formatText = (query.get('f') ?? '').trim().toLowerCase();
  const format = formatText === '' ? 'jpeg' : FORMATS[formatText];
  if (format === undefined) return { ok: false, message: "The query parameter 'f' must be jpg, jpeg or png." };
  return {
    ok: true,
    request: { fileName, width, height, quality: format === 'png' ? 100 : quality, format, mode: query.get('m') ?? '6' },
  };
}

/** Identifies one rendition; equal keys give byte-identical images. */
export function renditionKey(request: ResizeRequest): string {
  return `${request.fileName}|${request.width}x${request.height}|${request.format}|q${request.quality}`;
}
