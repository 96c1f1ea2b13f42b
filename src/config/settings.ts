import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { DEFAULT_OAUTH2_API_URL, DEFAULT_WSSE_API_URL } from '../providers/emarsys/options';
import { normalizeRetailServerUrl } from '../retail/retail-client';
import { ConfigurationError } from '../shared/errors';
import { sectionSchemas, viewPortSchema } from './schema';
import { applyEnvironmentOverrides, canonicalizeKeys, readSettingsFile, type RawSettings, SECTION_NAMES } from './sources';

/** The validated configuration the rest of the connector uses. Secrets are names here, never values. */
export interface Settings {
  keyVault: { uri: string | undefined };
  retail: {
    tenantId: string;
    audience: string;
    appIdSecretName: string;
    appSecretSecretName: string;
    /** The Commerce API base, always ending in /Commerce. */
    baseUrl: string;
    operatingUnitNumber: string;
    includeMinutes: number;
    excludeMinutes: number;
    returnToCartUrl: string;
    authorityHost: string;
    apiVersion: string;
    pageSize: number;
    includeAnonymous: boolean;
    maxConcurrency: number;
    pageConcurrency: number;
    maxRunMinutes: number;
  };
  cosmos: {
    endpoint: string;
    /** The account key, when the settings carry one; empty means Microsoft Entra auth. */
    primaryKey: string | undefined;
    databaseId: string;
    containerId: string;
    ttlDays: number;
    claimTimeoutMinutes: number;
  };
  emarsys: {
    authMode: 'wsse' | 'oauth2';
    apiUrl: string;
    externalEventId: string;
    contactKeyId: number;
    userNameSecretName: string | undefined;
    secretSecretName: string | undefined;
    tokenUrl: string;
    clientIdSecretName: string | undefined;
    clientSecretSecretName: string | undefined;
    batchSize: number;
    maxSendAttempts: number;
  };
  media: {
    imageServerUrl: string;
    viewPorts: { media: string; width: number; height: number; useForDefaultImageTag: boolean }[];
  };
  /**
   * Properties of the connector's sections that it does not read, as `Section.Property`: ignored
   * (a file written for the sample may hold others), but a misspelt one leaves its default in place.
   */
  ignoredProperties: string[];
}

export interface LoadSettingsOptions {
  /** An explicit appSettings.json; it must exist. */
  settingsPath?: string | undefined;
  /** Folder searched for appSettings.json when no path is given (default: the working directory). */
  baseDirectory?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * The trigger endpoint. OAuth 2.0 tokens are for the v3 API, so the sample's default v2 URL,
 * left in a settings file, moves to v3 when AuthMode is oauth2; any other URL is used as given.
 */
function emarsysApiUrl(mode: 'wsse' | 'oauth2', configured: string | undefined): string {
  if (mode === 'oauth2') return configured === undefined || configured === DEFAULT_WSSE_API_URL ? DEFAULT_OAUTH2_API_URL : configured;
  return configured ?? DEFAULT_WSSE_API_URL;
}

/** `viewPortKeys`: the key each ImageViewPorts entry had where it was given, so that a problem names it. */
function formatIssues(section: string, error: z.ZodError, viewPortKeys: readonly string[] = []): string[] {
  return error.issues.map((issue) => {
    const parts = issue.path.map(String);
    if (parts[0] === 'ImageViewPorts' && parts[1] !== undefined) parts[1] = viewPortKeys[Number(parts[1])] ?? parts[1];
    const path = [section, ...parts].join('.');
    return `${path} ${issue.message}`;
  });
}

/**
 * The keys of a list as .NET configuration binds it: every child, numeric keys in number order
 * (`__1__`, `__2__`, a gap: app settings need not start at 0), then any others in ordinal order
 * ignoring case (its ConfigurationKeyComparer).
 */
function listKeys(list: object): string[] {
  const numeric = (key: string) => /^\d+$/.test(key);
  const ignoringCase = (a: string, b: string) => {
    const [x, y] = [a.toUpperCase(), b.toUpperCase()];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  const keys = Object.keys(list);
  return [...keys.filter(numeric).sort((a, b) => Number(a) - Number(b)), ...keys.filter((key) => !numeric(key)).sort(ignoringCase)];
}

/**
 * Reads appSettings.json (when there is one), applies `Section__Property` environment overrides,
 * and validates every section at once. Throws one ConfigurationError that lists every problem.
 */
export function loadSettings(options: LoadSettingsOptions = {}): Settings {
  const env = options.env ?? process.env;
  let raw: RawSettings = {};
  let source: string;
  if (options.settingsPath) {
    raw = readSettingsFile(options.settingsPath);
    source = `Read ${resolve(options.settingsPath)} and the environment.`;
  } else {
    const candidate = join(options.baseDirectory ?? process.cwd(), 'appSettings.json');
    if (existsSync(candidate)) {
      raw = readSettingsFile(candidate);
      source = `Read ${candidate} and the environment.`;
    } else {
      source = `No appSettings.json in ${dirname(candidate)}, so only the environment was read (what the shipped appSettings.json sets is missing too).`;
    }
  }
  try {
    return parseSettings(applyEnvironmentOverrides(raw, env, aliasesBySection()));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    const hint = `${source} Set a property in appSettings.json, or as an environment variable (app setting) named Section__Property, e.g. RetailServerClientOptions__TenantId.`;
    throw new ConfigurationError(error.problems, hint);
  }
}

/** Each section's other accepted spellings of its properties (the sample code's), for `applyEnvironmentOverrides`. */
export function aliasesBySection(): Record<string, Record<string, string>> {
  return Object.fromEntries(SECTION_NAMES.map((name) => [name, sectionSchemas[name].aliases]));
}

/** Validates raw settings (file and environment already merged). */
export function parseSettings(raw: RawSettings): Settings {
  const problems: string[] = [];
  const ignoredProperties: string[] = [];
  const sectionOf = (name: (typeof SECTION_NAMES)[number]) => {
    const key = Object.keys(raw).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : raw[key];
  };
  const parseSection = <S extends z.ZodType>(name: (typeof SECTION_NAMES)[number], schema: S, aliases: Record<string, string>) => {
    const shape = (schema as unknown as { shape: Record<string, unknown> }).shape;
    const given = sectionOf(name);
    // Null reads as an empty section, as .NET configuration reads it; anything else must be an object.
    if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) {
      problems.push(`${name} must be an object of properties, not ${Array.isArray(given) ? 'a list' : `a ${typeof given}`}`);
      // Its properties are not there to check: naming each as missing would bury the one problem.
      return undefined;
    }
    const canonical = canonicalizeKeys(given, Object.keys(shape), aliases, (key) => ignoredProperties.push(`${name}.${key}`));
    let viewPortKeys: string[] = [];
    if (name === 'MediaOptions' && canonical.ImageViewPorts && typeof canonical.ImageViewPorts === 'object') {
      const viewPorts = canonical.ImageViewPorts as Record<string, unknown>;
      viewPortKeys = listKeys(viewPorts);
      canonical.ImageViewPorts = viewPortKeys.map((key) =>
        canonicalizeKeys(viewPorts[key], Object.keys(viewPortSchema.shape), {}, (property) => ignoredProperties.push(`${name}.ImageViewPorts[${key}].${property}`)),
      );
    }
    const result = schema.safeParse(canonical);
    if (!result.success) {
      problems.push(...formatIssues(name, result.error, viewPortKeys));
      return undefined;
    }
    return result.data;
  };

  const keyVault = parseSection('KeyVaultOptions', sectionSchemas.KeyVaultOptions.schema, sectionSchemas.KeyVaultOptions.aliases);
  const retail = parseSection(
    'RetailServerClientOptions',
    sectionSchemas.RetailServerClientOptions.schema,
    sectionSchemas.RetailServerClientOptions.aliases,
  );
  const cosmos = parseSection('AzureCosmosOptions', sectionSchemas.AzureCosmosOptions.schema, sectionSchemas.AzureCosmosOptions.aliases);
  const emarsys = parseSection('EmarsysClientOptions', sectionSchemas.EmarsysClientOptions.schema, sectionSchemas.EmarsysClientOptions.aliases);
  const media = parseSection('MediaOptions', sectionSchemas.MediaOptions.schema, sectionSchemas.MediaOptions.aliases);

  let retailBaseUrl = '';
  if (retail) {
    try {
      retailBaseUrl = normalizeRetailServerUrl(retail.RetailServerUrl);
    } catch (error) {
      problems.push(...(error instanceof ConfigurationError ? error.problems : [String(error)]));
    }
  }
  // A run without a checkpoint reads Include minutes back; carts reminded before the ledger's
  // records expired would be reminded again. A record is written after its cart was modified, so
  // an Include window as long as the time to live is safe; a longer one is not.
  if (retail && cosmos && retail.IncludeAbandonedCartsModifiedSinceLastMinutes > cosmos.TimeToLiveDays * 24 * 60) {
    problems.push(
      `RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes (${retail.IncludeAbandonedCartsModifiedSinceLastMinutes}) must be at most ` +
        `AzureCosmosOptions.TimeToLiveDays (${cosmos.TimeToLiveDays} days, ${cosmos.TimeToLiveDays * 24 * 60} minutes): a run without a checkpoint ` +
        'would read carts whose reminders the ledger no longer remembers, and remind them again',
    );
  }
  if (problems.length > 0 || !keyVault || !retail || !cosmos || !emarsys || !media) throw new ConfigurationError(problems);

  return {
    ignoredProperties,
    keyVault: { uri: keyVault.KeyVaultURI },
    retail: {
      tenantId: retail.TenantId,
      audience: retail.RetailServerAudienceId.replace(/\/+$/, ''),
      appIdSecretName: retail.AppIdKeyVaultSecretName,
      appSecretSecretName: retail.AppSecretKeyVaultSecretName,
      baseUrl: retailBaseUrl,
      operatingUnitNumber: retail.OperatingUnitNumber,
      includeMinutes: retail.IncludeAbandonedCartsModifiedSinceLastMinutes,
      excludeMinutes: retail.ExcludeAbandonedCartsModifiedSinceLastMinutes,
      returnToCartUrl: retail.ReturnToCartUrl,
      authorityHost: retail.AuthorityHost.replace(/\/+$/, ''),
      apiVersion: retail.ApiVersion,
      pageSize: retail.PageSize,
      includeAnonymous: retail.IncludeAnonymous,
      maxConcurrency: retail.MaxConcurrency,
      pageConcurrency: retail.PageConcurrency,
      maxRunMinutes: retail.MaxRunMinutes,
    },
    cosmos: {
      endpoint: cosmos.EndPointUri,
      primaryKey: cosmos.PrimaryKey,
      databaseId: cosmos.DatabaseId,
      containerId: cosmos.ContainerId,
      ttlDays: cosmos.TimeToLiveDays,
      claimTimeoutMinutes: cosmos.ClaimTimeoutMinutes,
    },
    emarsys: {
      authMode: emarsys.AuthMode,
      apiUrl: emarsysApiUrl(emarsys.AuthMode, emarsys.ApiUrl),
      externalEventId: emarsys.ExternalEventId,
      contactKeyId: emarsys.EmarsysContactKeyId,
      userNameSecretName: emarsys.ApiUserNameKeyVaultSecretName,
      secretSecretName: emarsys.ApiSecretKeyVaultSecretName,
      tokenUrl: emarsys.TokenUrl,
      clientIdSecretName: emarsys.ClientIdKeyVaultSecretName,
      clientSecretSecretName: emarsys.ClientSecretKeyVaultSecretName,
      batchSize: emarsys.BatchSize,
      maxSendAttempts: emarsys.MaxSendAttempts,
    },
    media: {
      imageServerUrl: media.ImageServerUrl,
      viewPorts: media.ImageViewPorts.map((viewPort) => ({
        media: viewPort.viewport,
        width: viewPort.imageWidth,
        height: viewPort.imageHeight,
        useForDefaultImageTag: viewPort.useForDefaultImageTag,
      })),
    },
  };
}
