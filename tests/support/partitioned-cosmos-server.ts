import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createHttpsServer } from '@vercel/cosmosdb-server';
import { answerMinimallyWhenAsked } from '../../src/simulators/cosmos-minimal-response';
import { isBulkRequest, takeOverRequests } from '../../src/simulators/cosmos-throttle';
import { testTls } from './test-tls';
import { EMULATOR_KEY } from './cosmos-server';

/**
 * The embedded server, reporting two partition key ranges (a container with two physical
 * partitions, as any container above 10,000 RU/s or 50 GB has): the SDK then splits every bulk
 * call into one request per range, in parallel. The stand-in ignores the range header and serves
 * every request itself. `fault` may answer a bulk request for one range differently.
 */
export type RangeFault = (rangeId: string, req: IncomingMessage, res: ServerResponse, serve: () => void) => boolean;

export async function startTwoRangeServer(): Promise<{ endpoint: string; key: string; setFault(f: RangeFault | undefined): void; close(): Promise<void> }> {
  const tls = testTls();
  const server: Server = createHttpsServer({ key: tls.key, cert: tls.cert });
  const standIn = takeOverRequests(server);
  const sockets = new Set<Socket>();
  let fault: RangeFault | undefined;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && path.endsWith('/pkranges')) {
      const end = res.end.bind(res) as (chunk: string) => ServerResponse;
      res.end = ((chunk: unknown) => {
        const body = JSON.parse(String(chunk)) as { PartitionKeyRanges: Record<string, unknown>[] };
        const [only] = body.PartitionKeyRanges;
        if (only) {
          // Split so that both hash versions' keys fall on two ranges: version 1 keys start 05C1D/05C1E,
          // version 2 keys fall in 00-3F.
          body.PartitionKeyRanges = [
            { ...only, id: '1', minInclusive: '', maxExclusive: '05C1E0' },
            { ...only, id: '2', minInclusive: '05C1E0', maxExclusive: '20' },
            { ...only, id: '3', minInclusive: '20', maxExclusive: 'FF' },
          ];
          (body as unknown as { _count: number })._count = 3;
        }
        return end(JSON.stringify(body));
      }) as typeof res.end;
      standIn(req, res);
      return;
    }
    answerMinimallyWhenAsked(req, res);
    const rangeId = String(req.headers['x-ms-documentdb-partitionkeyrangeid'] ?? '');
    if (isBulkRequest(req) && fault?.(rangeId, req, res, () => standIn(req, res))) return;
    standIn(req, res);
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    key: EMULATOR_KEY,
    setFault: (f) => {
      fault = f;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      }),
  };
}
