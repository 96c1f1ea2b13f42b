import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/**
 * A certificate for 127.0.0.1 and localhost. The local stand-ins that must speak HTTPS (the token
 * endpoint, because MSAL refuses plain-HTTP authorities; the embedded Cosmos DB server, because the
 * Cosmos client always uses TLS) present it, and Node trusts it through NODE_EXTRA_CA_CERTS, so
 * the real clients verify TLS exactly as they do in Azure.
 */
export interface LocalTls {
  key: string;
  cert: string;
  certPath: string;
}

export async function generateLocalhostCertificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** The certificate in `dir` (key.pem, cert.pem), made on first use and kept, so it is trusted once. */
export async function ensureLocalTls(dir: string): Promise<LocalTls> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    mkdirSync(dir, { recursive: true });
    const { key, cert } = await generateLocalhostCertificate();
    writeFileSync(keyPath, key, { mode: 0o600 });
    writeFileSync(certPath, cert);
  }
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
}
