import type { HttpResponseInit } from '@azure/functions';
import type { RunReport } from '../../job/report';
import { ConfigurationError, toError } from '../../shared/errors';

export function json(status: number, body: unknown): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } };
}

/** 200 for a completed run, 409 when another run holds the unit, 500 when the run failed; the report in each. */
export function reportResponse(report: RunReport): HttpResponseInit {
  const status = report.status === 'completed' ? 200 : report.status === 'unit-busy' ? 409 : 500;
  return json(status, report);
}

/** A configuration problem is the deployment's, so 500, with every problem listed; anything else, its message. */
export function errorResponse(error: unknown): HttpResponseInit {
  if (error instanceof ConfigurationError) {
    return json(500, { error: 'The connector is not configured correctly.', problems: error.problems });
  }
  return json(500, { error: toError(error).message });
}
