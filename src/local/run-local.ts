import { STANDARD_VIEW_PORTS_ENV } from '../config/standard-viewports';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHttpsServer } from '@vercel/cosmosdb-server';
import { answerMinimallyWhenAsked } from '../simulators/cosmos-minimal-response';
import { z } from 'zod';
import { aliasesBySection, parseSettings, type Settings } from '../config/settings';
import { applyEnvironmentOverrides, readSettingsFile, SECTION_NAMES, type RawSettings } from '../config/sources';
import { runAbandonedCartJob, type JobDependencies } from '../job/run-abandoned-cart-job';
import type { RunReport } from '../job/report';
import { createPreviewProvider, writePreviewIndex } from '../providers/preview';
import { localImageCopier } from './image-copies';
import { forgetLocalUnit, forgetPreviews } from './reset';
import type { IEmailProvider } from '../providers/email-provider';
import { createCosmosContainer } from '../store/cosmos-client';
import { createJobDependencies, disposeRuntimes } from '../runtime/create-dependencies';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { startRetailServerSimulator } from '../simulators/retail-server';
import { startTokenServer } from '../simulators/token-server';
import { startImageServer } from './image-server';
import { restoreLedgerSnapshot, saveLedgerSnapshot } from './ledger-snapshot';
import { buildLocalStore, describeLocalStore } from './seed-store';
import type { LocalTls } from './tls';

/**
 * `npm run local`: the whole job on a laptop with nothing but Node. In one process it starts the
 * Retail Server simulator with a seeded store, an image server, an MSAL-compatible token endpoint
 * and the embedded Cosmos DB server (its contents saved under the state folder between runs), then
 * runs the same job as production through the same composition root, with an email preview
 * instead of Emarsys (or Emarsys itself with `--provider emarsys`).
 */

export interface LocalRunOptions {
  /** Where the seed, the certificate and the ledger snapshot live (default `.local`). */
  stateDir: string;
  /** Where the preview writes the emails (default `out/emails`). */
  outDir: string;
  reset: boolean;
  provider: 'preview' | 'emarsys';
  /** A real Cosmos DB (emulator or account) instead of the embedded server. */
  cosmosEndpoint?: string | undefined;
  cosmosKey?: string | undefined;
  /** appSettings.json for `--provider emarsys` (its EmarsysClientOptions and KeyVaultOptions). */
  settingsPath?: string | undefined;
  env: NodeJS.ProcessEnv;
  tls: LocalTls;
  logger: Logger;
  onProgress?: JobDependencies['onProgress'];
  /** Prints the banner lines before the run. */
  announce: (line: string) => void;
}

export interface LocalRunResult {
  report: RunReport;
  /** The preview's index page, when the preview provider was used. */
  indexPath: string | undefined;
}

/**
 * The local store's operating unit: not a number a Commerce channel has (128 is the demo data's
 * online store), so that with --cosmos-endpoint naming the account of a deployment, the local run
 * never takes that deployment's lease or reads, moves or (--reset) deletes its checkpoint.
 */
export const LOCAL_OPERATING_UNIT = 'local-run';
const TENANT = '00000000-0000-4000-8000-00000000c0de';
const CLIENT_ID = 'local-retail-app';
const CLIENT_SECRET = 'local-retail-app-secret';
/** The well-known key of the Cosmos DB emulator; the embedded server accepts any. */
const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

const seedFileSchema = z.object({ seededAt: z.iso.datetime(), seed: z.number().int() });

/** The store is seeded relative to the time of the first run and kept, so a second run sees the same carts. */
function loadOrCreateSeed(stateDir: string, now: Date): { seededAt: Date; seed: number } {
  const path = join(stateDir, 'store.json');
  if (existsSync(path)) {
    const parsed = seedFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (parsed.success) return { seededAt: new Date(parsed.data.seededAt), seed: parsed.data.seed };
  }
  const seed = { seededAt: now.toISOString(), seed: 20261123 };
  writeFileSync(path, JSON.stringify(seed, null, 2));
  return { seededAt: now, seed: seed.seed };
}

async function startEmbeddedCosmos(tls: LocalTls): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server: Server = createHttpsServer({ key: tls.key, cert: tls.cert });
  // Bulk writes answered without their documents, as Cosmos DB answers the ledger's Prefer: return=minimal.
  server.prependListener('request', answerMinimallyWhenAsked);
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/**
 * The user's sections under their documented names (a file may spell them in any case), so that
 * the stand-ins' settings replace theirs instead of sitting beside them under another spelling.
 */
function bySectionName(raw: RawSettings): RawSettings {
  const named: RawSettings = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = SECTION_NAMES.find((section) => section.toLowerCase() === key.toLowerCase()) ?? key;
    // Of two spellings of one section, the first, as the settings read it (and overrides reach it).
    if (!(name in named)) named[name] = value;
  }
  return named;
}

function localSettings(options: LocalRunOptions, endpoints: { authorityHost: string; retailUrl: string; cosmosEndpoint: string; imageServerUrl: string }): Settings {
  let raw: RawSettings = {};
  if (options.provider === 'emarsys') {
    const path = resolve(options.settingsPath ?? 'appSettings.json');
    raw = bySectionName(applyEnvironmentOverrides(existsSync(path) ? readSettingsFile(path) : {}, options.env, aliasesBySection()));
  }
  const local = applyEnvironmentOverrides(
    {},
    {
      RetailServerClientOptions__TenantId: TENANT,
      RetailServerClientOptions__AuthorityHost: endpoints.authorityHost,
      RetailServerClientOptions__RetailServerUrl: endpoints.retailUrl,
      RetailServerClientOptions__OperatingUnitNumber: LOCAL_OPERATING_UNIT,
      RetailServerClientOptions__ReturnToCartUrl: 'https://shop.example.com/cart?cartId={cartId}',
      RetailServerClientOptions__AppIdKeyVaultSecretName: 'LocalRetailAppId',
      RetailServerClientOptions__AppSecretKeyVaultSecretName: 'LocalRetailAppSecret',
      RetailServerClientOptions__IncludeAnonymous: 'true',
      AzureCosmosOptions__EndPointUri: endpoints.cosmosEndpoint,
      AzureCosmosOptions__PrimaryKey: options.cosmosEndpoint ? (options.cosmosKey ?? '') : EMULATOR_KEY,
      MediaOptions__ImageServerUrl: endpoints.imageServerUrl,
      ...STANDARD_VIEW_PORTS_ENV,
      // The preview needs no Emarsys settings; these only satisfy validation and are never read.
      ...(options.provider === 'preview'
        ? {
            EmarsysClientOptions__ExternalEventId: 'local-preview',
            EmarsysClientOptions__ApiUserNameKeyVaultSecretName: 'unused',
            EmarsysClientOptions__ApiSecretKeyVaultSecretName: 'unused',
            KeyVaultOptions__KeyVaultURI: '',
          }
        : {}),
    },
  );
  // The local stand-ins replace Retail Server, Cosmos DB and the image server; Emarsys (and the
  // vault that holds its secrets) come from the user's settings when they send for real.
  // The user's Emarsys section under the local one's (a section that is not an object is passed on
  // as it is, for the settings to name it).
  const theirs = raw.EmarsysClientOptions;
  const emarsys = theirs === undefined || theirs === null || (typeof theirs === 'object' && !Array.isArray(theirs)) ? { ...(theirs as object | undefined), ...(local.EmarsysClientOptions as object) } : theirs;
  return parseSettings({ ...raw, ...local, EmarsysClientOptions: emarsys });
}

/**
 * The provider, on the real clock, given the job's send deadline (on the store's replayed clock,
 * `replayedBy` ms from the real one) on its own clock.
 */
function withRealDeadlines(provider: IEmailProvider, replayedBy: number): IEmailProvider {
  return {
    name: provider.name,
    stats: () => provider.stats(),
    send: (batch, sendOptions) =>
      provider.send(batch, sendOptions?.deadline ? { ...sendOptions, deadline: new Date(sendOptions.deadline.getTime() - replayedBy) } : sendOptions),
  };
}

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const stateDir = resolve(options.stateDir);
  const outDir = resolve(options.outDir);
  const snapshotPath = join(stateDir, 'cosmos-ledger.json');
  if (options.reset) {
    rmSync(join(stateDir, 'store.json'), { force: true });
    rmSync(snapshotPath, { force: true });
    forgetPreviews(outDir);
  }
  mkdirSync(stateDir, { recursive: true });
  const { seededAt, seed } = loadOrCreateSeed(stateDir, new Date());
  const data = buildLocalStore({ now: seededAt, seed });
  // The local store lives at the moment it was seeded: every run replays that moment, so a second
  // run finds every cart handled and sends nothing new (--reset seeds a new store at today's time).
  const startedAt = Date.now();
  const clock: Clock = { now: () => new Date(seededAt.getTime() + (Date.now() - startedAt)) };

  const closers: (() => Promise<void>)[] = [];
  try {
    const tokens = await startTokenServer({ tls: options.tls, tenantId: TENANT, clients: { [CLIENT_ID]: CLIENT_SECRET } });
    closers.push(() => tokens.close());
    const retail = await startRetailServerSimulator({
      data,
      authorize: (token) => tokens.isValidToken(token, 'https://commerce.dynamics.com'),
      operatingUnitNumber: LOCAL_OPERATING_UNIT,
    });
    closers.push(() => retail.close());
    const images = await startImageServer();
    closers.push(() => images.close());
    let cosmosEndpoint = options.cosmosEndpoint;
    if (!cosmosEndpoint) {
      const cosmos = await startEmbeddedCosmos(options.tls);
      closers.push(() => cosmos.close());
      cosmosEndpoint = cosmos.endpoint;
    }

    const settings = localSettings(options, { authorityHost: tokens.authorityHost, retailUrl: retail.baseUrl, cosmosEndpoint, imageServerUrl: images.imageServerUrl });
    const embedded = !options.cosmosEndpoint;
    const container = await createCosmosContainer({
      endpoint: settings.cosmos.endpoint,
      key: settings.cosmos.primaryKey,
      databaseId: settings.cosmos.databaseId,
      containerId: settings.cosmos.containerId,
      logger: options.logger,
    });
    closers.push(async () => container.database.client.dispose());
    if (options.reset && !embedded) await forgetLocalUnit(container, LOCAL_OPERATING_UNIT, Number(data.channel.RecordId));
    const restored = embedded ? await restoreLedgerSnapshot(container, snapshotPath) : 0;

    const c = describeLocalStore(data, seededAt);
    options.announce(
      `Store (as of ${seededAt.toISOString()}): ${c.products} products, ${c.customers} customers (${c.customersWithoutEmail} without email, ` +
        `${c.customersWithSeveralCarts} with several carts), ${c.carts} carts (${c.inWindow} in the window, ${c.tooRecent} too recent, ` +
        `${c.tooOld} too old, ${c.anonymous} anonymous), ${c.wishLists} wish lists`,
    );
    options.announce(
      embedded
        ? `Ledger: embedded Cosmos DB server, ${restored} documents loaded from ${snapshotPath}`
        : `Ledger: Cosmos DB at ${settings.cosmos.endpoint}, database ${settings.cosmos.databaseId}`,
    );

    const provider: IEmailProvider | undefined =
      options.provider === 'preview'
        ? createPreviewProvider({ outDir, logger: options.logger, copyImage: localImageCopier(outDir, images.imageServerUrl, options.logger) })
        : undefined;
    if (options.provider === 'preview') await writePreviewIndex(outDir, { logger: options.logger });
    options.announce(options.provider === 'preview' ? `Emails: preview into ${outDir}` : `Emails: Emarsys at ${settings.emarsys.apiUrl}`);
    // The clients keep the real clock: Emarsys refuses a WSSE header whose Created is more than
    // five minutes from its own time, and the store's moment may be hours old. Only the job replays it.
    const deps = await createJobDependencies({
      settings,
      logger: options.logger,
      env: { ...options.env, LocalRetailAppId: CLIENT_ID, LocalRetailAppSecret: CLIENT_SECRET },
      provider,
    });
    const replayedBy = seededAt.getTime() - startedAt;
    const report = await runAbandonedCartJob({ ...deps, clock, provider: withRealDeadlines(deps.provider, replayedBy), onProgress: options.onProgress }, { trigger: 'cli' });
    if (embedded) await saveLedgerSnapshot(container, snapshotPath);
    const indexPath = options.provider === 'preview' && existsSync(join(outDir, 'index.html')) ? join(outDir, 'index.html') : undefined;
    return { report, indexPath };
  } finally {
    await disposeRuntimes();
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

/** What `npm run local` says after the report, when the run's outcome needs explaining. */
export function closingNotes(report: RunReport): string[] {
  const notes: string[] = [];
  // Failed carts were not handled (Emarsys down, or its credentials refused): the report says why.
  if (report.status === 'completed' && report.carts.notified === 0 && report.carts.failed === 0) {
    notes.push('Nothing new to send: every cart in the window was handled by an earlier run (npm run local -- --reset starts over).');
  }
  if (report.status === 'unit-busy') {
    // Only a Cosmos DB of the user's keeps a lease between runs (the embedded one is saved after a run ends).
    notes.push(
      'A local run that was stopped before it ended left its lease in that Cosmos DB; the local clock replays the seeded moment, ' +
        'so the lease never runs out: npm run local -- --reset (with the same --cosmos-endpoint) starts over.',
    );
  }
  return notes;
}
