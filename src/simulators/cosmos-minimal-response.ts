import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBulkRequest } from './cosmos-throttle';

/**
 * Cosmos DB answers a bulk request sent with `Prefer: return=minimal` (what `@azure/cosmos` sends
 * for `contentResponseOnWriteEnabled: false`) without the documents: each operation's status,
 * etag and charge only. The embedded server ignores the header and returns every document; this
 * makes it answer as Cosmos DB does, so code that asks for short answers is tested against them.
 *
 * It drops the body of every operation of such a request, reads' too: the ledger sends the header
 * with writes only, and a read sent with it by mistake then shows as a document that is missing.
 */

/** Whether `req` is a bulk request that asks for answers without documents. */
export function asksForMinimalAnswer(req: IncomingMessage): boolean {
  const prefer = req.headers.prefer;
  return isBulkRequest(req) && typeof prefer === 'string' && prefer.toLowerCase().split(/[\s,;]+/).includes('return=minimal');
}

/** When `req` asks for a minimal answer, strips the documents from the answer the server writes to `res`. */
export function answerMinimallyWhenAsked(req: IncomingMessage, res: ServerResponse): void {
  if (!asksForMinimalAnswer(req)) return;
  const end = res.end.bind(res) as (chunk: string) => ServerResponse;
  res.end = ((chunk: unknown) => {
    const text = String(chunk);
    let results: unknown;
    try {
      results = JSON.parse(text);
    } catch {
      return end(text);
    }
    if (!Array.isArray(results)) return end(text);
    return end(JSON.stringify(results.map((result: unknown) => (isObject(result) ? withoutBody(result) : result))));
  }) as typeof res.end;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function withoutBody(result: Record<string, unknown>): Record<string, unknown> {
  const { resourceBody: _dropped, ...rest } = result;
  return rest;
}
