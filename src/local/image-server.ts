import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, sendJson } from '../simulators/http-server';
import { CONTENT_TYPE } from './images/encode';
import { LruCache } from './images/lru-cache';
import { renderRendition } from './images/rendition';
import { parseResizeRequest, renditionKey } from './images/resize-request';
import { hashString } from './random';

/**
 * An offline stand-in for the Commerce image server (CMS) that product images in the emails point
 * at, so an email preview shows pictures with no network. It answers the resizer's query the way
 * the real one does (`fileName`, `w`, `h`, `q`, `m`, `f`) with a real JPEG or PNG of exactly w×h
 * pixels: a product tile drawn from a hash of the file name (see images/product-tile.ts), the same
 * bytes for the same URL every time. Its `imageServerUrl` goes into `MediaOptions.ImageServerUrl`.
 */

export const IMAGE_SEARCH_PATH = '/cms/imageFileData/search';

export interface ImageServerOptions {
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface ImageServer {
  /** `http://<host>:<port>/cms/imageFileData/search?fileName=`; the connector appends the image path. */
  readonly imageServerUrl: string;
  /** Requests answered so far, whatever their outcome. */
  readonly requests: number;
  close(): Promise<void>;
}

const CACHE_CONTROL = 'public, max-age=3600';
/** Bump when the drawing changes, so browsers holding an old picture revalidate. */
const DESIGN_VERSION = 'tile-1';
const CACHE_ENTRIES = 200;
const CACHE_BYTES = 64 * 1024 * 1024;

function sendError(response: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(response, status, { error: { code, message } }, headers);
}

export async function startImageServer(options: ImageServerOptions = {}): Promise<ImageServer> {
  const cache = new LruCache<Buffer>(CACHE_ENTRIES, CACHE_BYTES, (image) => image.length);
  let requests = 0;

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    requests++;
    const url = new URL(request.url ?? '/', 'http://image-server.local');
    if (url.pathname !== IMAGE_SEARCH_PATH) {
      sendError(response, 404, 'NotFound', `No image route at ${url.pathname}; images are served at ${IMAGE_SEARCH_PATH}.`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendError(response, 405, 'MethodNotAllowed', 'Use GET or HEAD.', { Allow: 'GET, HEAD' });
      return;
    }
    const parsed = parseResizeRequest(url.searchParams);
    if (!parsed.ok) {
      sendError(response, 400, 'BadRequest', parsed.message);
      return;
    }
    const key = renditionKey(parsed.request);
    const etag = `"${DESIGN_VERSION}-${hashString(key).toString(16)}"`;
    const cacheHeaders = { 'Cache-Control': CACHE_CONTROL, ETag: etag, 'Access-Control-Allow-Origin': '*' };
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, cacheHeaders);
      response.end();
      return;
    }
    let image = cache.get(key);
    if (!image) {
      image = renderRendition(parsed.request);
      cache.set(key, image);
    }
    response.writeHead(200, { ...cacheHeaders, 'Content-Type': CONTENT_TYPE[parsed.request.format], 'Content-Length': image.length });
    response.end(request.method === 'HEAD' ? undefined : image);
  };

  const server = await listen(handle, { host: options.host, port: options.port });
  return {
    imageServerUrl: `${server.origin}${IMAGE_SEARCH_PATH}?fileName=`,
    get requests() {
      return requests;
    },
    close: () => server.close(),
  };
}
