import { encodeImage } from './encode';
import { designFor, renderTile } from './product-tile';
import type { ResizeRequest } from './resize-request';

/** The encoded picture for one resize request: the file name's tile, drawn at w×h, in the asked format. */
export function renderRendition(request: ResizeRequest): Buffer {
  const pixels = renderTile(designFor(request.fileName), request.width, request.height);
  return encodeImage(pixels, request.width, request.height, request.format, request.quality);
}
