import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sectionSchemas } from '../../src/config/schema';
import { STANDARD_VIEW_PORTS_ENV } from '../../src/config/standard-viewports';
import { loadSettings } from '../../src/config/settings';
import { normalizeRetailServerUrl } from '../../src/retail/retail-client';
import { ConfigurationError } from '../../src/shared/errors';

const shippedSettings = join(__dirname, '..', '..', 'appSettings.json');

/** The values a deployment must fill in, given the way Azure app settings give them. */
const completeEnv = {
  RetailServerClientOptions__TenantId: '00000000-0000-0000-0000-000000000001',
  RetailServerClientOptions__RetailServerUrl: 'https://contoso.commerce.dynamics.com',
  RetailServerClientOptions__OperatingUnitNumber: '128',
  RetailServerClientOptions__ReturnToCartUrl: 'https://shop.contoso.com/cart?id={cartId}',
  EmarsysClientOptions__ExternalEventId: '1234',
  MediaOptions__ImageServerUrl: 'https://images.contoso.com/cms/imageFileData/search?fileName=',
};

function writeSettings(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'settings-'));
  const path = join(dir, 'appSettings.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configurationProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigurationError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('loadSettings', () => {
  test('the shipped appSettings.json plus the required app settings gives the documented defaults', () => {
    const settings = loadSettings({ settingsPath: shippedSettings, env: completeEnv });
    expect(settings.retail).toMatchObject({
      tenantId: '00000000-0000-0000-0000-000000000001',
      audience: 'https://commerce.dynamics.com',
      baseUrl: 'https://contoso.commerce.dynamics.com/Commerce',
      operatingUnitNumber: '128',
      includeMinutes: 500,
      excludeMinutes: 10,
      authorityHost: 'https://login.microsoftonline.com',
      apiVersion: '7.3',
      pageSize: 100,
      includeAnonymous: false,
      appIdSecretName: 'RetailServerAppId',
      appSecretSecretName: 'RetailServerAppSecret',
      maxRunMinutes: 8,
    });
    expect(settings.cosmos).toEqual({
      endpoint: 'https://localhost:8081',
      primaryKey: undefined,
      databaseId: 'AbandonedCartDB',
      containerId: 'AbandonedCarts',
      ttlDays: 90,
      claimTimeoutMinutes: 15,
    });
    expect(settings.emarsys).toMatchObject({
      authMode: 'wsse',
      apiUrl: 'https://api.emarsys.net/api/v2/event/{0}/trigger',
      externalEventId: '1234',
      contactKeyId: 3,
      batchSize: 1000,
    });
    expect(settings.media.viewPorts).toEqual([
      { media: '(max-width: 599px)', width: 300, height: 300, useForDefaultImageTag: false },
      { media: '(min-width: 600px)', width: 600, height: 600, useForDefaultImageTag: true },
    ]);
  });

  test('the shipped file alone is reported with every missing property by its full name', () => {
    const problems = configurationProblems(() => loadSettings({ settingsPath: shippedSettings, env: {} }));
    const names = problems.map((problem) => problem.split(' ')[0]);
    expect(names.sort()).toEqual(
      [
        'EmarsysClientOptions.ExternalEventId',
        'MediaOptions.ImageServerUrl',
        'RetailServerClientOptions.OperatingUnitNumber',
        'RetailServerClientOptions.RetailServerUrl',
        'RetailServerClientOptions.ReturnToCartUrl',
        'RetailServerClientOptions.TenantId',
      ].sort(),
    );
    expect(problems.find((p) => p.startsWith('RetailServerClientOptions.TenantId'))).toMatch(/tenant id/);
  });

  test('the sample spellings (KeyVaultUrl, RetailServerUri) and any letter case are accepted', () => {
    const path = writeSettings({
      keyvaultoptions: { KeyVaultUrl: 'https://contoso.vault.azure.net' },
      RetailServerClientOptions: {
        tenantid: 'tenant',
        AppIdKeyVaultSecretName: 'app-id',
        AppSecretKeyVaultSecretName: 'app-secret',
        RetailServerUri: 'https://csu.example.com/Commerce/',
        OperatingUnitNumber: 128,
        ReturnToCartUrl: 'https://shop.example.com/cart',
      },
      EmarsysClientOptions: {
        ExternalEventId: 55,
        ApiUserNameKeyVaultSecretName: 'user',
        ApiSecretKeyVaultSecretName: 'secret',
        EmarsysContactKeyId: '3',
      },
      MediaOptions: {
        ImageServerUrl: 'https://images.example.com/',
        ImageViewPorts: [{ ViewPort: '(min-width: 0px)', ImageWidth: '100', ImageHeight: 80, UseForDefaultImageTag: 'true' }],
      },
    });
    const settings = loadSettings({ settingsPath: path, env: {} });
    expect(settings.keyVault.uri).toBe('https://contoso.vault.azure.net');
    expect(settings.retail.baseUrl).toBe('https://csu.example.com/Commerce');
    expect(settings.retail.tenantId).toBe('tenant');
    expect(settings.retail.operatingUnitNumber).toBe('128');
    expect(settings.emarsys.externalEventId).toBe('55');
    expect(settings.media.viewPorts).toEqual([{ media: '(min-width: 0px)', width: 100, height: 80, useForDefaultImageTag: true }]);

    // The sample lists every setting, blank: a blank standard spelling does not erase the file's
    // sample spelling, and a set one wins over it.
    const blanks = { KeyVaultOptions__KeyVaultURI: '', RetailServerClientOptions__RetailServerUrl: ' ' };
    const withBlanks = loadSettings({ settingsPath: path, env: blanks });
    expect(withBlanks.keyVault.uri).toBe('https://contoso.vault.azure.net');
    expect(withBlanks.retail.baseUrl).toBe('https://csu.example.com/Commerce');
    const overridden = loadSettings({ settingsPath: path, env: { KeyVaultOptions__KeyVaultURI: 'https://other.vault.azure.net' } });
    expect(overridden.keyVault.uri).toBe('https://other.vault.azure.net');
  });

  test("an app setting in either spelling overrides the file's value in the other", () => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as Record<string, Record<string, unknown>>;
    const documented = writeSettings({
      ...shipped,
      KeyVaultOptions: { KeyVaultURI: 'https://dev.vault.azure.net' },
      RetailServerClientOptions: { ...shipped.RetailServerClientOptions, RetailServerUrl: 'https://dev-csu.example.com/Commerce' },
    });
    const sampleSpelling = { RetailServerClientOptions__RetailServerUri: 'https://prod-csu.example.com/Commerce', KeyVaultOptions__KeyVaultUrl: 'https://prod.vault.azure.net' };
    const fromSample = loadSettings({ settingsPath: documented, env: { ...completeEnv, RetailServerClientOptions__RetailServerUrl: undefined, ...sampleSpelling } });
    expect([fromSample.keyVault.uri, fromSample.retail.baseUrl]).toEqual(['https://prod.vault.azure.net', 'https://prod-csu.example.com/Commerce']);

    const { RetailServerUrl: _documentedSpelling, ...retail } = shipped.RetailServerClientOptions ?? {};
    const sample = writeSettings({
      ...shipped,
      KeyVaultOptions: { KeyVaultUrl: 'https://dev.vault.azure.net' },
      RetailServerClientOptions: { ...retail, RetailServerUri: 'https://dev-csu.example.com' },
    });
    const fromDocumented = loadSettings({ settingsPath: sample, env: { ...completeEnv, KeyVaultOptions__KeyVaultURI: 'https://prod.vault.azure.net' } });
    expect([fromDocumented.keyVault.uri, fromDocumented.retail.baseUrl]).toEqual(['https://prod.vault.azure.net', 'https://contoso.commerce.dynamics.com/Commerce']);

    // Of two app settings, the documented spelling's wins, as in one file.
    const both = loadSettings({ settingsPath: documented, env: { ...completeEnv, ...sampleSpelling } });
    expect(both.retail.baseUrl).toBe('https://contoso.commerce.dynamics.com/Commerce');
  });

  test('an Include window reaching past the ledger\'s time to live is a configuration problem', () => {
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, AzureCosmosOptions__TimeToLiveDays: '2', RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '2881' },
      }),
    );
    expect(problems).toEqual([expect.stringMatching(/^RetailServerClientOptions\.IncludeAbandonedCartsModifiedSinceLastMinutes \(2881\) must be at most AzureCosmosOptions\.TimeToLiveDays \(2 days, 2880 minutes\)/)]);
    // As long as the time to live is safe: a record is written after its cart was modified.
    expect(loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, AzureCosmosOptions__TimeToLiveDays: '2', RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '2880' } }).retail.includeMinutes).toBe(2880);
  });

  test('a Cosmos DB key app setting still holding its unresolved Key Vault reference is a configuration problem', () => {
    const problems = configurationProblems(() =>
      loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, AzureCosmosOptions__PrimaryKey: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/cosmos-key/)' } }),
    );
    expect(problems).toEqual([expect.stringMatching(/^AzureCosmosOptions\.PrimaryKey still holds its Key Vault reference, which App Service could not resolve: check the reference's SecretUri/)]);
  });

  test('an operating unit number or an Emarsys ApiUrl that cannot be one is reported with the other problems', () => {
    // The placeholder local.settings.sample.json ships, beside another problem: both are listed at once.
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, RetailServerClientOptions__OperatingUnitNumber: '<your-oun>', RetailServerClientOptions__TenantId: '', EmarsysClientOptions__ApiUrl: 'api.emarsys.net/api/v2/event/{0}/trigger' },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^RetailServerClientOptions\.TenantId/),
      "RetailServerClientOptions.OperatingUnitNumber must be the online channel's operating unit number, e.g. 128 (letters, digits, - and _)",
      'EmarsysClientOptions.ApiUrl must be an absolute http(s) URL, e.g. https://api.emarsys.net/api/v2/event/{0}/trigger',
    ]);
  });

  describe('a URL the connector sends credentials to is https, or http only to this machine', () => {
    // A bearer token goes to RetailServerUrl, client_id:client_secret to TokenUrl, and a bearer
    // token or WSSE header (and the customers' emails) to ApiUrl: a typo or a copied example
    // must not send them in clear text.
    const oauth2 = {
      ...completeEnv,
      EmarsysClientOptions__AuthMode: 'oauth2',
      EmarsysClientOptions__ClientIdKeyVaultSecretName: 'EmarsysClientId',
      EmarsysClientOptions__ClientSecretKeyVaultSecretName: 'EmarsysClientSecret',
    };

    test.each([
      ['RetailServerClientOptions', 'RetailServerUrl', 'http://contoso.commerce.dynamics.com/Commerce', 'its Retail Server access token'],
      ['EmarsysClientOptions', 'TokenUrl', 'http://auth.emarsys.net/oauth2/token', 'the Emarsys OAuth client id and secret'],
      ['EmarsysClientOptions', 'ApiUrl', 'http://api.emarsys.net/api/v3/event/{0}/trigger', 'the Emarsys credentials'],
      ['EmarsysClientOptions', 'ApiUrl', 'HTTP://10.0.0.5:8080/api/v2/event/{0}/trigger', 'the Emarsys credentials'],
    ])('%s.%s = %s is a configuration problem that says what to write', (section, name, value, carries) => {
      const problems = configurationProblems(() => loadSettings({ settingsPath: shippedSettings, env: { ...oauth2, [`${section}__${name}`]: value } }));
      expect(problems).toEqual([expect.stringMatching(new RegExp(`^${section}\\.${name} must be an https URL, e.g. https://`))]);
      expect(problems[0]).toContain(carries);
      expect(problems[0]).toContain('Write https:// (http is accepted only for a stand-in on this machine: localhost, 127.0.0.1 or ::1)');
    });

    test.each([
      ['a query string', 'https://auth.emarsys.net/oauth2/token?subscription-key=gw-key-5f2c'],
      ['a fragment', 'https://auth.emarsys.net/oauth2/token#gw-key-5f2c'],
      ['credentials', 'https://svc:gw-key-5f2c@auth.emarsys.net/oauth2/token'],
    ])('a TokenUrl with %s is refused, as RetailServerUrl is, without repeating it: messages name the token endpoint', (_what, value) => {
      // The Emarsys token endpoint takes no query; a gateway key put there would reach every token message.
      const problems = configurationProblems(() => loadSettings({ settingsPath: shippedSettings, env: { ...oauth2, EmarsysClientOptions__TokenUrl: value } }));
      expect(problems).toEqual([
        'EmarsysClientOptions.TokenUrl must be the Emarsys OAuth 2.0 token endpoint itself, with no query string, fragment or credentials, e.g. https://auth.emarsys.net/oauth2/token',
      ]);
      expect(problems.join('\n')).not.toContain('gw-key-5f2c');
    });

    test('the default ApiUrl and TokenUrl, and an ApiUrl whose query carries the event id (a gateway), are accepted', () => {
      const settings = loadSettings({ settingsPath: shippedSettings, env: oauth2 });
      expect(settings.emarsys.tokenUrl).toBe('https://auth.emarsys.net/oauth2/token');
      const gateway = loadSettings({ settingsPath: shippedSettings, env: { ...oauth2, EmarsysClientOptions__ApiUrl: 'https://gw.contoso.com/emarsys?event={0}' } });
      expect(gateway.emarsys.apiUrl).toBe('https://gw.contoso.com/emarsys?event={0}');
    });

    test.each([['127.0.0.1:8443'], ['localhost'], ['[::1]:8080'], ['127.1.2.3']])('http to the loopback host %s is accepted (the local stand-ins)', (host) => {
      const settings = loadSettings({
        settingsPath: shippedSettings,
        env: {
          ...oauth2,
          RetailServerClientOptions__RetailServerUrl: `http://${host}/Commerce`,
          EmarsysClientOptions__TokenUrl: `http://${host}/oauth2/token`,
          EmarsysClientOptions__ApiUrl: `http://${host}/api/v3/event/{0}/trigger`,
        },
      });
      expect(settings.retail.baseUrl).toBe(`http://${host}/Commerce`);
    });

    test('an EndPointUri that holds an account key (a connection string pasted without its AccountEndpoint=) is refused without repeating it', () => {
      // It parses as a URL (the key lands in its path), and messages name the endpoint: the key
      // would reach the logs.
      const key = 'C2y6yDjf5R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';
      const problems = configurationProblems(() =>
        loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, AzureCosmosOptions__EndPointUri: `https://contoso.documents.azure.com:443/;AccountKey=${key};` } }),
      );
      expect(problems).toEqual([expect.stringMatching(/^AzureCosmosOptions\.EndPointUri holds an account key/)]);
      expect(problems.join('\n')).not.toContain(key.slice(0, 12));
      // The whole connection string is no URL at all: refused as such and for its key, without repeating it either.
      const whole = configurationProblems(() =>
        loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, AzureCosmosOptions__EndPointUri: `AccountEndpoint=https://contoso.documents.azure.com:443/;AccountKey=${key};` } }),
      );
      expect(whole).toEqual([expect.stringMatching(/^AzureCosmosOptions\.EndPointUri must be an absolute http\(s\) URL/), expect.stringMatching(/^AzureCosmosOptions\.EndPointUri holds an account key/)]);
      expect(whole.join('\n')).not.toContain(key.slice(0, 12));
    });

    test('an http KeyVaultURI is a configuration problem: Key Vault clients read secrets over https only', () => {
      // SecretClient refuses any http vault, loopback too ("Cannot connect to http://... while
      // allowInsecureConnection is false"): accepted here, it failed every run as a vault "that
      // could not be reached", never naming the setting.
      for (const uri of ['http://contoso.vault.azure.net', 'http://127.0.0.1:8443']) {
        const problems = configurationProblems(() => loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, KeyVaultOptions__KeyVaultURI: uri } }));
        expect(problems).toEqual([
          'KeyVaultOptions.KeyVaultURI must be an absolute https URL: the Key Vault URL, e.g. https://<name>.vault.azure.net; leave empty to read secrets from environment variables',
        ]);
      }
    });

    test('settings nobody sends credentials to may still be http', () => {
      const settings = loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, RetailServerClientOptions__ReturnToCartUrl: 'http://shop.contoso.com/cart?id={cartId}', MediaOptions__ImageServerUrl: 'http://images.contoso.com/' },
      });
      expect(settings.media.imageServerUrl).toBe('http://images.contoso.com/');
    });
  });

  test('environment variables override the file, arrays included, and coerce numbers and booleans', () => {
    const settings = loadSettings({
      settingsPath: shippedSettings,
      env: {
        ...completeEnv,
        RetailServerClientOptions__PageSize: '250',
        RetailServerClientOptions__IncludeAnonymous: 'True',
        retailserverclientoptions__includeabandonedcartsmodifiedsincelastminutes: '120',
        MediaOptions__ImageViewPorts__0__imageWidth: '320',
        MediaOptions__ImageViewPorts__2__viewport: '(min-width: 1200px)',
        MediaOptions__ImageViewPorts__2__imageWidth: '1200',
        MediaOptions__ImageViewPorts__2__imageHeight: '900',
        UnrelatedSection__Value: 'ignored',
      },
    });
    expect(settings.retail.pageSize).toBe(250);
    expect(settings.retail.includeAnonymous).toBe(true);
    expect(settings.retail.includeMinutes).toBe(120);
    expect(settings.media.viewPorts.map((v) => [v.media, v.width, v.height])).toEqual([
      ['(max-width: 599px)', 320, 300],
      ['(min-width: 600px)', 600, 600],
      ['(min-width: 1200px)', 1200, 900],
    ]);
  });

  test('app settings named Section:Property, as .NET apps on a Windows plan name them, override the file as Section__Property does', () => {
    const settings = loadSettings({
      settingsPath: shippedSettings,
      env: {
        ...completeEnv,
        'RetailServerClientOptions:PageSize': '250',
        'retailserverclientoptions:IncludeAnonymous': 'true',
        'MediaOptions:ImageViewPorts:0:imageWidth': '320',
        'MediaOptions:ImageViewPorts__1:imageHeight': '640',
        '=C:': 'C:\\Users\\ann',
      },
    });
    expect(settings.retail.pageSize).toBe(250);
    expect(settings.retail.includeAnonymous).toBe(true);
    expect(settings.media.viewPorts.map((v) => [v.width, v.height])).toEqual([
      [320, 300],
      [600, 640],
    ]);
  });

  test('viewports given as app settings numbered from 1, or with a gap, bind in index order (as .NET binds them)', () => {
    const path = writeSettings({ ...JSON.parse(readFileSync(shippedSettings, 'utf8')), MediaOptions: { ImageServerUrl: '' } });
    const settings = loadSettings({
      settingsPath: path,
      env: {
        ...completeEnv,
        MediaOptions__ImageViewPorts__1__viewport: '(max-width: 599px)',
        MediaOptions__ImageViewPorts__1__imageWidth: '300',
        MediaOptions__ImageViewPorts__1__imageHeight: '300',
        MediaOptions__ImageViewPorts__3__viewport: '(min-width: 600px)',
        MediaOptions__ImageViewPorts__3__imageWidth: '600',
        MediaOptions__ImageViewPorts__3__imageHeight: '600',
        MediaOptions__ImageViewPorts__3__useForDefaultImageTag: 'true',
      },
    });
    expect(settings.media.viewPorts.map((v) => v.width)).toEqual([300, 600]);
  });

  test('viewports in a file as an object keyed by name, or a named key beside numbered ones: every entry binds, numbers first, and a problem names the key it was given under', () => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as Record<string, Record<string, unknown>>;
    const viewPort = (width: number, useForDefaultImageTag = false) => ({ viewport: `(min-width: ${width}px)`, imageWidth: width, imageHeight: width, useForDefaultImageTag });
    const named = writeSettings({ ...shipped, MediaOptions: { ...shipped.MediaOptions, ImageViewPorts: { Mobile: viewPort(300), Desktop: viewPort(900, true) } } });
    expect(loadSettings({ settingsPath: named, env: completeEnv }).media.viewPorts.map((v) => v.width)).toEqual([900, 300]);
    const mixed = writeSettings({ ...shipped, MediaOptions: { ...shipped.MediaOptions, ImageViewPorts: { wide: viewPort(1200), 0: viewPort(300, true) } } });
    expect(loadSettings({ settingsPath: mixed, env: completeEnv }).media.viewPorts.map((v) => v.width)).toEqual([300, 1200]);
    expect(
      configurationProblems(() =>
        loadSettings({ settingsPath: named, env: { ...completeEnv, MediaOptions__ImageViewPorts__7__viewport: '(min-width: 10px)', MediaOptions__ImageViewPorts__7__imageWidth: '10', MediaOptions__ImageViewPorts__7__imageHeight: '0' } }),
      ),
    ).toEqual([expect.stringMatching(/^MediaOptions\.ImageViewPorts\.7\.imageHeight /)]);
  });

  test("a viewport's missing imageWidth or imageHeight is reported as required, a 0 as too small", () => {
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, MediaOptions__ImageViewPorts__7__viewport: '(min-width: 10px)', MediaOptions__ImageViewPorts__7__imageHeight: '0', MediaOptions__ImageViewPorts__8__viewport: '(min-width: 20px)', MediaOptions__ImageViewPorts__8__imageWidth: '20', MediaOptions__ImageViewPorts__9__viewport: '(min-width: 30px)', MediaOptions__ImageViewPorts__9__imageWidth: 'wide', MediaOptions__ImageViewPorts__9__imageHeight: '30' },
      }),
    );
    expect(problems).toEqual([
      'MediaOptions.ImageViewPorts.7.imageWidth is required: the width in pixels of the image for this viewport, from 1 to 10000',
      'MediaOptions.ImageViewPorts.7.imageHeight must be at least 1',
      'MediaOptions.ImageViewPorts.8.imageHeight is required: the height in pixels of the image for this viewport, from 1 to 10000',
      'MediaOptions.ImageViewPorts.9.imageWidth must be a whole number',
    ]);
  });

  test('named viewports order ignoring case, and app settings naming one entry in two cases set one entry (as .NET configuration does)', () => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as Record<string, Record<string, unknown>>;
    const viewPort = (width: number, useForDefaultImageTag = false) => ({ viewport: `(min-width: ${width}px)`, imageWidth: width, imageHeight: width, useForDefaultImageTag });
    const named = writeSettings({ ...shipped, MediaOptions: { ...shipped.MediaOptions, ImageViewPorts: { desktop: viewPort(900, true), Phone: viewPort(300) } } });
    expect(loadSettings({ settingsPath: named, env: completeEnv }).media.viewPorts.map((v) => v.width)).toEqual([900, 300]);
    const settings = loadSettings({
      settingsPath: shippedSettings,
      env: { ...completeEnv, MediaOptions__ImageViewPorts__Tablet__viewport: '(min-width: 400px)', MediaOptions__ImageViewPorts__Tablet__imageWidth: '400', MediaOptions__ImageViewPorts__tablet__imageHeight: '400' },
    });
    expect(settings.media.viewPorts.map((v) => v.width)).toEqual([300, 600, 400]);
  });

  test('an app setting naming a viewport "length" is an entry like any name, never the file\'s array length', () => {
    const entry = (name: string) => ({ [`MediaOptions__ImageViewPorts__${name}__viewport`]: '(min-width: 400px)', [`MediaOptions__ImageViewPorts__${name}__imageWidth`]: '400', [`MediaOptions__ImageViewPorts__${name}__imageHeight`]: '400' });
    for (const name of ['length', 'Length']) {
      expect(loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, ...entry(name) } }).media.viewPorts.map((v) => v.width)).toEqual([300, 600, 400]);
    }
    // A bare value there is a problem named, not a lost viewport or a crash.
    const problems = configurationProblems(() => loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, MediaOptions__ImageViewPorts__length: '1' } }));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.startsWith('MediaOptions.ImageViewPorts.length.'))).toBe(true);
  });

  test.each([
    ['a list', ['https://contoso.vault.azure.net']],
    ['a string', 'https://contoso.vault.azure.net'],
    ['a number', 5],
  ])('a section the file gives as %s is a problem named, with or without an app setting under it', (kind, value) => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as Record<string, unknown>;
    const path = writeSettings({ ...shipped, KeyVaultOptions: value });
    const problem = `KeyVaultOptions must be an object of properties, not ${kind}`;
    expect(configurationProblems(() => loadSettings({ settingsPath: path, env: completeEnv }))).toEqual([problem]);
    expect(configurationProblems(() => loadSettings({ settingsPath: path, env: { ...completeEnv, KeyVaultOptions__KeyVaultURI: 'https://contoso.vault.azure.net', KeyVaultOptions__length: '-1' } }))).toEqual([problem]);
    // One problem for the section, not one for each property it then lacks.
    const retail = writeSettings({ ...shipped, RetailServerClientOptions: value });
    expect(configurationProblems(() => loadSettings({ settingsPath: retail, env: {} }))).toContain(`RetailServerClientOptions must be an object of properties, not ${kind}`);
    expect(configurationProblems(() => loadSettings({ settingsPath: retail, env: {} })).filter((p) => p.startsWith('RetailServerClientOptions.'))).toEqual([]);
  });

  test('a section the file gives as null reads as empty, as .NET reads it: app settings fill it', () => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as Record<string, unknown>;
    const path = writeSettings({ ...shipped, KeyVaultOptions: null });
    expect(loadSettings({ settingsPath: path, env: { ...completeEnv, KeyVaultOptions__KeyVaultURI: 'https://contoso.vault.azure.net' } }).keyVault.uri).toBe('https://contoso.vault.azure.net');
  });

  test('a number where the sample has text (an unquoted "ApiVersion": 7.3, a numeric DatabaseId) is read as its text', () => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as Record<string, Record<string, unknown>>;
    const path = writeSettings({
      ...shipped,
      RetailServerClientOptions: { ...shipped.RetailServerClientOptions, ApiVersion: 7.3 },
      AzureCosmosOptions: { ...shipped.AzureCosmosOptions, DatabaseId: 2026 },
    });
    const settings = loadSettings({ settingsPath: path, env: completeEnv });
    expect([settings.retail.apiVersion, settings.cosmos.databaseId]).toEqual(['7.3', '2026']);
  });

  test('every bad value is reported at once, with what is expected', () => {
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: {
          ...completeEnv,
          RetailServerClientOptions__PageSize: '5000',
          RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '5',
          RetailServerClientOptions__IncludeAnonymous: 'maybe',
          RetailServerClientOptions__MaxRunMinutes: '0',
          RetailServerClientOptions__RetailServerUrl: 'not a url',
          AzureCosmosOptions__TimeToLiveDays: 'ninety',
          EmarsysClientOptions__AuthMode: 'basic',
        },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'RetailServerClientOptions.PageSize must be at most 1000',
        'RetailServerClientOptions.IncludeAnonymous must be true or false',
        'RetailServerClientOptions.MaxRunMinutes must be at least 0.01',
        expect.stringMatching(/^RetailServerClientOptions\.RetailServerUrl must be an absolute http\(s\) URL/),
        'AzureCosmosOptions.TimeToLiveDays must be a whole number',
        'EmarsysClientOptions.AuthMode must be "wsse" or "oauth2"',
        // Checks across fields run too, though other fields of the section failed.
        'RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes must be greater than ExcludeAbandonedCartsModifiedSinceLastMinutes (10)',
      ]),
    );
  });

  test("a check across fields is reported beside the section's other problems, not after they are fixed", () => {
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: {
          ...completeEnv,
          EmarsysClientOptions__ExternalEventId: '',
          EmarsysClientOptions__ApiUserNameKeyVaultSecretName: ' ',
          EmarsysClientOptions__ApiUrl: 'https://api.emarsys.net/api/v2/event/trigger',
          MediaOptions__ImageViewPorts__0__useForDefaultImageTag: 'true',
          MediaOptions__ImageViewPorts__0__imageWidth: 'wide',
        },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^EmarsysClientOptions\.ExternalEventId is required/),
        expect.stringMatching(/^EmarsysClientOptions\.ApiUserNameKeyVaultSecretName is required when AuthMode is "wsse"/),
        'EmarsysClientOptions.ApiUrl must contain {0}, where the external event id goes',
        'MediaOptions.ImageViewPorts may mark at most one viewport with useForDefaultImageTag',
        'MediaOptions.ImageViewPorts.0.imageWidth must be a whole number',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  test('an AuthMode that does not parse asks for no secret names of its own', () => {
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, EmarsysClientOptions__AuthMode: 'basic', EmarsysClientOptions__ApiUserNameKeyVaultSecretName: '' },
      }),
    );
    expect(problems).toEqual(['EmarsysClientOptions.AuthMode must be "wsse" or "oauth2"']);
  });

  test('the message says which file was read, or that none was, and how to set a property', () => {
    const nowhere = mkdtempSync(join(tmpdir(), 'no-settings-'));
    const error = (() => {
      try {
        loadSettings({ baseDirectory: nowhere, env: {} });
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('expected a ConfigurationError');
    })();
    expect(error.message).toContain(`No appSettings.json in ${nowhere}, so only the environment was read`);
    expect(error.message).toMatch(/as an environment variable \(app setting\) named Section__Property, e\.g\. RetailServerClientOptions__TenantId\.$/);
    expect(() => loadSettings({ settingsPath: shippedSettings, env: {} })).toThrow(`Read ${shippedSettings} and the environment.`);
  });

  test('Include must be greater than Exclude', () => {
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, RetailServerClientOptions__IncludeAbandonedCartsModifiedSinceLastMinutes: '10' },
      }),
    );
    expect(problems).toEqual([
      'RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes must be greater than ExcludeAbandonedCartsModifiedSinceLastMinutes (10)',
    ]);
  });

  test('oauth2 needs its own secret names and moves the default API URL to v3', () => {
    const settings = loadSettings({ settingsPath: shippedSettings, env: { ...completeEnv, EmarsysClientOptions__AuthMode: 'OAuth2' } });
    expect(settings.emarsys.authMode).toBe('oauth2');
    expect(settings.emarsys.apiUrl).toBe('https://api.emarsys.net/api/v3/event/{0}/trigger');
    const problems = configurationProblems(() =>
      loadSettings({
        settingsPath: shippedSettings,
        env: { ...completeEnv, EmarsysClientOptions__AuthMode: 'oauth2', EmarsysClientOptions__ClientIdKeyVaultSecretName: '' },
      }),
    );
    expect(problems).toEqual([expect.stringMatching(/^EmarsysClientOptions\.ClientIdKeyVaultSecretName is required when AuthMode is "oauth2"/)]);
  });

  test('a file saved with a byte-order mark, as UTF-8 or UTF-16 (Windows PowerShell 5.1\'s > and Out-File write UTF-16, so can Notepad), and with CRLF line ends is read, as .NET reads it', () => {
    const shipped = JSON.parse(readFileSync(shippedSettings, 'utf8')) as { RetailServerClientOptions: Record<string, unknown> };
    shipped.RetailServerClientOptions.PageSize = 250;
    const text = JSON.stringify(shipped, null, 2).replace(/\n/g, '\r\n');
    const saved = {
      'UTF-8 with BOM': Buffer.from(`\uFEFF${text}`, 'utf8'),
      'UTF-16 LE': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
      'UTF-16 BE': Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]),
    };
    for (const [encoding, bytes] of Object.entries(saved)) {
      const path = writeSettings('');
      writeFileSync(path, bytes);
      expect([encoding, loadSettings({ settingsPath: path, env: completeEnv }).retail.pageSize]).toEqual([encoding, 250]);
    }
  });

  test('comments and trailing commas, which .NET\'s JSON configuration takes, are read as it reads them', () => {
    // The shipped file, as someone may have annotated it for the sample.
    const shipped = readFileSync(shippedSettings, 'utf8');
    const annotated = `// Written for the sample: .NET skips comments and takes trailing commas.\n${shipped}`
      .replace('"PageSize": 100,', '"PageSize": 250, /* a page of carts */')
      .replace('"ReturnToCartUrl": "",', '"ReturnToCartUrl": "https://shop.example/cart?id={cartId} // not a comment inside a string",')
      .replace(/\}(\s*)\}\s*$/, '},$1}\n');
    expect(annotated).not.toBe(shipped);
    const path = writeSettings(annotated);
    const { RetailServerClientOptions__ReturnToCartUrl: _fromFile, ...env } = completeEnv;
    const settings = loadSettings({ settingsPath: path, env });
    expect([settings.retail.pageSize, settings.retail.returnToCartUrl]).toEqual([250, 'https://shop.example/cart?id={cartId} // not a comment inside a string']);
  });

  test('as .NET reads it: a value given twice (in any case) is refused by its key, a section given twice is merged', () => {
    const shipped = readFileSync(shippedSettings, 'utf8');
    // Two PageSize values, the second spelled in another case: .NET refuses the file ("A duplicate key").
    const twice = writeSettings(shipped.replace('"PageSize": 100,', '"PageSize": 100, "pageSize": 250,'));
    expect(configurationProblems(() => loadSettings({ settingsPath: twice, env: completeEnv }))).toEqual([
      expect.stringMatching(/: is not valid JSON \(a duplicate key "RetailServerClientOptions:pageSize" was found \(\.NET refuses it too\)\)$/),
    ]);
    // A section given again, with other properties: .NET merges the two; JSON.parse kept only the last.
    const merged = writeSettings(shipped.replace('"PageSize": 100,', '').replace('"MaxConcurrency": 4,', '"MaxConcurrency": 6,').replace(/\}(\s*)\}\s*$/, '},$1"RetailServerClientOptions": { "PageSize": 250 }\n}\n'));
    const settings = loadSettings({ settingsPath: merged, env: completeEnv });
    expect([settings.retail.pageSize, settings.retail.maxConcurrency]).toEqual([250, 6]);
  });

  test('a broken settings file names the file, and where it breaks', () => {
    const path = writeSettings('{\n  "KeyVaultOptions": \n');
    expect(configurationProblems(() => loadSettings({ settingsPath: path, env: {} }))).toEqual([
      expect.stringMatching(new RegExp(`^settings file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is not valid JSON \\(ValueExpected at line 3, column 1\\)$`)),
    ]);
    expect(configurationProblems(() => loadSettings({ settingsPath: join(tmpdir(), 'nope', 'appSettings.json'), env: {} }))[0]).toMatch(
      /cannot be read \(ENOENT\)/,
    );
  });

  test('the Commerce base gets /Commerce appended only when missing', () => {
    expect(normalizeRetailServerUrl('https://x.example.com')).toBe('https://x.example.com/Commerce');
    expect(normalizeRetailServerUrl('https://x.example.com/')).toBe('https://x.example.com/Commerce');
    expect(normalizeRetailServerUrl('https://x.example.com/Commerce/')).toBe('https://x.example.com/Commerce');
    expect(normalizeRetailServerUrl('https://x.example.com/commerce')).toBe('https://x.example.com/commerce');
  });
});

describe('local.settings.sample.json', () => {
  const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };

  test('names every property of every section, and nothing else', () => {
    const sampleProperties = new Set(
      Object.keys(sample.Values)
        // The Functions host's own settings (the Node worker's flags) are not the connector's.
        .filter((key) => key.includes('__') && !key.startsWith('languageWorkers__'))
        .map((key) => key.split('__').slice(0, 2).join('.')),
    );
    const schemaProperties = Object.entries(sectionSchemas).flatMap(([section, { schema }]) =>
      Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape).map((property) => `${section}.${property}`),
    );
    expect([...sampleProperties].sort()).toEqual(schemaProperties.sort());
  });

  test("sets the Node worker's heap growing factor that keeps its memory flat (README, Deploying), a flag this Node accepts", () => {
    const flags = (sample.Values.languageWorkers__node__arguments ?? '').split(' ');
    expect(flags).toEqual(['--heap-growing-percent=75']);
    // Node refuses to start on a V8 flag its V8 does not know: the worker would not start.
    const started = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect({ status: started.status, stderr: started.stderr }).toEqual({ status: 0, stderr: '' });
    expect(spawnSync(process.execPath, ['--heap-growing-percentage=75', '-e', 'process.exit(0)']).status).not.toBe(0);
  });

  test('is valid once its placeholders are filled in', () => {
    const filled = Object.fromEntries(
      Object.entries(sample.Values).map(([key, value]) => [key, value.replace(/<your-[a-z-]+>/g, 'x1').replace(/^<[^>]*>$/, 'secret')]),
    );
    const settings = loadSettings({ baseDirectory: tmpdir(), env: filled });
    expect(settings.retail.baseUrl).toBe('https://x1/Commerce');
    expect(settings.media.viewPorts).toHaveLength(2);
  });
});

test('the standard viewports used in code are the shipped appSettings.json ones', () => {
  const fromFile = loadSettings({ settingsPath: shippedSettings, env: completeEnv }).media.viewPorts;
  const withoutViewPorts = writeSettings({ ...JSON.parse(readFileSync(shippedSettings, 'utf8')), MediaOptions: {} });
  const fromCode = loadSettings({ settingsPath: withoutViewPorts, env: { ...completeEnv, ...STANDARD_VIEW_PORTS_ENV } }).media.viewPorts;
  expect(fromCode).toEqual(fromFile);
});
