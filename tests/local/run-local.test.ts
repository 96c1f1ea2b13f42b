import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closingNotes, runLocal, type LocalRunOptions } from '../../src/local/run-local';
import { silentLogger } from '../../src/shared/logger';
import { startEmarsysStandIn } from '../../src/simulators/emarsys';
import { testTls } from '../support/test-tls';

/** `npm run local` in-process: the seeded store, the image server, the embedded Cosmos DB server and the preview. */
/** The appSettings.json `--provider emarsys` reads: the stand-in's trigger URL, event 99, secrets from the environment. */
function writeEmarsysSettings(path: string, apiUrl: string): void {
  writeFileSync(path, JSON.stringify({ EmarsysClientOptions: { ApiUrl: apiUrl, ExternalEventId: '99', ApiUserNameKeyVaultSecretName: 'EmarsysUser', ApiSecretKeyVaultSecretName: 'EmarsysSecret' } }));
}

describe('the local run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-run-'));
  const lines: string[] = [];
  const options = (extra: Partial<LocalRunOptions> = {}): LocalRunOptions => ({
    stateDir: join(dir, 'state'),
    outDir: join(dir, 'emails'),
    reset: false,
    provider: 'preview',
    env: {},
    tls: testTls(),
    logger: silentLogger,
    announce: (line) => lines.push(line),
    ...extra,
  });
  const emails = () => readdirSync(join(dir, 'emails')).filter((name) => name.endsWith('.html') && name !== 'index.html');

  test('writes a preview per reminder and an index; a second run sends nothing new; --reset starts over', async () => {
    const first = await runLocal(options());
    expect(first.report.status).toBe('completed');
    expect(first.report.carts.notified).toBeGreaterThanOrEqual(20);
    expect(first.report.carts.skippedByReason).toMatchObject({ superseded: expect.any(Number), 'customer-without-email': expect.any(Number) });
    expect(emails()).toHaveLength(first.report.carts.notified);
    expect(first.indexPath).toBe(join(dir, 'emails', 'index.html'));
    const index = readFileSync(first.indexPath as string, 'utf8');
    for (const email of emails()) expect(index).toContain(email);
    expect(lines.join('\n')).toMatch(/Store \(as of .*\): \d+ products, \d+ customers/);
    // The emails show copies of their pictures, since the image server stops with the run; the
    // payloads keep the URLs a provider would get.
    const email = readFileSync(join(dir, 'emails', emails()[0] as string), 'utf8');
    const sources = [...email.matchAll(/(?:src|srcset)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(source).toMatch(/^images\/[0-9a-f]{32}\.(jpg|png)$/);
      expect(existsSync(join(dir, 'emails', source))).toBe(true);
    }
    const payload = readFileSync(join(dir, 'emails', (emails()[0] as string).replace(/\.html$/, '.json')), 'utf8');
    expect(payload).toMatch(/"url": "http:\/\/127\.0\.0\.1:\d+\/cms\/imageFileData\/search\?fileName=/);
    expect(existsSync(join(dir, 'state', 'cosmos-ledger.json'))).toBe(true);

    const second = await runLocal(options());
    expect(second.report.window.source).toBe('checkpoint');
    expect(second.report.carts.notified).toBe(0);
    expect(closingNotes(second.report).join('\n')).toMatch(/^Nothing new to send/);
    expect(emails()).toHaveLength(first.report.carts.notified);
    expect(lines.join('\n')).toMatch(/Ledger: embedded Cosmos DB server, [1-9]\d* documents loaded/);

    const reset = await runLocal(options({ reset: true }));
    expect(reset.report.carts.notified).toBe(first.report.carts.notified);
  });

  test('--provider emarsys sends through Emarsys with the settings of appSettings.json and the environment', async () => {
    const emarsys = await startEmarsysStandIn({ auth: { mode: 'wsse', userName: 'local-user', secret: 'local-secret' } });
    try {
      const stateDir = join(dir, 'emarsys-state');
      const settingsPath = join(dir, 'appSettings.emarsys.json');
      writeEmarsysSettings(settingsPath, emarsys.apiUrlTemplate);
      const result = await runLocal(
        options({ stateDir, outDir: join(dir, 'unused-emails'), provider: 'emarsys', settingsPath, env: { EmarsysUser: 'local-user', EmarsysSecret: 'local-secret' } }),
      );
      expect(result.report.carts.notified).toBeGreaterThanOrEqual(20);
      expect(emarsys.deliveries).toHaveLength(result.report.carts.notified);
      expect(new Set(emarsys.requests.filter((r) => r.kind === 'trigger').map((r) => r.eventId))).toEqual(new Set(['99']));
      expect(result.indexPath).toBeUndefined();
    } finally {
      await emarsys.close();
    }
  });

  test('--provider emarsys whose credentials Emarsys refuses: the carts failed, and the run does not say that an earlier run handled them', async () => {
    const emarsys = await startEmarsysStandIn({ auth: { mode: 'wsse', userName: 'local-user', secret: 'local-secret' } });
    try {
      const settingsPath = join(dir, 'appSettings.refused.json');
      writeEmarsysSettings(settingsPath, emarsys.apiUrlTemplate);
      const result = await runLocal(
        options({ stateDir: join(dir, 'refused-state'), outDir: join(dir, 'unused-emails-refused'), provider: 'emarsys', settingsPath, env: { EmarsysUser: 'local-user', EmarsysSecret: 'not-the-secret' } }),
      );
      expect(result.report.status).toBe('completed');
      expect(result.report.carts.notified).toBe(0);
      expect(result.report.carts.failed).toBeGreaterThanOrEqual(20);
      expect(closingNotes(result.report).join('\n')).not.toMatch(/Nothing new to send|handled by an earlier run/);
    } finally {
      await emarsys.close();
    }
  });

  test('--provider emarsys against a store seeded an hour ago (an earlier run) sends: Emarsys gets the real time in the WSSE header, not the store\'s moment', async () => {
    const emarsys = await startEmarsysStandIn({ auth: { mode: 'wsse', userName: 'local-user', secret: 'local-secret' } });
    try {
      const stateDir = join(dir, 'hour-old-state');
      mkdirSync(stateDir, { recursive: true });
      // The store's moment, from the first run an hour ago; its carts are not all sent (here, none).
      writeFileSync(join(stateDir, 'store.json'), JSON.stringify({ seededAt: new Date(Date.now() - 3_600_000).toISOString(), seed: 20261123 }));
      const settingsPath = join(dir, 'appSettings.hour-old.json');
      writeEmarsysSettings(settingsPath, emarsys.apiUrlTemplate);
      const result = await runLocal(
        options({ stateDir, outDir: join(dir, 'unused-emails-hour-old'), provider: 'emarsys', settingsPath, env: { EmarsysUser: 'local-user', EmarsysSecret: 'local-secret' } }),
      );
      // Refused as a wrong secret or clock (WSSE Created an hour old), then, with only that fixed,
      // as past the run's time limit (the job's deadline read on the provider's real clock).
      expect(result.report.failures).toEqual([]);
      expect(result.report.carts.notified).toBeGreaterThanOrEqual(20);
      expect(emarsys.deliveries).toHaveLength(result.report.carts.notified);
    } finally {
      await emarsys.close();
    }
  });

  test('--provider emarsys with a settings file spelling its sections in another case: the stand-ins still replace Retail Server and Cosmos DB', async () => {
    const emarsys = await startEmarsysStandIn({ auth: { mode: 'wsse', userName: 'local-user', secret: 'local-secret' } });
    try {
      const settingsPath = join(dir, 'appSettings.lowercase.json');
      writeFileSync(
        settingsPath,
        JSON.stringify({
          emarsysClientOptions: { ApiUrl: emarsys.apiUrlTemplate, ExternalEventId: '99', ApiUserNameKeyVaultSecretName: 'EmarsysUser', ApiSecretKeyVaultSecretName: 'EmarsysSecret' },
          // The deployment's own Retail Server: a local run must not call it.
          retailServerClientOptions: { RetailServerUrl: 'https://csu.contoso.invalid/Commerce', OperatingUnitNumber: '999' },
        }),
      );
      const result = await runLocal(
        options({ stateDir: join(dir, 'lowercase-state'), outDir: join(dir, 'unused-emails-2'), provider: 'emarsys', settingsPath, env: { EmarsysUser: 'local-user', EmarsysSecret: 'local-secret' } }),
      );
      expect(result.report.status).toBe('completed');
      expect(result.report.carts.notified).toBeGreaterThanOrEqual(20);
      expect(emarsys.deliveries).toHaveLength(result.report.carts.notified);
    } finally {
      await emarsys.close();
    }
  });

  test('--provider emarsys with an Emarsys section given as a list: named as such, not as its properties missing', async () => {
    const settingsPath = join(dir, 'appSettings.list.json');
    writeFileSync(settingsPath, JSON.stringify({ EmarsysClientOptions: [{ ExternalEventId: '99' }] }));
    await expect(runLocal(options({ stateDir: join(dir, 'list-state'), provider: 'emarsys', settingsPath }))).rejects.toThrow(/EmarsysClientOptions must be an object of properties, not a list/);
  });

  test('--provider emarsys with one section spelled twice: the first spelling is read, with its app-setting override, as the deployment reads it', async () => {
    const emarsys = await startEmarsysStandIn({ auth: { mode: 'wsse', userName: 'local-user', secret: 'local-secret' } });
    try {
      const settingsPath = join(dir, 'appSettings.twice.json');
      writeFileSync(
        settingsPath,
        JSON.stringify({
          EmarsysClientOptions: { ApiUrl: 'https://api.emarsys.invalid/api/v2/event/{0}/trigger', ExternalEventId: '99', ApiUserNameKeyVaultSecretName: 'EmarsysUser', ApiSecretKeyVaultSecretName: 'EmarsysSecret' },
          emarsysClientOptions: { MaxSendAttempts: 3 },
        }),
      );
      const env = { EmarsysUser: 'local-user', EmarsysSecret: 'local-secret', EmarsysClientOptions__ApiUrl: emarsys.apiUrlTemplate };
      const result = await runLocal(options({ stateDir: join(dir, 'twice-state'), outDir: join(dir, 'unused-emails-3'), provider: 'emarsys', settingsPath, env }));
      expect(result.report.status).toBe('completed');
      expect(new Set(emarsys.requests.filter((r) => r.kind === 'trigger').map((r) => r.eventId))).toEqual(new Set(['99']));
    } finally {
      await emarsys.close();
    }
  });
});
