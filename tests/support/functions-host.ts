import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';

/**
 * What the Azure Functions host hands the handlers: an InvocationContext whose log calls land in
 * `lines` (as they would in Application Insights), a timer trigger's info, and an HTTP request.
 * Handlers read their settings from process.env, as app settings reach them in Azure.
 */

export interface CapturedContext {
  context: InvocationContext;
  /** Every line logged through the context, at any level, arguments joined by spaces. */
  lines: string[];
}

export function capturedContext(functionName: string, invocationId = `${functionName}-invocation`): CapturedContext {
  const lines: string[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId,
    logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
  });
  return { context, lines };
}

export const timerInfo: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

export function rerunRequest(body?: unknown): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/abandoned-carts/run',
    ...(body === undefined ? {} : { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }),
  });
}

/** Sets process.env for the handlers; returns a function that puts the original back. */
export function useAppSettings(settings: Record<string, string>): () => void {
  const saved = { ...process.env };
  process.env = { ...saved, ...settings };
  return () => {
    process.env = saved;
  };
}
