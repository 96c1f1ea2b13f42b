import type { ServerResponse } from 'node:http';
import { ClientSecretCredential } from '@azure/identity';
import { createSecretResolver, environmentVariableNames } from '../../src/config/secrets';
import { listen, sendJson } from '../../src/simulators/http-server';
import { startTokenServer, type TokenServer } from '../../src/simulators/token-server';
import { ConfigurationError, RemoteServiceError } from '../../src/shared/errors';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../support/key-vault-stand-in';
import { testTls } from '../support/test-tls';

const tenantId = '11111111-2222-3333-4444-555555555555';

describe('secrets from environment variables', () => {
  test('the exact name, or the name with non-alphanumerics as underscores', async () => {
    expect(environmentVariableNames('Retail-App.Id')).toEqual(['Retail-App.Id', 'Retail_App_Id']);
    const resolver = createSecretResolver({ env: { Retail_App_Id: 'id-value', EmarsysSecret: 's3cret' } });
    const values = await resolver.resolveAll([
      { name: 'Retail-App.Id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' },
      { name: 'EmarsysSecret', setting: 'EmarsysClientOptions.ApiSecretKeyVaultSecretName' },
    ]);
    expect(Object.fromEntries(values)).toEqual({ 'Retail-App.Id': 'id-value', EmarsysSecret: 's3cret' });
  });

  test('every missing secret is named, with the setting that names it and what to set', async () => {
    const resolver = createSecretResolver({ env: {} });
    const error = await resolver
      .resolveAll([
        { name: 'app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' },
        { name: 'app-secret', setting: 'RetailServerClientOptions.AppSecretKeyVaultSecretName' },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      'RetailServerClientOptions.AppIdKeyVaultSecretName: secret "app-id" was not found: set the environment variable app-id or app_id (or set KeyVaultOptions.KeyVaultURI to read it from Key Vault)',
      'RetailServerClientOptions.AppSecretKeyVaultSecretName: secret "app-secret" was not found: set the environment variable app-secret or app_secret (or set KeyVaultOptions.KeyVaultURI to read it from Key Vault)',
    ]);
  });
});

test('an app setting left holding its unresolved Key Vault reference is not taken for the secret', async () => {
  const reference = '@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net/secrets/emarsys-secret/)';
  const error = await createSecretResolver({ env: { 'emarsys-secret': reference } })
    .resolveAll([{ name: 'emarsys-secret', setting: 'EmarsysClientOptions.ApiSecretKeyVaultSecretName' }])
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigurationError);
  expect((error as ConfigurationError).problems).toEqual([
    expect.stringMatching(
      /^EmarsysClientOptions\.ApiSecretKeyVaultSecretName: secret "emarsys-secret": the app setting emarsys-secret still holds its Key Vault reference, which App Service could not resolve/,
    ),
  ]);
  expect((error as ConfigurationError).message).not.toContain(reference);
});

/** A Key Vault resolver whose reads give up after 300 ms, for the stand-ins that never answer. */
function resolverWithTimeout(vaultUrl: string, authorityHost: string) {
  return createSecretResolver({
    vaultUrl,
    credential: new ClientSecretCredential(tenantId, 'vault-reader', 'reader-secret', { authorityHost, disableInstanceDiscovery: true }),
    keyVaultClientOptions: { disableChallengeResourceVerification: true },
    timeoutMs: 300,
  });
}

describe('secrets from Key Vault', () => {
  let tokens: TokenServer;
  let vault: KeyVaultStandIn;

  beforeEach(async () => {
    const tls = testTls();
    tokens = await startTokenServer({ tls, tenantId, clients: { 'vault-reader': 'reader-secret' } });
    vault = await startKeyVaultStandIn({
      tls,
      authorityUrl: `${tokens.authorityHost}/${tenantId}`,
      isValidToken: (token) => tokens.isValidToken(token, 'https://vault.azure.net'),
      secrets: { 'retail-app-id': 'client-id-123', 'retail-app-secret': 'client-secret-456' },
    });
  });
  afterEach(async () => {
    await vault.close();
    await tokens.close();
  });

  function resolver() {
    return createSecretResolver({
      vaultUrl: vault.vaultUrl,
      credential: new ClientSecretCredential(tenantId, 'vault-reader', 'reader-secret', {
        authorityHost: tokens.authorityHost,
        disableInstanceDiscovery: true,
      }),
      keyVaultClientOptions: { disableChallengeResourceVerification: true },
    });
  }

  test('reads each secret once with a token from the authority, and caches it', async () => {
    const secrets = resolver();
    const requests = [
      { name: 'retail-app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' },
      { name: 'retail-app-secret', setting: 'RetailServerClientOptions.AppSecretKeyVaultSecretName' },
    ];
    expect(Object.fromEntries(await secrets.resolveAll(requests))).toEqual({
      'retail-app-id': 'client-id-123',
      'retail-app-secret': 'client-secret-456',
    });
    await secrets.resolveAll(requests);
    expect(vault.reads.sort()).toEqual(['retail-app-id', 'retail-app-secret']);
    expect(tokens.tokensIssued).toBe(1);
  });

  test('a secret missing from the vault is a configuration error naming vault and secret', async () => {
    const error = await resolver()
      .resolveAll([{ name: 'emarsys-user', setting: 'EmarsysClientOptions.ApiUserNameKeyVaultSecretName' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      `EmarsysClientOptions.ApiUserNameKeyVaultSecretName: secret "emarsys-user" was not found in Key Vault ${vault.vaultUrl}`,
    ]);
  });

  test('a name Key Vault cannot hold (the underscores of an environment variable) is a configuration error naming the setting', async () => {
    const error = await resolver()
      .resolveAll([{ name: 'retail_app_id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      'RetailServerClientOptions.AppIdKeyVaultSecretName: "retail_app_id" cannot name a secret in Key Vault (1-127 letters, digits and -): rename the secret and this setting to match',
    ]);
    // Not asked: Key Vault would answer 400, once taken for the vault being out of reach.
    expect(vault.reads).toEqual([]);
  });

  test('a disabled secret, or a vault whose firewall keeps this host out, is named as such, not as a missing role', async () => {
    const tls = testTls();
    const refusing = (extra: { disabled?: string[]; firewall?: boolean }) =>
      startKeyVaultStandIn({
        tls,
        authorityUrl: `${tokens.authorityHost}/${tenantId}`,
        isValidToken: (token) => tokens.isValidToken(token, 'https://vault.azure.net'),
        secrets: { 'retail-app-id': 'client-id-123', 'retail-app-secret': 'client-secret-456' },
        ...extra,
      });
    const problems = async (url: string): Promise<readonly string[]> => {
      const error = await createSecretResolver({
        vaultUrl: url,
        credential: new ClientSecretCredential(tenantId, 'vault-reader', 'reader-secret', { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true }),
        keyVaultClientOptions: { disableChallengeResourceVerification: true },
      })
        .resolveAll([{ name: 'retail-app-secret', setting: 'RetailServerClientOptions.AppSecretKeyVaultSecretName' }])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as ConfigurationError).problems;
    };

    const disabled = await refusing({ disabled: ['retail-app-secret'] });
    const walled = await refusing({ firewall: true });
    try {
      expect(await problems(disabled.vaultUrl)).toEqual([
        `RetailServerClientOptions.AppSecretKeyVaultSecretName: secret "retail-app-secret" in Key Vault ${disabled.vaultUrl} is disabled (HTTP 403, SecretDisabled): enable its current version in the vault, or point the setting at a secret that is enabled`,
      ]);
      expect(await problems(walled.vaultUrl)).toEqual([
        `RetailServerClientOptions.AppSecretKeyVaultSecretName: Key Vault ${walled.vaultUrl} refused this host by its firewall (HTTP 403, ForbiddenByFirewall) when reading secret "retail-app-secret": allow the Function App's outbound addresses or virtual network in the vault's Networking settings`,
      ]);
    } finally {
      await disabled.close();
      await walled.close();
    }
  });

  test("an identity that cannot get a token for the vault is named as such, not as a vault out of reach", async () => {
    // The vault is up; the app's credential is refused by the authority (a wrong client secret).
    const error = await createSecretResolver({
      vaultUrl: vault.vaultUrl,
      credential: new ClientSecretCredential(tenantId, 'vault-reader', 'not-the-secret', { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true }),
      keyVaultClientOptions: { disableChallengeResourceVerification: true },
    })
      .resolveAll([{ name: 'retail-app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteServiceError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(`^Key Vault ${vault.vaultUrl.replace(/[.]/g, '\\.')}: the app's identity could not get a Microsoft Entra token to read secret "retail-app-id" \\(.*AADSTS7000215`),
    );
    expect(message).toContain(
      "In Azure, turn on the Function App's managed identity; elsewhere, sign in (az login) or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.",
    );
    expect(message).not.toContain('could not be reached');
    expect(message).not.toContain('not-the-secret');
    expect(vault.reads).toEqual([]);
  });

  test('a vault host name that does not resolve (a typo in the vault name) names KeyVaultURI', async () => {
    const error = await createSecretResolver({
      vaultUrl: 'https://contso-kv.invalid',
      credential: new ClientSecretCredential(tenantId, 'vault-reader', 'reader-secret', { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true }),
      keyVaultClientOptions: { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    })
      .resolveAll([{ name: 'retail-app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect((error as Error).message).toMatch(
      /^Key Vault https:\/\/contso-kv\.invalid could not be reached to read secret "retail-app-id": .*ENOTFOUND.*; check KeyVaultOptions\.KeyVaultURI: its host name was not found$/,
    );
  });

  test('a vault that never answers fails the read after the timeout, naming the vault and the secret, instead of holding the run', async () => {
    const tls = testTls();
    const hung = await startKeyVaultStandIn({
      tls,
      authorityUrl: `${tokens.authorityHost}/${tenantId}`,
      isValidToken: (token) => tokens.isValidToken(token, 'https://vault.azure.net'),
      secrets: { 'retail-app-id': 'client-id-123' },
      hang: true,
    });
    try {
      const secrets = resolverWithTimeout(hung.vaultUrl, tokens.authorityHost);
      const error = await secrets.resolveAll([{ name: 'retail-app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteServiceError);
      expect((error as Error).message).toBe(`Key Vault ${hung.vaultUrl} could not be reached to read secret "retail-app-id": no answer within 0.3 s`);
    } finally {
      await hung.close();
    }
  });

  test('a vault that answers 5xx or 429 past the SDK retries was reached: the message says what it answered and that a later run tries again', async () => {
    const tls = testTls();
    for (const status of [503, 429]) {
      const failing = await startKeyVaultStandIn({
        tls,
        authorityUrl: `${tokens.authorityHost}/${tenantId}`,
        isValidToken: (token) => tokens.isValidToken(token, 'https://vault.azure.net'),
        secrets: { 'retail-app-id': 'client-id-123' },
        failWith: status,
      });
      try {
        const error = await createSecretResolver({
          vaultUrl: failing.vaultUrl,
          credential: new ClientSecretCredential(tenantId, 'vault-reader', 'reader-secret', { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true }),
          keyVaultClientOptions: { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } },
        })
          .resolveAll([{ name: 'retail-app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' }])
          .catch((e: unknown) => e);
        expect(failing.failedReads).toBeGreaterThanOrEqual(1);
        expect(error).toBeInstanceOf(RemoteServiceError);
        expect((error as RemoteServiceError).retryable).toBe(true);
        const message = (error as Error).message;
        expect(message).not.toContain('could not be reached');
        expect(message).toMatch(
          new RegExp(`^Key Vault ${failing.vaultUrl.replace(/[.]/g, '\\.')} answered HTTP ${status} to the read of secret "retail-app-id" .*a later run tries again`),
        );
      } finally {
        await failing.close();
      }
    }
  });
});

test('a token endpoint that never answers fails the read after the timeout too, as a vault that never answers does', async () => {
  const tls = testTls();
  // Takes the token request and holds it (MSAL's requests do not heed the SDK's abort signal).
  const held: ServerResponse[] = [];
  const hungTokens = await listen((_request, response) => void held.push(response), { tls });
  const vault = await startKeyVaultStandIn({ tls, authorityUrl: `${hungTokens.origin}/${tenantId}`, isValidToken: () => false, secrets: {} });
  try {
    const secrets = resolverWithTimeout(vault.vaultUrl, hungTokens.origin);
    let stillWaiting: NodeJS.Timeout | undefined;
    const error = await Promise.race([
      secrets.resolveAll([{ name: 'retail-app-id', setting: 'RetailServerClientOptions.AppIdKeyVaultSecretName' }]).catch((e: unknown) => e),
      new Promise((resolve) => (stillWaiting = setTimeout(() => resolve('still waiting after 3 s'), 3000))),
    ]);
    clearTimeout(stillWaiting);
    expect(error).toBeInstanceOf(RemoteServiceError);
    expect((error as Error).message).toBe(`Key Vault ${vault.vaultUrl} could not be reached to read secret "retail-app-id": no answer within 0.3 s`);
  } finally {
    // The held request ends with a refusal, which MSAL does not retry, so that nothing is left running.
    for (const response of held) sendJson(response, 400, { error: 'invalid_request' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await vault.close();
    await hungTokens.close();
  }
});
