import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { IEmailProvider, Notification, NotificationOutcome, ProviderStats } from '../email-provider';
import { systemClock, type Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logger';
import { INDEX_FILE_NAME, previewBaseName, readJsonFiles, writeFileAtomic } from './files';
import { parsePreviewPayload, toPreviewPayload } from './payload';
import { renderEmail } from './render-email';
import { renderIndex, type IndexEntry } from './render-index';

/**
 * An email provider that sends nothing: it writes each email to a folder instead (`<id>.html`,
 * the rendered email, and `<id>.json`, the payload a real provider would get) and keeps an
 * `index.html` listing every email there. It lets people try the connector locally, and review
 * what it would send, without an email provider account.
 */

export const PREVIEW_PROVIDER_NAME = 'preview';

export interface PreviewProviderOptions {
  /** The folder for the emails, created when missing, e.g. `out/emails`. */
  outDir: string;
  logger: Logger;
  /** The time shown on the index page. */
  clock?: Clock | undefined;
  /**
   * Copies an image an email shows into the folder and returns its path relative to the folder
   * (undefined: the email keeps the URL). `npm run local` uses it, since its image server stops
   * when the run ends; the JSON payload keeps the URLs a provider would get.
   */
  copyImage?: ((url: string) => Promise<string | undefined>) | undefined;
}

export interface PreviewIndexOptions {
  logger: Logger;
  clock?: Clock | undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * (Re)writes `<outDir>/index.html` from the payloads saved in the folder, so it lists the emails
 * of earlier runs too, and returns its path. Files that are not preview payloads are skipped.
 */
export async function writePreviewIndex(outDir: string, options: PreviewIndexOptions): Promise<string> {
  const entries: IndexEntry[] = [];
  let skipped = 0;
  for (const file of await readJsonFiles(outDir)) {
    const payload = parsePreviewPayload(file.content);
    if (payload) entries.push({ htmlFileName: file.fileName.replace(/\.json$/, '.html'), payload });
    else skipped += 1;
  }
  if (skipped > 0) options.logger.warn('preview index skipped files that are not email payloads', { outDir, skipped });
  const indexPath = path.join(outDir, INDEX_FILE_NAME);
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(indexPath, renderIndex(entries, (options.clock ?? systemClock).now()));
  return indexPath;
}

/**
 * Writes one notification's files: the HTML first, then the JSON, since the index lists the
 * JSON files and must never link to an email that is not there.
 */
async function writeEmail(outDir: string, notification: Notification, copyImage: PreviewProviderOptions['copyImage']): Promise<string> {
  const baseName = previewBaseName(notification.triggerId);
  const htmlFileName = `${baseName}.html`;
  await mkdir(outDir, { recursive: true });
  const localImages = new Map<string, string>();
  if (copyImage) {
    const urls = new Set(notification.data.orderDetails.flatMap((detail) => detail.productImage.viewPortImages.map((image) => image.url)));
    for (const url of urls) {
      const copy = await copyImage(url);
      if (copy !== undefined) localImages.set(url, copy);
    }
  }
  await writeFileAtomic(path.join(outDir, htmlFileName), renderEmail(notification.data, localImages));
  await writeFileAtomic(path.join(outDir, `${baseName}.json`), `${JSON.stringify(toPreviewPayload(notification), null, 2)}\n`);
  return htmlFileName;
}

export function createPreviewProvider(options: PreviewProviderOptions): IEmailProvider {
  const { outDir, logger } = options;
  const counters: ProviderStats = { calls: 0, retries: 0 };
  /** Index rewrites run one after another, so the last one always sees every email written. */
  let indexWrite: Promise<void> = Promise.resolve();

  const refreshIndex = (): Promise<void> => {
    indexWrite = indexWrite.then(async () => {
      try {
        await writePreviewIndex(outDir, { logger, clock: options.clock });
      } catch (error) {
        logger.warn('preview index could not be written', { outDir, reason: errorMessage(error) });
      }
    });
    return indexWrite;
  };

  return {
    name: PREVIEW_PROVIDER_NAME,
    async send(batch) {
      const outcomes: NotificationOutcome[] = [];
      for (const notification of batch) {
        counters.calls += 1;
        try {
          const fileName = await writeEmail(outDir, notification, options.copyImage);
          outcomes.push({ triggerId: notification.triggerId, status: 'sent', providerMessageId: fileName });
        } catch (error) {
          // A full disk or a permission problem may be fixed before the next run.
          const reason = `could not write the email preview: ${errorMessage(error)}`;
          outcomes.push({ triggerId: notification.triggerId, status: 'failed', reason, retryable: true });
        }
      }
      await refreshIndex();
      const failed = outcomes.filter((outcome) => outcome.status === 'failed').length;
      const fields = { outDir, written: outcomes.length - failed, failed };
      if (failed > 0) logger.error('preview emails could not all be written', fields);
      else logger.info('preview emails written', fields);
      return outcomes;
    },
    /** `calls` counts emails written (the preview's stand-in for requests); there are no retries. */
    stats() {
      return { ...counters };
    },
  };
}
