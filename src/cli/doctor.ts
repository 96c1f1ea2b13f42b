import { dirname } from 'node:path';
import type { Container, ContainerDefinition } from '@azure/cosmos';
import type { TokenCredential } from '@azure/identity';
import { CONSUMPTION_DEFAULT_TIMEOUT_MINUTES, readFunctionTimeout } from '../config/function-timeout';
import { createSecretResolver } from '../config/secrets';
import { loadSettings, type Settings } from '../config/settings';
import { emarsysProviderFor, retailClientFor, retailTokenProviderFor, secretRequests } from '../runtime/create-dependencies';
import { createCosmosContainer, indexesEveryProperty } from '../store/cosmos-client';
import { CosmosLedger } from '../store/cosmos-ledger';
import { COSMOS_REQUEST_TIMEOUT_MS, cosmosError, cosmosStatus, describeCosmosError, withinRequestTimeout } from '../store/cosmos-errors';
import { writeProbeDocument } from '../store/documents';
import { ConfigurationError, RemoteServiceError, toError } from '../shared/errors';

/**
 * `abandoned-carts doctor`: resolves the configuration, then checks each dependency in the order a
 * run needs them, so the first failure is the one to fix. Nothing is sent; the only write is one
 * probe document of its own in the ledger's container, deleted again (see `proveWrites`).
 */

export interface DoctorOptions {
  settingsPath?: string | undefined;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  /** The Microsoft Entra credential for Key Vault and Cosmos DB without a key; defaults to DefaultAzureCredential. */
  credential?: TokenCredential | undefined;
}

/** Doctor answers quickly: one retry, short waits. */
const DOCTOR_RETRY = { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 1000, maxServerDelayMs: 2000 };

type Outcome = { ok: true; detail: string } | { ok: false; detail: string };

function mask(value: string | undefined): string {
  return value ? '(set, hidden)' : '(empty)';
}

function describeSettings(settings: Settings): string[] {
  const r = settings.retail;
  const c = settings.cosmos;
  const e = settings.emarsys;
  return [
    `  Retail Server      ${r.baseUrl} (OUN ${r.operatingUnitNumber}, api-version ${r.apiVersion})`,
    `  Authority          ${r.authorityHost}/${r.tenantId} for ${r.audience}/.default`,
    `  Window             last ${r.includeMinutes} min on the first run, leaving the last ${r.excludeMinutes} min; pages of ${r.pageSize}; no new page after ${r.maxRunMinutes} min`,
    `  Secrets            ${settings.keyVault.uri ? `Key Vault ${settings.keyVault.uri}` : 'environment variables'}`,
    `  Cosmos DB          ${c.endpoint} ${c.databaseId}/${c.containerId}, ${c.primaryKey ? `account key ${mask(c.primaryKey)}` : 'Microsoft Entra auth'}`,
    `  Emarsys            ${e.authMode} ${e.apiUrl.replace('{0}', e.externalEventId)}, key_id ${e.contactKeyId}, batches of ${e.batchSize}`,
    `  Images             ${settings.media.imageServerUrl} (${settings.media.viewPorts.map((v) => `${v.width}x${v.height}`).join(', ')})`,
  ];
}

/** MaxRunMinutes must end a run before the host's functionTimeout does (host.json beside the settings). */
function timeLimitAgainstHost(settings: Settings, options: DoctorOptions): string {
  const limit = settings.retail.maxRunMinutes;
  const timeout = readFunctionTimeout({ directory: options.settingsPath ? dirname(options.settingsPath) : process.cwd(), env: options.env });
  const mine = `RetailServerClientOptions.MaxRunMinutes ${limit}`;
  if (timeout === undefined) return `${mine}; no host.json beside the settings to compare it with: keep it under the Function App's functionTimeout`;
  if ('problem' in timeout) throw new Error(timeout.problem);
  if ('planDefault' in timeout) {
    const defaults = `${timeout.source} sets no functionTimeout, so the plan's default applies: ${CONSUMPTION_DEFAULT_TIMEOUT_MINUTES} minutes on the Consumption plan, 30 on the others`;
    if (limit < CONSUMPTION_DEFAULT_TIMEOUT_MINUTES) return `${mine}; ${defaults}, and it is under both`;
    throw new Error(
      `${mine} is not under the Consumption plan's default functionTimeout: ${defaults}. Set functionTimeout in host.json ` +
        `(the shipped one has 00:10:00, the Consumption plan's most), or MaxRunMinutes under ${CONSUMPTION_DEFAULT_TIMEOUT_MINUTES}.`,
    );
  }
  if (timeout.minutes === undefined) return `${mine}; functionTimeout ${timeout.value} (${timeout.source}) sets no limit of its own`;
  if (limit >= timeout.minutes) {
    throw new Error(
      `${mine} is not under functionTimeout ${timeout.value} (${timeout.source}): the host would end a long run by restarting ` +
        'the worker in the middle of a page. Set MaxRunMinutes a few minutes under it.',
    );
  }
  const spare = timeout.minutes - limit;
  return `${mine} is under functionTimeout ${timeout.value} (${timeout.source}), leaving ${Number(spare.toFixed(1))} min for the pages in flight`;
}

/** How long a probe document lives when its delete fails: Cosmos DB removes it then. */
const PROBE_TTL_SECONDS = 60;

/** The role README's Deploying step 5 assigns, and the command it gives. */
const WRITER_ROLE =
  'Assign it the data-plane role "Cosmos DB Built-in Data Contributor" (az cosmosdb sql role assignment create --account-name <account> ' +
  "--resource-group <group> --scope / --principal-id <the identity's object id> --role-definition-id 00000000-0000-0000-0000-000000000002), " +
  'as README, Deploying step 5, says; a reader role, built-in or custom, lets it read and nothing more.';

/**
 * Reads pass with a role (or key) that only reads, and every run then fails at its first write (a
 * claim, the lease): so one probe document of doctor's own is created and deleted again.
 */
async function proveWrites(container: Container, definition: ContainerDefinition | undefined, settings: Settings, where: string, env: NodeJS.ProcessEnv): Promise<string> {
  const probe = writeProbeDocument(settings.retail.operatingUnitNumber, PROBE_TTL_SECONDS);
  try {
    await withinRequestTimeout(COSMOS_REQUEST_TIMEOUT_MS, (bound) => container.items.create(probe, bound));
  } catch (error) {
    if (isRoleRefusal(error, settings) && !signsInAsTheApp(env)) {
      // Run from an operator's machine, doctor signs in as the operator, whom least privilege may
      // well give a reader role: that says nothing of the Function App's managed identity, which
      // the runs sign in with. Said, not failed.
      return (
        `not shown to be writable: the identity doctor signed in with (not the Function App's managed identity) may read the ledger and not write it. ` +
        `Runs sign in with the app's managed identity, which must be allowed to write: "Cosmos DB Built-in Data Contributor", as README, Deploying step 5, says; ` +
        `run doctor in the Function App (its console) to check that identity (${describeCosmosError(error)})`
      );
    }
    throw refusedWrite(error, settings, where);
  }
  try {
    await withinRequestTimeout(COSMOS_REQUEST_TIMEOUT_MS, (bound) => container.item(probe.id, probe.pk).delete(bound));
  } catch (error) {
    // With the container's time to live off, a document's own ttl does not apply.
    const ttlOn = typeof definition?.defaultTtl === 'number';
    throw cosmosError(
      `delete of its probe document ${probe.id}`,
      error,
      ttlOn ? `It expires on its own within ${PROBE_TTL_SECONDS} s` : "The container's time to live is off, so it stays: delete it by hand",
    );
  }
  return 'may write (a probe document, written and deleted)';
}

/** Cosmos DB's substatuses of a 403 "Request blocked by Auth": no data-plane role allows the action (5301), or not with a token (5300). */
const RBAC_REFUSED: ReadonlySet<number> = new Set([5300, 5301]);

/** The `x-ms-substatus` the SDK keeps on a failed point call's error. */
function substatusOf(error: unknown): number | undefined {
  const substatus = typeof error === 'object' && error !== null ? (error as { substatus?: unknown }).substatus : undefined;
  return typeof substatus === 'number' ? substatus : undefined;
}

/**
 * After the reads passed, Entra's 403 "Request blocked by Auth" (substatus 5301, or 5300) is the
 * role. A 403 of another substatus is not (a container out of storage is 403/1021): told to assign
 * a role it has, an operator would miss the cause.
 */
function isRoleRefusal(error: unknown, settings: Settings): boolean {
  return cosmosStatus(error) === 403 && !settings.cosmos.primaryKey && RBAC_REFUSED.has(substatusOf(error) ?? 0);
}

/** Whether doctor runs where a managed identity signs in (App Service sets IDENTITY_ENDPOINT, older hosts MSI_ENDPOINT): the runs' own identity, then. */
function signsInAsTheApp(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.IDENTITY_ENDPOINT || env.MSI_ENDPOINT);
}

/** Why the probe's write failed: an identity or key that may only read is told what to change. */
function refusedWrite(error: unknown, settings: Settings, where: string): Error {
  const status = cosmosStatus(error);
  const readOnly = `${where} reachable, but the ${settings.cosmos.primaryKey ? 'key' : 'identity'} may read the ledger and not write it: every run would fail at its first write.`;
  if (isRoleRefusal(error, settings)) return new Error(`${readOnly} ${WRITER_ROLE} (${describeCosmosError(error)})`);
  // A read-only key signs reads that pass; its writes are refused with 401.
  if (status === 401 && settings.cosmos.primaryKey) {
    return new Error(
      `${readOnly} AzureCosmosOptions.PrimaryKey is a read-only key: set a read-write key of the account (its Keys blade: Primary or Secondary Key). (${describeCosmosError(error)})`,
    );
  }
  return cosmosError('write of its probe document', error);
}

export async function runDoctor(options: DoctorOptions): Promise<number> {
  const { write } = options;
  let settings: Settings;
  try {
    settings = loadSettings({ settingsPath: options.settingsPath, env: options.env });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      write(`✗ Configuration\n${error.problems.map((p) => `    ${p}`).join('\n')}\n${error.hint ? `    ${error.hint}\n` : ''}`);
      return 2;
    }
    throw error;
  }
  write(`✓ Configuration\n${describeSettings(settings).join('\n')}\n`);
  if (settings.ignoredProperties.length > 0) {
    // Not a failure: a file written for the sample may hold properties of its own. A misspelt name, though, leaves the default.
    write(`    Ignored, the connector has no such property (a misspelling?): ${settings.ignoredProperties.join(', ')}\n`);
  }

  let failures = 0;
  const check = async (name: string, run: () => Promise<string>): Promise<boolean> => {
    let outcome: Outcome;
    try {
      outcome = { ok: true, detail: await run() };
    } catch (error) {
      const failure = toError(error);
      outcome = { ok: false, detail: failure instanceof ConfigurationError ? failure.problems.join('\n    ') : failure.message };
    }
    if (!outcome.ok) failures++;
    write(`${outcome.ok ? '✓' : '✗'} ${name}: ${outcome.detail}\n`);
    return outcome.ok;
  };
  let skipped = 0;
  const skip = (name: string, because: string) => {
    skipped++;
    write(`- ${name}: not checked (${because})\n`);
  };

  await check('Time limit', async () => timeLimitAgainstHost(settings, options));

  const requests = secretRequests(settings);
  const resolver = createSecretResolver({ vaultUrl: settings.keyVault.uri, env: options.env, credential: options.credential });
  let secrets = new Map<string, string>();
  const secretsOk = await check('Secrets', async () => {
    secrets = await resolver.resolveAll([...requests.retail, ...requests.emarsys]);
    return `${secrets.size} read from ${resolver.source} (${[...secrets.keys()].join(', ')})`;
  });

  let channelId: number | undefined;
  if (!secretsOk) {
    skip('Token', 'the secrets could not be read');
    skip('Retail Server', 'no token');
  } else {
    const tokenProvider = retailTokenProviderFor(settings, secrets);
    const tokenOk = await check('Token', async () => {
      await tokenProvider.getToken();
      return `acquired from ${settings.retail.authorityHost}/${settings.retail.tenantId}`;
    });
    if (!tokenOk) skip('Retail Server', 'no token');
    else {
      await check('Retail Server', async () => {
        const retail = retailClientFor(settings, secrets, { retryPolicy: DOCTOR_RETRY }, tokenProvider);
        const channel = await retail.getChannelConfiguration();
        channelId = channel.RecordId;
        return `channel ${channel.RecordId} for OUN ${settings.retail.operatingUnitNumber}, currency ${channel.Currency}, language ${channel.DefaultLanguageId}`;
      });
    }
  }

  await check('Cosmos DB', async () => {
    const container = await createCosmosContainer({
      endpoint: settings.cosmos.endpoint,
      key: settings.cosmos.primaryKey,
      databaseId: settings.cosmos.databaseId,
      containerId: settings.cosmos.containerId,
      createIfMissing: false,
      credential: options.credential,
    }).catch((error: unknown) => {
      // A missing database or container is created by the first run when it has a key.
      if (settings.cosmos.primaryKey && error instanceof RemoteServiceError && error.statusCode === 404) return undefined;
      throw error;
    });
    if (!container) return `${settings.cosmos.databaseId}/${settings.cosmos.containerId} does not exist yet; the first run creates it`;
    try {
      const ledger = new CosmosLedger({ container, ttlDays: settings.cosmos.ttlDays });
      const checkpoint = channelId === undefined ? undefined : await ledger.getCheckpoint(settings.retail.operatingUnitNumber, channelId);
      const { resource } = await container.read();
      // Without the channel id (Retail Server failed, or was not checked) the checkpoint cannot be
      // looked up: saying there is none would tell an operator mid-incident that the ledger was lost.
      const where =
        channelId === undefined
          ? 'the checkpoint is not read: it is kept per channel, and Retail Server did not give the channel id'
          : checkpoint
            ? `checkpoint at ${checkpoint.lastModifiedAt}`
            : 'no checkpoint yet (the first run reads the last IncludeAbandonedCartsModifiedSinceLastMinutes)';
      const writes = await proveWrites(container, resource, settings, `${settings.cosmos.databaseId}/${settings.cosmos.containerId}`, options.env);
      return `${settings.cosmos.databaseId}/${settings.cosmos.containerId} reachable; ${where}; ${writes}${
        indexesEveryProperty(resource) ? '; it indexes every property: the policy in docs/data-model.md makes each write cheaper' : ''
      }`;
    } finally {
      container.database.client.dispose();
    }
  });

  if (!secretsOk) skip('Emarsys', 'the secrets could not be read');
  else {
    await check('Emarsys', async () => {
      const provider = emarsysProviderFor(settings, secrets, { retryPolicy: DOCTOR_RETRY });
      return (await provider.verify?.()) ?? 'no check available';
    });
  }

  const notChecked = skipped > 0 ? `, ${skipped} not checked until then` : '';
  write(failures === 0 && skipped === 0 ? '\nEverything needed for a run works.\n' : `\n${failures} check(s) failed${notChecked}; fix the first one first.\n`);
  return failures === 0 && skipped === 0 ? 0 : 1;
}
