import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testTls } from './test-tls';

test('the test certificate is trusted by fetch in the worker', async () => {
  const tls = testTls();
  const server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`https://127.0.0.1:${port}/`);
    expect(await response.text()).toBe('ok');
  } finally {
    server.close();
  }
});
