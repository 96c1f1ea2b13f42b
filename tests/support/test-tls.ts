import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalTls } from '../../src/local/tls';

/**
 * One self-signed certificate for 127.0.0.1 and localhost, made for the test run. jest.config.ts
 * creates it and points NODE_EXTRA_CA_CERTS at it before the test workers start, so the real
 * MSAL, Key Vault and Cosmos clients verify TLS against the local stand-ins as they would in Azure.
 */
export interface TestTls {
  key: string;
  cert: string;
  certPath: string;
}

export const TLS_DIR_VARIABLE = 'ABANDONED_CARTS_TEST_TLS_DIR';

export async function createTestTls(): Promise<{ dir: string; certPath: string }> {
  const dir = join(tmpdir(), `abandoned-carts-test-tls-${process.pid}`);
  const { certPath } = await ensureLocalTls(dir);
  return { dir, certPath };
}

/** The certificate and key the stand-in servers use (inside a test worker). */
export function testTls(): TestTls {
  const dir = process.env[TLS_DIR_VARIABLE];
  if (!dir) throw new Error(`${TLS_DIR_VARIABLE} is not set: run the tests through jest (jest.config.ts makes the certificate).`);
  return {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    certPath: join(dir, 'cert.pem'),
  };
}
