import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from '@azure/cosmos';
import { INDEX_FILE_NAME } from '../providers/preview/files';
import { checkpointDocumentId, leaseDocumentId } from '../store/documents';
import { IMAGE_COPIES_FOLDER } from './image-copies';

/**
 * What `npm run local -- --reset` forgets besides the seed and the embedded ledger's snapshot.
 * `--out` may name a folder that holds other files (`--out .`), so only what the preview wrote
 * there goes: each email's `.json` contact entry with the `.html` of the same name, the index, and
 * the image copies.
 */
export function forgetPreviews(outDir: string): void {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.endsWith('.json') && !name.startsWith('.') && isPreviewContact(join(outDir, name))) {
      rmSync(join(outDir, name), { force: true });
      rmSync(join(outDir, `${name.slice(0, -'.json'.length)}.html`), { force: true });
    }
  }
  if (names.includes(INDEX_FILE_NAME) && readText(join(outDir, INDEX_FILE_NAME)).includes('<title>Abandoned cart emails (preview)</title>')) {
    rmSync(join(outDir, INDEX_FILE_NAME), { force: true });
  }
  const images = join(outDir, IMAGE_COPIES_FOLDER);
  let copies: string[];
  try {
    copies = readdirSync(images);
  } catch {
    return;
  }
  for (const name of copies) if (/^[0-9a-f]{32}\.(jpg|png|webp|gif|img)$/.test(name)) rmSync(join(images, name), { force: true });
  try {
    rmdirSync(images);
  } catch {
    // Not empty: something else lives there too.
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether the file is a preview's contact entry: `{ external_id, trigger_id, data }`. */
function isPreviewContact(path: string): boolean {
  try {
    const value: unknown = JSON.parse(readText(path));
    return value !== null && typeof value === 'object' && 'trigger_id' in value && 'external_id' in value && 'data' in value;
  } catch {
    return false;
  }
}

/**
 * With a Cosmos DB of the user's (`--cosmos-endpoint`), the local unit's checkpoint and lease
 * outlive the seed: a store seeded anew would be read from the old checkpoint, and a lease left by
 * a stopped run would never expire on the local clock, which replays the seeded moment. The
 * reminders' records stay: the new store's carts are other carts.
 */
export async function forgetLocalUnit(container: Container, operatingUnitNumber: string, channelId: number): Promise<void> {
  for (const id of [checkpointDocumentId(operatingUnitNumber, channelId), leaseDocumentId(operatingUnitNumber)]) {
    await container
      .item(id, id)
      .delete()
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 404) throw error;
      });
  }
}
