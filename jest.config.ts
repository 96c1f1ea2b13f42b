import type { Config } from 'jest';
import { createTestTls, TLS_DIR_VARIABLE } from './tests/support/test-tls';

export default async (): Promise<Config> => {
  // The stand-in servers speak HTTPS with a certificate made here; the workers inherit this
  // environment, so Node (fetch, https) trusts it exactly as it would trust a real CA.
  const tls = await createTestTls();
  process.env[TLS_DIR_VARIABLE] = tls.dir;
  process.env.NODE_EXTRA_CA_CERTS = tls.certPath;
  return {
    preset: 'ts-jest',
    testEnvironment: 'node',
    roots: ['<rootDir>/tests'],
    testMatch: ['**/*.test.ts'],
    // Always run tests in worker processes, so they start with NODE_EXTRA_CA_CERTS set.
    workerIdleMemoryLimit: '1GB',
    maxWorkers: 2,
    testTimeout: 60_000,
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  };
};
