import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { ConfigurationError, isCredentialError, RemoteServiceError } from '../shared/errors';
import { redactEmails } from '../shared/redact';
import { isUnresolvedKeyVaultReference, UNRESOLVED_REFERENCE_HINT } from './key-vault-reference';

/**
 * Secrets (the Retail Server app's client id and secret, the Emarsys credentials) are found by
 * name: in Azure Key Vault when `KeyVaultOptions.KeyVaultURI` is set, otherwise in environment
 * variables of that exact name, or of that name with every non-alphanumeric character replaced by
 * `_` (Key Vault names use `-`, which most shells cannot export). Each secret is read once per
 * resolver and cached; values are never logged.
 */

export interface SecretRequest {
  /** The secret's name, e.g. `RetailServerAppId`. */
  name: string;
  /** The setting that named it, e.g. `RetailServerClientOptions.AppIdKeyVaultSecretName`. */
  setting: string;
}

export interface SecretResolver {
  /** Where secrets come from, for messages: `Key Vault https://…` or `environment variables`. */
  readonly source: string;
  /** Resolves every request at once; throws one ConfigurationError listing each missing secret. */
  resolveAll(requests: readonly SecretRequest[]): Promise<Map<string, string>>;
}

export interface SecretResolverOptions {
  vaultUrl?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Defaults to DefaultAzureCredential (managed identity in Azure, developer sign-in locally). */
  credential?: TokenCredential;
  keyVaultClientOptions?: SecretClientOptions;
  /** How long a secret's read may take, the token for it and the SDK's retries included (default 30 s). */
  timeoutMs?: number;
}

/**
 * Key Vault answers in well under a second; the SDK retries a throttled or failed read itself. A
 * vault (or managed identity endpoint) that does not answer at all would otherwise hold every run
 * of the process until the host's functionTimeout.
 */
export const KEY_VAULT_TIMEOUT_MS = 30_000;

/** What to do when no credential of DefaultAzureCredential's chain could get a token. */
const IDENTITY_ADVICE =
  "In Azure, turn on the Function App's managed identity; elsewhere, sign in (az login) or set AZURE_TENANT_ID, AZURE_CLIENT_ID " +
  'and AZURE_CLIENT_SECRET. Or leave KeyVaultOptions.KeyVaultURI empty to read the secrets from environment variables.';

/**
 * The inner error code of a Key Vault refusal (`SecretDisabled`, `ForbiddenByFirewall`,
 * `ForbiddenByRbac`, `AccessDenied`), as SecretClient puts the answer's body in `details`.
 */
function innerErrorCode(error: unknown): string | undefined {
  const details = (error as { details?: { error?: { innerError?: { code?: unknown } } } } | undefined)?.details;
  const code = details?.error?.innerError?.code;
  return typeof code === 'string' ? code : undefined;
}

export function environmentVariableNames(secretName: string): string[] {
  const sanitized = secretName.replace(/[^A-Za-z0-9]/g, '_');
  return sanitized === secretName ? [secretName] : [secretName, sanitized];
}

type Lookup = { found: true; value: string } | { found: false; problem: string };

/** What Key Vault takes as a secret's name; it answers 400 BadParameter for any other. */
const KEY_VAULT_SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

export function createSecretResolver(options: SecretResolverOptions = {}): SecretResolver {
  const cache = new Map<string, Promise<Lookup>>();
  const env = options.env ?? process.env;
  let lookup: (name: string) => Promise<Lookup>;
  let source: string;

  if (options.vaultUrl) {
    const vaultUrl = options.vaultUrl;
    source = `Key Vault ${vaultUrl}`;
    const client = new SecretClient(vaultUrl, options.credential ?? new DefaultAzureCredential(), options.keyVaultClientOptions);
    const timeoutMs = options.timeoutMs ?? KEY_VAULT_TIMEOUT_MS;
    lookup = async (name) => {
      if (!KEY_VAULT_SECRET_NAME.test(name)) {
        return {
          found: false,
          problem: `"${name}" cannot name a secret in Key Vault (1-127 letters, digits and -): rename the secret and this setting to match`,
        };
      }
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        // The SDK hands the signal to the credential, but MSAL's token requests (managed identity's
        // too) do not heed it: a token endpoint that does not answer is given up on here as well.
        const givenUp = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
        const secret = await Promise.race([client.getSecret(name, { abortSignal: signal }), givenUp]);
        if (secret.value === undefined || secret.value === '') {
          return { found: false, problem: `secret "${name}" in ${source} is empty` };
        }
        return { found: true, value: secret.value };
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 404) return { found: false, problem: `secret "${name}" was not found in ${source}` };
        if (status === 400) return { found: false, problem: `${source} refused to read secret "${name}" (HTTP 400: ${(error as Error).message})` };
        if (status === 403) {
          // Key Vault says why in the error's inner code: a disabled secret and a firewall are not a missing role.
          const reason = innerErrorCode(error);
          if (reason === 'SecretDisabled') {
            return {
              found: false,
              problem: `secret "${name}" in ${source} is disabled (HTTP 403, SecretDisabled): enable its current version in the vault, or point the setting at a secret that is enabled`,
            };
          }
          if (reason === 'ForbiddenByFirewall') {
            return {
              found: false,
              problem:
                `${source} refused this host by its firewall (HTTP 403, ForbiddenByFirewall) when reading secret "${name}": ` +
                "allow the Function App's outbound addresses or virtual network in the vault's Networking settings",
            };
          }
        }
        if (status === 401 || status === 403) {
          return {
            found: false,
            problem:
              `secret "${name}" in ${source} cannot be read (HTTP ${status}): give the app's identity the ` +
              `"Key Vault Secrets User" role on the vault (or a Get secret access policy)`,
          };
        }
        if (isCredentialError(error)) {
          // The vault was never asked: without a token there is no request. Not a network problem.
          // The credential's words (a chain's, for DefaultAzureCredential) may name a signed-in user.
          const why = redactEmails((error as Error).message.replace(/\s+/g, ' ').trim(), 600);
          throw new RemoteServiceError(
            `${source}: the app's identity could not get a Microsoft Entra token to read secret "${name}" (${why}). ${IDENTITY_ADVICE}`,
            { service: 'KeyVault', operation: `GET secrets/${name}`, retryable: false, cause: error },
          );
        }
        if (status !== undefined && (status === 429 || status >= 500)) {
          // The vault answered, after the SDK's own retries: an outage or throttling on its side, not a network problem.
          const said = redactEmails((error as Error).message.replace(/\s+/g, ' ').trim());
          throw new RemoteServiceError(
            `${source} answered HTTP ${status} to the read of secret "${name}" after retries (${said}): ` +
              `the vault is ${status === 429 ? 'throttling this app' : 'failing'}; a later run tries again`,
            { service: 'KeyVault', operation: `GET secrets/${name}`, statusCode: status, retryable: true, cause: error },
          );
        }
        const timedOut = (error as { name?: unknown }).name === 'AbortError' || (error as { name?: unknown }).name === 'TimeoutError';
        const why = timedOut ? `no answer within ${timeoutMs / 1000} s` : (error as Error).message;
        // A vault name that does not resolve is a typo in the setting, not an outage.
        const unresolved = (error as { code?: unknown }).code === 'ENOTFOUND' ? '; check KeyVaultOptions.KeyVaultURI: its host name was not found' : '';
        throw new RemoteServiceError(`Key Vault ${vaultUrl} could not be reached to read secret "${name}": ${why}${unresolved}`, {
          service: 'KeyVault',
          operation: `GET secrets/${name}`,
          statusCode: status,
          retryable: true,
          cause: error,
        });
      }
    };
  } else {
    source = 'environment variables';
    lookup = async (name) => {
      const names = environmentVariableNames(name);
      for (const variable of names) {
        const value = env[variable];
        if (value !== undefined && isUnresolvedKeyVaultReference(value)) {
          return {
            found: false,
            problem:
              `secret "${name}": the app setting ${variable} still holds its Key Vault reference, which App Service could ` +
              `not resolve: ${UNRESOLVED_REFERENCE_HINT}`,
          };
        }
        if (value !== undefined && value !== '') return { found: true, value };
      }
      return {
        found: false,
        problem: `secret "${name}" was not found: set the environment variable ${names.join(' or ')} (or set KeyVaultOptions.KeyVaultURI to read it from Key Vault)`,
      };
    };
  }

  return {
    source,
    async resolveAll(requests) {
      const results = await Promise.all(
        requests.map(async (request) => {
          let pending = cache.get(request.name);
          if (!pending) {
            pending = lookup(request.name);
            cache.set(request.name, pending);
            // A failed lookup is not cached, so a fixed vault or variable is picked up next time.
            pending.then(
              (result) => {
                if (!result.found) cache.delete(request.name);
              },
              () => cache.delete(request.name),
            );
          }
          return { request, result: await pending };
        }),
      );
      const problems: string[] = [];
      const values = new Map<string, string>();
      for (const { request, result } of results) {
        if (result.found) values.set(request.name, result.value);
        else problems.push(`${request.setting}: ${result.problem}`);
      }
      if (problems.length > 0) throw new ConfigurationError(problems);
      return values;
    },
  };
}
