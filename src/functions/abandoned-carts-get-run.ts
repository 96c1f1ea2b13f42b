import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { readRunReport } from '../runtime/run-from-settings';
import { errorResponse, json } from './support/http-responses';
import { invocationLogger } from './support/invocation-logger';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `GET /api/abandoned-carts/runs/{runId}`: a stored run report. */
export async function abandonedCartsGetRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runId = request.params.runId ?? '';
  if (!UUID.test(runId)) return json(400, { error: `"${runId.slice(0, 64)}" is not a run id; run ids are UUIDs, as in a run report's runId.` });
  const logger = invocationLogger(context);
  try {
    const report = await readRunReport(runId, { logger });
    if (report === 'other-unit') {
      return json(404, { error: `Run ${runId} is another operating unit's: its deployment, which shares this one's Cosmos DB container, returns its report.` });
    }
    return report ? json(200, report) : json(404, { error: `No run ${runId} is stored: a report is stored when its run ends, so the run may still be working, or have been ended by the host before it finished (functionTimeout, a restart: no report then); or the id is not a run's, its report expired (kept for AzureCosmosOptions.TimeToLiveDays), it was a dry run (never stored), or Cosmos DB refused the write when the run ended (its log then has the warn "Could not store the run report").` });
  } catch (error) {
    // A 500 returned is an invocation the host records as succeeded: this line is the only trace of why.
    logger.error('The run report could not be read', { runId, error: error instanceof Error ? error.message : String(error) });
    return errorResponse(error);
  }
}

app.http('abandonedCartsGetRun', {
  methods: ['GET'],
  route: 'abandoned-carts/runs/{runId}',
  authLevel: 'function',
  handler: abandonedCartsGetRun,
});
