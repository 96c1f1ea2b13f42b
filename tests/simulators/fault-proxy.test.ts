import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { listen, readBody, type RunningServer } from '../../src/simulators/http-server';
import { startFaultProxy, type FaultProxy } from '../../src/simulators/fault-proxy';
import { seededRandom } from '../../src/simulators/fault-rules';
import { testTls } from '../support/test-tls';

/** What the upstream saw, echoed back, plus its own origin (for the rewriting test). */
interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  self: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so the test sees exactly what a client would: status, headers, body or a socket error. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const target = new URL(url);
  const call = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = call(target, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
      response.on('aborted', () => reject(new Error('aborted')));
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

async function startEcho(tls?: { key: string; cert: string }): Promise<RunningServer> {
  let origin = '';
  const server = await listen(
    async (request, response) => {
      const body = await readBody(request);
      const echo: Echo = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body, self: origin };
      const text = JSON.stringify(echo);
      response.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'echo', Location: `${origin}/elsewhere` });
      response.end(text);
    },
    { tls },
  );
  origin = server.origin;
  return server;
}

describe('fault proxy', () => {
  let upstream: RunningServer;
  let proxy: FaultProxy;

  afterEach(async () => {
    await proxy.close();
    await upstream.close();
  });

  describe('forwarding', () => {
    beforeEach(async () => {
      upstream = await startEcho();
      proxy = await startFaultProxy({ upstream: upstream.origin });
    });

    test('passes method, path, query, headers and body through, and the answer back', async () => {
      const body = JSON.stringify({ unicode: 'Grüße, 東京', n: 1 });
      const answer = await send(`${proxy.url}/api/v2/event/4711/trigger?x=1&$top=5`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-WSSE': 'UsernameToken Username="u"', Authorization: 'Bearer abc' },
        body,
      });
      const echo = JSON.parse(answer.body) as Echo;
      expect(answer.status).toBe(200);
      expect(answer.headers['x-upstream']).toBe('echo');
      expect(echo).toMatchObject({ method: 'POST', url: '/api/v2/event/4711/trigger?x=1&$top=5', body });
      expect(echo.headers).toMatchObject({ 'x-wsse': 'UsernameToken Username="u"', authorization: 'Bearer abc', 'content-type': 'application/json' });
      expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(body)));
      expect(proxy.stats()).toMatchObject({ requests: 1, forwarded: 1, injectedTotal: 0 });
    });

    test('writes its own origin where the upstream names itself (body and Location), so clients stay behind it', async () => {
      const answer = await send(`${proxy.url}/`);
      const echo = JSON.parse(answer.body) as Echo;
      expect(echo.self).toBe(proxy.url);
      expect(answer.headers.location).toBe(`${proxy.url}/elsewhere`);
      expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
    });

    test('an upstream that cuts the connection is seen as a cut connection', async () => {
      await upstream.close();
      await expect(send(`${proxy.url}/`)).rejects.toThrow();
    });
  });

  describe('over TLS both ways', () => {
    test('terminates TLS with the test certificate and speaks TLS to the upstream', async () => {
      const tls = testTls();
      upstream = await startEcho(tls);
      proxy = await startFaultProxy({ upstream: upstream.origin, tls });
      expect(proxy.url).toMatch(/^https:/);
      const answer = await send(`${proxy.url}/dbs?x=1`, { method: 'POST', body: '{}' });
      expect(answer.status).toBe(200);
      expect((JSON.parse(answer.body) as Echo).self).toBe(proxy.url);
    });
  });

  describe('faults', () => {
    beforeEach(async () => {
      upstream = await startEcho();
      proxy = await startFaultProxy({ upstream: upstream.origin });
    });

    test('status: answers without forwarding, with the given headers and body; `times` bounds it', async () => {
      proxy.inject({ method: 'POST', path: /trigger/, times: 1, fault: { kind: 'status', status: 429, headers: { 'Retry-After': '7' }, body: '{"replyCode":7003}' } });
      const first = await send(`${proxy.url}/trigger`, { method: 'POST', body: '{}' });
      expect(first).toMatchObject({ status: 429, body: '{"replyCode":7003}' });
      expect(first.headers['retry-after']).toBe('7');
      const second = await send(`${proxy.url}/trigger`, { method: 'POST', body: '{}' });
      expect(second.status).toBe(200);
      expect(proxy.stats()).toMatchObject({ requests: 2, forwarded: 1, injectedTotal: 1, injected: { status: 1 } });
    });

    test('status with forward: the upstream does the work, the client gets the error', async () => {
      proxy.inject({ times: 1, fault: { kind: 'status', status: 503, forward: true } });
      expect((await send(`${proxy.url}/x`)).status).toBe(503);
      expect(proxy.stats().forwarded).toBe(1);
    });

    test('reset before forwarding, after forwarding, and in the middle of the body: the client sees a cut connection', async () => {
      for (const when of ['before-forward', 'after-forward', 'mid-body'] as const) {
        proxy.inject({ times: 1, fault: { kind: 'reset', when } });
        await expect(send(`${proxy.url}/x`)).rejects.toThrow();
      }
      expect(proxy.stats()).toMatchObject({ forwarded: 2, injected: { reset: 3 } });
    });

    test('truncate: a complete HTTP message whose body is the first half of the real one', async () => {
      const whole = await send(`${proxy.url}/x`);
      proxy.inject({ times: 1, fault: { kind: 'truncate' } });
      const cut = await send(`${proxy.url}/x`);
      expect(cut.status).toBe(200);
      expect(cut.body).toBe(whole.body.slice(0, Math.floor(Buffer.byteLength(whole.body) / 2)));
      expect(() => JSON.parse(cut.body) as unknown).toThrow();
    });

    test('malformed JSON: 200 with a JSON content type and a body that does not parse', async () => {
      proxy.inject({ times: 1, fault: { kind: 'malformed-json' } });
      const answer = await send(`${proxy.url}/x`);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toMatch(/application\/json/);
      expect(() => JSON.parse(answer.body) as unknown).toThrow();
    });

    test('hang: no answer; with releaseAfterMs the connection is cut then', async () => {
      proxy.inject({ times: 1, fault: { kind: 'hang', releaseAfterMs: 30 } });
      await expect(send(`${proxy.url}/x`)).rejects.toThrow();
      proxy.inject({ times: 1, fault: { kind: 'hang' } });
      const pending = send(`${proxy.url}/x`);
      const outcome = await Promise.race([pending.then(() => 'answered', () => 'failed'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 100))]);
      expect(outcome).toBe('still waiting');
      // Closing the proxy ends the hung connection.
      await proxy.close();
      await expect(pending).rejects.toThrow();
    });

    test('slow and latency: the answer comes, later', async () => {
      proxy.inject({ times: 1, fault: { kind: 'slow', delayMs: 60 } });
      let started = Date.now();
      expect((await send(`${proxy.url}/x`)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
      proxy.setLatency(40);
      started = Date.now();
      expect((await send(`${proxy.url}/x`)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    });

    test('skip lets the first matches through; before runs first; remove and clear withdraw rules', async () => {
      const seen: string[] = [];
      const rule = proxy.inject({ path: /^\/a/, skip: 1, times: 1, before: (request) => void seen.push(request.url), fault: { kind: 'status', status: 500 } });
      expect((await send(`${proxy.url}/a?1`)).status).toBe(200);
      expect((await send(`${proxy.url}/b`)).status).toBe(200);
      expect((await send(`${proxy.url}/a?2`)).status).toBe(500);
      expect(seen).toEqual(['/a?2']);
      expect({ matched: rule.matched, fired: rule.fired }).toEqual({ matched: 2, fired: 1 });
      const other = proxy.inject({ fault: { kind: 'status', status: 502 } });
      other.remove();
      proxy.inject({ fault: { kind: 'status', status: 503 } });
      proxy.clear();
      expect((await send(`${proxy.url}/c`)).status).toBe(200);
    });

    test('probability: the same seed injects the same faults into the same requests', async () => {
      const pattern = async (seed: number): Promise<number[]> => {
        await proxy.close();
        proxy = await startFaultProxy({ upstream: upstream.origin, seed });
        proxy.inject({ probability: 0.5, fault: { kind: 'status', status: 503 } });
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) statuses.push((await send(`${proxy.url}/x`)).status);
        return statuses;
      };
      const first = await pattern(42);
      expect(await pattern(42)).toEqual(first);
      expect(first.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(first.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(await pattern(7)).not.toEqual(first);
    });
  });

  test('seededRandom is deterministic and within [0, 1)', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const values = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
  });
});
