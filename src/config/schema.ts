import { z } from 'zod';
import { OPERATING_UNIT_NUMBER } from '../retail/retail-client';
import { isUnresolvedKeyVaultReference, UNRESOLVED_REFERENCE_HINT } from './key-vault-reference';

/**
 * Pages the pipelined run works at once (`RetailServerClientOptions.PageConcurrency`). A page
 * spends about a third of its time on Retail Server calls (its search and its customers) and the
 * rest on the store and Emarsys, so 8 pages would keep MaxConcurrency's 4 Retail Server requests
 * busy if nothing else waited; 10 also cover the time a page waits for the CPU (measured at
 * 100,000 carts: 8 pages 10.6 s, 10 pages 10.0 s, 12 and 16 no faster). Each page in flight holds
 * about 10 MB (its carts, reminders and request bodies).
 */
export const DEFAULT_PAGE_CONCURRENCY = 10;

/**
 * How long a run may take before it starts no new page (`RetailServerClientOptions.MaxRunMinutes`).
 * The Functions host ends an invocation that outlives host.json's `functionTimeout` by restarting
 * the Node worker, mid-page; a run that stops on its own first records what it sent, moves the
 * checkpoint and releases its lease, and the next run goes on from there.
 */
export const DEFAULT_MAX_RUN_MINUTES = 8;

/**
 * The settings sections, as in Microsoft's sample (`appSettings.json`), plus this connector's
 * additions. Values from environment variables arrive as strings, so numbers and booleans are
 * accepted in either form. Each field's message says what is expected.
 */

/**
 * Cross-field checks run even when a field of the section failed, so that one message lists every
 * problem instead of the next one showing only after the first is fixed. They read the section as
 * parsed so far, so they check each value's type before they use it.
 */
const ALSO_WHEN_OTHERS_FAIL = { when: () => true };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

const blankToUndefined = (value: unknown): unknown =>
  value === null || value === undefined || (typeof value === 'string' && value.trim() === '') ? undefined : value;

const optionalText = z.preprocess(
  (v) => {
    const value = blankToUndefined(v);
    return typeof value === 'number' ? String(value) : value;
  },
  z.string({ error: 'must be a string' }).trim().optional(),
);

function requiredText(expected: string) {
  return z.preprocess(
    (v) => {
      const value = blankToUndefined(v);
      return typeof value === 'number' ? String(value) : value;
    },
    z.string({ error: `is required: ${expected}` }).trim(),
  );
}

/** A text setting with a default; a number (`"ApiVersion": 7.3`, as .NET configuration reads it) is its text. */
function textWithDefault(defaultValue: string) {
  return z.preprocess(
    (v) => {
      const value = blankToUndefined(v) ?? defaultValue;
      return typeof value === 'number' ? String(value) : value;
    },
    z.string({ error: 'must be a string' }).trim(),
  );
}

/** A number setting: blank means the default, and strings (from app settings) are read as numbers. */
function numeric(defaultValue: number, check: z.ZodNumber) {
  return z.preprocess((v) => {
    const value = blankToUndefined(v);
    if (value === undefined) return defaultValue;
    return typeof value === 'string' ? Number(value.trim()) : value;
  }, check);
}

function integer(defaultValue: number, min: number, max: number) {
  return numeric(
    defaultValue,
    z
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );
}

/** A whole number the settings must give: missing or blank is "is required", not a default's range message. */
function requiredInteger(expected: string, min: number, max: number) {
  return z.preprocess(
    (v) => {
      const value = blankToUndefined(v);
      return typeof value === 'string' ? Number(value.trim()) : value;
    },
    z
      .number({ error: (issue) => (issue.input === undefined ? `is required: ${expected}, from ${min} to ${max}` : 'must be a whole number') })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );
}

function decimal(defaultValue: number, min: number, max: number) {
  return numeric(
    defaultValue,
    z.number({ error: 'must be a number' }).finite('must be a number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`),
  );
}

function boolean(defaultValue: boolean) {
  return z.preprocess(
    (v) => {
      const value = blankToUndefined(v);
      if (value === undefined) return defaultValue;
      if (typeof value === 'string') {
        const lower = value.trim().toLowerCase();
        if (lower === 'true') return true;
        if (lower === 'false') return false;
      }
      return value;
    },
    z.boolean({ error: 'must be true or false' }),
  );
}

function isHttpUrl(value: string, httpsOnly = false): boolean {
  try {
    const parsed = new URL(value);
    return httpsOnly ? parsed.protocol === 'https:' : ['http:', 'https:'].includes(parsed.protocol);
  } catch {
    return false;
  }
}

/** Hosts on this machine: http to them crosses no network (the local stand-ins, the tests). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Whether a URL is plain http to another machine: what a setting the connector sends credentials to may not be. */
function isClearTextToAnotherHost(value: string): boolean {
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname);
  } catch {
    return false;
  }
}

/** Whether a URL carries a query, a fragment or user info: what messages naming it would repeat. */
function hasQueryOrCredentials(value: string): boolean {
  try {
    const parsed = new URL(value);
    return parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

/** The message for a credentials URL given as http to another host: what it would carry in clear text, and what to do. */
function clearTextMessage(carries: string, example: string): string {
  return (
    `must be an https URL, e.g. ${example}: the connector sends ${carries} to it, which http would carry in clear text. ` +
    'Write https:// (http is accepted only for a stand-in on this machine: localhost, 127.0.0.1 or ::1)'
  );
}

function urlCheck(expected: string, httpsOnly: boolean) {
  return z
    .string({ error: `is required: ${expected}` })
    .trim()
    .refine((value) => isHttpUrl(value, httpsOnly), `must be an absolute ${httpsOnly ? 'https' : 'http(s)'} URL: ${expected}`);
}

/**
 * `credentials`: the connector sends them to this URL (`carries` says what, `example` is an https
 * one), so it must be https, or http only to a loopback host.
 */
function url(expected: string, options: { defaultValue?: string; httpsOnly?: boolean; credentials?: { carries: string; example: string } } = {}) {
  const { credentials } = options;
  const check = urlCheck(expected, options.httpsOnly ?? false);
  return z.preprocess(
    (v) => blankToUndefined(v) ?? options.defaultValue,
    credentials ? check.refine((value) => !isClearTextToAnotherHost(value), clearTextMessage(credentials.carries, credentials.example)) : check,
  );
}

function optionalUrl(expected: string, httpsOnly = false) {
  return z.preprocess(blankToUndefined, urlCheck(expected, httpsOnly).optional());
}

export const keyVaultSchema = z.object({
  // Key Vault's client reads over https only, a vault on this machine too: an http URL would fail
  // every run as a vault out of reach, so it is refused here, by the setting's name.
  KeyVaultURI: optionalUrl('the Key Vault URL, e.g. https://<name>.vault.azure.net; leave empty to read secrets from environment variables', true),
});

export const retailServerSchema = z
  .object({
    TenantId: requiredText('the Microsoft Entra tenant id (GUID) of the app registration that calls Retail Server'),
    RetailServerAudienceId: url('the Retail Server token audience', {
      defaultValue: 'https://commerce.dynamics.com',
    }),
    AppIdKeyVaultSecretName: requiredText('the name of the secret that holds the app registration client id'),
    AppSecretKeyVaultSecretName: requiredText('the name of the secret that holds the app registration client secret'),
    RetailServerUrl: url('the Commerce Scale Unit URL, e.g. https://<csu-host>/Commerce', {
      credentials: { carries: 'its Retail Server access token', example: 'https://<csu-host>/Commerce' },
    }),
    OperatingUnitNumber: requiredText('the operating unit number of the online channel, e.g. 128').refine(
      (value) => OPERATING_UNIT_NUMBER.test(value.trim()),
      "must be the online channel's operating unit number, e.g. 128 (letters, digits, - and _)",
    ),
    IncludeAbandonedCartsModifiedSinceLastMinutes: integer(500, 1, 60 * 24 * 90),
    ExcludeAbandonedCartsModifiedSinceLastMinutes: integer(10, 0, 60 * 24 * 90),
    ReturnToCartUrl: url('the storefront cart page; may contain {cartId} and {customerId}', {}),
    AuthorityHost: url('the Microsoft Entra authority host', {
      defaultValue: 'https://login.microsoftonline.com',
      httpsOnly: true,
    }),
    ApiVersion: textWithDefault('7.3'),
    PageSize: integer(100, 1, 1000),
    IncludeAnonymous: boolean(false),
    MaxConcurrency: integer(4, 1, 32),
    PageConcurrency: integer(DEFAULT_PAGE_CONCURRENCY, 1, 16),
    // Under host.json's functionTimeout (10 minutes), with room for the pages in flight to finish.
    // Fractions are allowed, as for ClaimTimeoutMinutes, so tests need not wait minutes.
    MaxRunMinutes: decimal(DEFAULT_MAX_RUN_MINUTES, 0.01, 24 * 60),
  })
  .superRefine((value, ctx) => {
    const include: unknown = value.IncludeAbandonedCartsModifiedSinceLastMinutes;
    const exclude: unknown = value.ExcludeAbandonedCartsModifiedSinceLastMinutes;
    if (typeof include === 'number' && typeof exclude === 'number' && include <= exclude) {
      ctx.addIssue({
        code: 'custom',
        path: ['IncludeAbandonedCartsModifiedSinceLastMinutes'],
        message: `must be greater than ExcludeAbandonedCartsModifiedSinceLastMinutes (${exclude})`,
      });
    }
  }, ALSO_WHEN_OTHERS_FAIL);

export const cosmosSchema = z.object({
  // A connection string pasted without its `AccountEndpoint=` still parses as a URL, with the key
  // in its path; messages name the endpoint, so the key would reach the logs.
  EndPointUri: url('the Cosmos DB account endpoint', { defaultValue: 'https://localhost:8081' }).refine(
    (value) => typeof value !== 'string' || !/accountkey=/i.test(value),
    'holds an account key (a connection string?): set it to the account endpoint alone, e.g. https://<account>.documents.azure.com:443/, and the key in AzureCosmosOptions.PrimaryKey (or leave that empty to sign in with the managed identity)',
  ),
  PrimaryKey: optionalText.refine(
    (value) => typeof value !== 'string' || !isUnresolvedKeyVaultReference(value),
    `still holds its Key Vault reference, which App Service could not resolve: ${UNRESOLVED_REFERENCE_HINT}`,
  ),
  DatabaseId: textWithDefault('AbandonedCartDB'),
  ContainerId: textWithDefault('AbandonedCarts'),
  TimeToLiveDays: integer(90, 1, 3650),
  // Fractions are allowed (0.05 = 3 s) so crash tests and soak runs need not wait minutes.
  ClaimTimeoutMinutes: decimal(15, 0.01, 24 * 60),
});

export const emarsysSchema = z
  .object({
    AuthMode: z.preprocess(
      (v) => {
        const value = blankToUndefined(v);
        return typeof value === 'string' ? value.trim().toLowerCase() : (value ?? 'wsse');
      },
      z.enum(['wsse', 'oauth2'], { error: 'must be "wsse" or "oauth2"' }),
    ),
    ApiUrl: optionalText,
    ExternalEventId: requiredText('the id of the Emarsys external event whose trigger sends the reminder'),
    ApiUserNameKeyVaultSecretName: optionalText,
    ApiSecretKeyVaultSecretName: optionalText,
    EmarsysContactKeyId: integer(3, 1, Number.MAX_SAFE_INTEGER),
    // The token endpoint takes no query; messages name TokenUrl, so a query, fragment or user info
    // (a gateway's key, as likely as not) would reach the logs. Refused as RetailServerUrl's are.
    TokenUrl: url('the Emarsys OAuth 2.0 token endpoint', {
      defaultValue: 'https://auth.emarsys.net/oauth2/token',
      credentials: { carries: 'the Emarsys OAuth client id and secret', example: 'https://auth.emarsys.net/oauth2/token' },
    }).refine(
      (value) => typeof value !== 'string' || !hasQueryOrCredentials(value),
      'must be the Emarsys OAuth 2.0 token endpoint itself, with no query string, fragment or credentials, e.g. https://auth.emarsys.net/oauth2/token',
    ),
    ClientIdKeyVaultSecretName: optionalText,
    ClientSecretKeyVaultSecretName: optionalText,
    BatchSize: integer(1000, 1, 1000),
    MaxSendAttempts: integer(5, 1, 50),
  })
  .superRefine((value, ctx) => {
    const need = (key: keyof typeof value, what: string) => {
      if (!value[key]) ctx.addIssue({ code: 'custom', path: [key], message: `is required when AuthMode is "${value.AuthMode}": ${what}` });
    };
    // An AuthMode that did not parse has its own message; which secrets it needs is then unknown.
    if (value.AuthMode === 'wsse') {
      need('ApiUserNameKeyVaultSecretName', 'the name of the secret that holds the Emarsys API user name');
      need('ApiSecretKeyVaultSecretName', 'the name of the secret that holds the Emarsys API secret');
    } else if (value.AuthMode === 'oauth2') {
      need('ClientIdKeyVaultSecretName', 'the name of the secret that holds the Emarsys OAuth client id');
      need('ClientSecretKeyVaultSecretName', 'the name of the secret that holds the Emarsys OAuth client secret');
    }
    const apiUrl: unknown = value.ApiUrl;
    if (typeof apiUrl === 'string' && !apiUrl.includes('{0}')) {
      ctx.addIssue({ code: 'custom', path: ['ApiUrl'], message: 'must contain {0}, where the external event id goes' });
    } else if (typeof apiUrl === 'string' && !isHttpUrl(apiUrl.trim().replace('{0}', 'event'))) {
      ctx.addIssue({ code: 'custom', path: ['ApiUrl'], message: 'must be an absolute http(s) URL, e.g. https://api.emarsys.net/api/v2/event/{0}/trigger' });
    } else if (typeof apiUrl === 'string' && isClearTextToAnotherHost(apiUrl.trim().replace('{0}', 'event'))) {
      const carries = 'the Emarsys credentials (the WSSE header or the OAuth access token) and the customers\' emails';
      ctx.addIssue({ code: 'custom', path: ['ApiUrl'], message: clearTextMessage(carries, 'https://api.emarsys.net/api/v2/event/{0}/trigger') });
    }
  }, ALSO_WHEN_OTHERS_FAIL);

export const viewPortSchema = z.object({
  viewport: requiredText('a CSS media query, e.g. (max-width: 599px)'),
  imageWidth: requiredInteger('the width in pixels of the image for this viewport', 1, 10_000),
  imageHeight: requiredInteger('the height in pixels of the image for this viewport', 1, 10_000),
  useForDefaultImageTag: boolean(false),
});

export const mediaSchema = z
  .object({
    ImageServerUrl: url('the image server (CMS) URL that relative product image paths are joined to', {}),
    ImageViewPorts: z.preprocess(
      (v) => {
        // Environment overrides build arrays as objects keyed by index; both shapes are accepted.
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) return Object.values(v as Record<string, unknown>);
        return blankToUndefined(v) ?? [];
      },
      z.array(viewPortSchema, { error: 'must be a list of { viewport, imageWidth, imageHeight, useForDefaultImageTag }' }),
    ),
  })
  .superRefine((value, ctx) => {
    const viewPorts: unknown = value.ImageViewPorts;
    if (!Array.isArray(viewPorts)) return; // its own message says what the list must be
    if (viewPorts.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['ImageViewPorts'], message: 'needs at least one viewport' });
    }
    const defaults = viewPorts.filter((viewPort: unknown) => isRecord(viewPort) && viewPort.useForDefaultImageTag === true).length;
    if (defaults > 1) {
      ctx.addIssue({ code: 'custom', path: ['ImageViewPorts'], message: 'may mark at most one viewport with useForDefaultImageTag' });
    }
  }, ALSO_WHEN_OTHERS_FAIL);

export const sectionSchemas = {
  KeyVaultOptions: { schema: keyVaultSchema, aliases: { KeyVaultUrl: 'KeyVaultURI' } },
  RetailServerClientOptions: { schema: retailServerSchema, aliases: { RetailServerUri: 'RetailServerUrl' } },
  AzureCosmosOptions: { schema: cosmosSchema, aliases: { EndpointUri: 'EndPointUri', EndpointUrl: 'EndPointUri' } },
  EmarsysClientOptions: { schema: emarsysSchema, aliases: {} },
  MediaOptions: { schema: mediaSchema, aliases: {} },
} as const;
