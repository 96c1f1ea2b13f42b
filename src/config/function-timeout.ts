import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { decodeJsonFile, parseJsonFile } from './sources';

/**
 * The Functions host's `functionTimeout`, for checking `MaxRunMinutes` against it: from the app
 * setting `AzureFunctionsJobHost__functionTimeout` (which overrides host.json), else from the
 * host.json beside the settings. A run that outlives it is ended by the host restarting the Node
 * worker, so a run's own limit must come first.
 */
export interface FunctionTimeout {
  /** Undefined: no limit ("-1", allowed on Premium and Dedicated plans). */
  minutes: number | undefined;
  /** The value as written, and where. */
  value: string;
  source: string;
}

const ENV_NAME = 'AzureFunctionsJobHost__functionTimeout';

const hostJsonSchema = z.object({ functionTimeout: z.unknown().optional() });

/** `[d.]hh:mm:ss[.fff]`, as .NET writes a TimeSpan, or -1 for none. Undefined when it is neither. */
export function parseTimeSpanMinutes(value: string): { minutes: number | undefined } | undefined {
  const text = value.trim();
  if (text === '-1') return { minutes: undefined };
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text);
  if (!match) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return { minutes: Number(days ?? 0) * 1440 + Number(hours) * 60 + Number(minutes) + Number(seconds) / 60 };
}

/**
 * A host.json that sets no `functionTimeout`: the plan's default applies, 5 minutes on the
 * Consumption plan and 30 on the others (Flex Consumption, Premium, Dedicated).
 */
export interface PlanDefaultTimeout {
  planDefault: true;
  source: string;
}

/** The Consumption plan's default functionTimeout, the shortest of the plans' defaults. */
export const CONSUMPTION_DEFAULT_TIMEOUT_MINUTES = 5;

/** Undefined when neither the app setting nor a host.json is there. */
export function readFunctionTimeout(options: { directory: string; env: NodeJS.ProcessEnv }): FunctionTimeout | PlanDefaultTimeout | { problem: string } | undefined {
  // The host reads the setting under either separator, as .NET configuration does.
  for (const name of [ENV_NAME, ENV_NAME.replace('__', ':')]) {
    const fromEnv = options.env[name];
    if (fromEnv !== undefined && fromEnv.trim() !== '') return described(fromEnv, `app setting ${name}`);
  }
  const path = join(options.directory, 'host.json');
  let text: string;
  try {
    text = decodeJsonFile(readFileSync(path));
  } catch {
    return undefined;
  }
  // Each way host.json can fail is said apart: a file to fix is not a value to rewrite.
  const read = parseJsonFile(text);
  if (!read.ok) return { problem: `${path} does not parse as JSON (${read.problem}): fix it, as the Functions host cannot read it either` };
  const parsed = hostJsonSchema.safeParse(read.value);
  if (!parsed.success) return { problem: `${path} is not a JSON object: write it as { "version": "2.0", ... }` };
  const { functionTimeout } = parsed.data;
  if (functionTimeout === undefined) return { planDefault: true, source: path };
  if (typeof functionTimeout !== 'string') {
    const given = JSON.stringify(functionTimeout).slice(0, 40); // a parsed JSON value: always stringifies
    return { problem: `functionTimeout in ${path} is ${given}, not text: write it as "hh:mm:ss", e.g. "00:10:00" (or "-1" for no limit)` };
  }
  return described(functionTimeout, path);
}

function described(value: string, source: string): FunctionTimeout | { problem: string } {
  const parsed = parseTimeSpanMinutes(value);
  if (!parsed) return { problem: `functionTimeout "${value}" in ${source} is not hh:mm:ss` };
  return { minutes: parsed.minutes, value, source };
}
