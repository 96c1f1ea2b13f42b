import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * The preview folder on disk: where each email's files go, writing them so a reader (a browser,
 * the index scan, a second run) never sees half a file, and reading the saved payloads back.
 */

export const INDEX_FILE_NAME = 'index.html';

/** Lower case only: Windows file names ignore case, so `Cart-A` and `cart-a` would be one file. */
const SAFE_NAME = /^[a-z0-9][a-z0-9._-]{0,150}$/;
/** `index`, and the device names Windows reserves, with any extension too (`nul.old.html` is NUL). */
const RESERVED = /^(?:index|(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?)$/;

/**
 * The base file name for a trigger id. Trigger ids are `cart-<hex>` today, but the name must be
 * safe whatever they become, on Windows too: anything that is not a plain lower-case file name
 * (path separators, a leading dot, a capital, `index`, a device name such as `CON`) is replaced and
 * suffixed with a hash of the id, so two ids never share a file.
 */
export function previewBaseName(triggerId: string): string {
  if (SAFE_NAME.test(triggerId) && !RESERVED.test(triggerId)) return triggerId;
  const readable = triggerId.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+/, '').slice(0, 100);
  const hash = createHash('sha256').update(triggerId).digest('hex').slice(0, 12);
  return readable === '' ? `email-${hash}` : `${readable}-${hash}`;
}

/**
 * Writes through a temporary file in the same folder and renames it over the target: the rename
 * is atomic, so readers see the old file or the new one, never a partial write.
 */
export async function writeFileAtomic(filePath: string, content: string): Promise<void> {
  const temporary = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, filePath);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

export interface SavedFile {
  fileName: string;
  content: string;
  modifiedAt: Date;
}

/** The `.json` files in the folder (not the temporary ones), newest first; none when it is missing. */
export async function readJsonFiles(dir: string): Promise<SavedFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = await Promise.all(
    names
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map(async (fileName): Promise<SavedFile | undefined> => {
        const filePath = path.join(dir, fileName);
        try {
          const [content, info] = await Promise.all([readFile(filePath, 'utf8'), stat(filePath)]);
          return info.isFile() ? { fileName, content, modifiedAt: info.mtime } : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  return files
    .filter((file): file is SavedFile => file !== undefined)
    .sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime() || a.fileName.localeCompare(b.fileName));
}
