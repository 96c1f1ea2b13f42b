import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Container, JSONObject, OperationInput } from '@azure/cosmos';
import { z } from 'zod';
import { chunk } from '../shared/concurrency';

/**
 * The embedded Cosmos DB server keeps its data in memory only. The local run saves the ledger's
 * documents to a JSON file when it ends and loads them when it starts, so a second `npm run local`
 * sees what the first one sent (and sends nothing new). Only our own fields are kept; Cosmos system
 * fields are regenerated on load.
 */

const snapshotSchema = z.object({
  version: z.literal(1),
  documents: z.array(z.record(z.string(), z.unknown()).and(z.object({ id: z.string(), pk: z.string() }))),
});

const SYSTEM_FIELDS = new Set(['_rid', '_self', '_etag', '_ts', '_attachments', '_lsn']);

function withoutSystemFields(document: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(document).filter(([key]) => !SYSTEM_FIELDS.has(key)));
}

export async function saveLedgerSnapshot(container: Container, path: string): Promise<number> {
  const { resources } = await container.items.readAll<Record<string, unknown>>().fetchAll();
  const documents = resources.map(withoutSystemFields);
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, JSON.stringify({ version: 1, documents }, null, 1));
  renameSync(temporary, path);
  return documents.length;
}

/** Loads a snapshot into the (empty) container; a missing file is an empty ledger. */
export async function restoreLedgerSnapshot(container: Container, path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  const parsed = snapshotSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`The local ledger snapshot ${path} is damaged; start over with --reset.`);
  }
  for (const batch of chunk(parsed.data.documents, 100)) {
    const operations: OperationInput[] = batch.map((document) => ({
      operationType: 'Upsert',
      partitionKey: document.pk,
      // The snapshot holds what the container returned, which is JSON by construction.
      resourceBody: document as JSONObject,
    }));
    const results = await container.items.bulk(operations);
    const failed = results.filter((result) => result.statusCode >= 300);
    if (failed.length > 0) throw new Error(`Could not load ${failed.length} documents of ${path} into the embedded Cosmos DB server.`);
  }
  return parsed.data.documents.length;
}
