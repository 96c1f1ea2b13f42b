import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../shared/logger';

/** The folder, inside the preview folder, for copies of the images the local run's emails show. */
export const IMAGE_COPIES_FOLDER = 'images';

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' };

/**
 * `npm run local`'s image server lives as long as the run, so the preview's emails would show
 * broken pictures once it ends. This copies each image an email shows from that server into
 * `<outDir>/images/`, once per rendition, and gives the email the copy's relative path. The file
 * is named by the URL's path and query, not its port, so later runs reuse it. URLs of other hosts
 * are left alone.
 */
export function localImageCopier(outDir: string, imageServerUrl: string, logger: Logger): (url: string) => Promise<string | undefined> {
  const origin = new URL(imageServerUrl).origin;
  const copies = new Map<string, Promise<string | undefined>>();

  const copy = async (url: URL): Promise<string> => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`the image server answered HTTP ${response.status}`);
    const type = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    const name = `${createHash('sha256').update(url.pathname + url.search).digest('hex').slice(0, 32)}.${EXTENSIONS[type] ?? 'img'}`;
    await mkdir(join(outDir, IMAGE_COPIES_FOLDER), { recursive: true });
    await writeFile(join(outDir, IMAGE_COPIES_FOLDER, name), Buffer.from(await response.arrayBuffer()));
    return `${IMAGE_COPIES_FOLDER}/${name}`;
  };

  return (url) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return Promise.resolve(undefined);
    }
    if (parsed.origin !== origin) return Promise.resolve(undefined);
    let pending = copies.get(parsed.href);
    if (!pending) {
      pending = copy(parsed).catch((error: unknown) => {
        logger.warn('A preview image could not be copied; the email keeps its URL', { reason: error instanceof Error ? error.message : String(error) });
        return undefined;
      });
      copies.set(parsed.href, pending);
    }
    return pending;
  };
}
