import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { listNames } from '../job/rerun-request';
import { checkRerun, runJobFromSettings } from '../runtime/run-from-settings';
import { errorResponse, json, reportResponse } from './support/http-responses';
import { invocationLogger } from './support/invocation-logger';

/**
 * Azure's front end waits 230 seconds for an HTTP function's answer, whatever host.json's
 * functionTimeout says. A rerun therefore starts no new page after 2.5 minutes (or sooner, by
 * `MaxRunMinutes`): with the minute the pages in flight may still wait on a throttled store, its
 * report gets back within 210 s; `remaining` in it is the window to rerun next.
 */
export const HTTP_RERUN_MAX_MINUTES = 2.5;

/** A rerun's body is a few dates and a flag: anything much bigger is not one, and is not read. */
export const MAX_RERUN_BODY_BYTES = 16 * 1024;

/**
 * `POST /api/abandoned-carts/run`: a manual rerun, e.g. after an outage. Body (all optional):
 * `{ "from": iso, "to": iso, "dryRun": bool }`. Answers with the run report.
 */
export async function abandonedCartsRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const logger = invocationLogger(context);
  // The rerun's fields are read from the body only: `?dryRun=true` ignored would be a real run.
  const queryProblems = unreadQueryParameters(request);
  if (queryProblems.length > 0) return json(400, { error: 'The rerun request is not valid.', problems: queryProblems });
  const text = await boundedBody(request);
  if (text === undefined) {
    return json(413, { error: `The request body is larger than ${MAX_RERUN_BODY_BYTES / 1024} kB; a rerun's body is { "from"?: iso, "to"?: iso, "dryRun"?: bool }.` });
  }
  // Only no body means no fields; `null`, like `[]` or `42`, is not an object and is refused.
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      return json(400, { error: 'The request body is not valid JSON.', problems: ['body must be a JSON object: { "from"?: iso, "to"?: iso, "dryRun"?: bool }'] });
    }
  }
  try {
    // Bad input is a 400 whatever the state of the settings; settings that do not load, a 500.
    const rerun = checkRerun(body, {});
    if (!rerun.ok) return json(400, { error: 'The rerun request is not valid.', problems: rerun.problems });
    const report = await runJobFromSettings({ trigger: 'http', ...rerun.request, maxRunMinutes: HTTP_RERUN_MAX_MINUTES }, { logger, settings: rerun.settings });
    return reportResponse(report);
  } catch (error) {
    logger.error('The rerun could not start', { error: error instanceof Error ? error.message : String(error) });
    return errorResponse(error);
  }
}

/**
 * The query string carries only `code`, the function key (the host checks it); any other parameter
 * would be silently ignored, so it is refused by name.
 */
function unreadQueryParameters(request: HttpRequest): string[] {
  // The host reads the key's name in any case (`?Code=` is a key too).
  const names = [...new Set(request.query.keys())].filter((name) => name.toLowerCase() !== 'code');
  if (names.length === 0) return [];
  return [`query parameter(s) ${listNames(names)} not read: give the rerun's fields in the JSON body, e.g. { "dryRun": true }; the query string takes only code, the function key`];
}

/**
 * The body's text, or undefined when it is over MAX_RERUN_BODY_BYTES: by its Content-Length before
 * anything is read, and by what was read when there is none (chunked) or it is wrong.
 */
async function boundedBody(request: HttpRequest): Promise<string | undefined> {
  if (Number(request.headers.get('content-length')) > MAX_RERUN_BODY_BYTES) return undefined;
  const text = await request.text();
  return Buffer.byteLength(text) > MAX_RERUN_BODY_BYTES ? undefined : text;
}

app.http('abandonedCartsRun', {
  methods: ['POST'],
  route: 'abandoned-carts/run',
  authLevel: 'function',
  handler: abandonedCartsRun,
});
