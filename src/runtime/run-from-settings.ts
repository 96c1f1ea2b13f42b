import { loadSettings, type Settings } from '../config/settings';
import { checkRerunFields, checkRerunWindow, type RerunRequest } from '../job/rerun-request';
import { runAbandonedCartJob, type JobDependencies, type JobRequest } from '../job/run-abandoned-cart-job';
import type { RunReport } from '../job/report';
import { withInvocationLogger, type Logger } from '../shared/logger';
import { createJobDependencies, createLedger, type RuntimeOptions } from './create-dependencies';

/**
 * What every entry point does: load and validate the settings (appSettings.json plus environment
 * overrides), build the dependencies and run the one job. Configuration problems surface as a
 * ConfigurationError before anything is called.
 */
export interface EntryPointOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  settingsPath?: string | undefined;
  /** Extra runtime options (credential, clock, retry policy); tests use them. */
  runtime?: Partial<Omit<RuntimeOptions, 'settings' | 'logger'>>;
  onProgress?: JobDependencies['onProgress'];
  /** Settings the entry point has loaded already (to check a rerun request against them). */
  settings?: Settings | undefined;
}

export function settingsFor(options: Pick<EntryPointOptions, 'settings' | 'settingsPath' | 'env'>): Settings {
  return options.settings ?? loadSettings({ settingsPath: options.settingsPath, env: options.env ?? process.env });
}

export type CheckedRerun = { ok: true; request: RerunRequest; settings: Settings } | { ok: false; problems: string[] };

/**
 * A manual rerun's request (HTTP body, CLI options), checked as every entry point checks it: its
 * fields first, so that bad input is reported as such whatever the state of the configuration;
 * then the settings are loaded (a ConfigurationError is thrown), and the window is checked against
 * them (the Exclude and Include minutes, the ledger's time to live). The settings come back with
 * the request, for the run.
 */
export function checkRerun(input: unknown, options: Pick<EntryPointOptions, 'settingsPath' | 'env'>, now = new Date()): CheckedRerun {
  const fields = checkRerunFields(input, now);
  if (!fields.ok) return fields;
  const settings = settingsFor(options);
  const window = checkRerunWindow(fields.value, now, {
    excludeMinutes: settings.retail.excludeMinutes,
    includeMinutes: settings.retail.includeMinutes,
    recordTtlDays: settings.cosmos.ttlDays,
  });
  return window.ok ? { ok: true, request: window.value, settings } : window;
}

export async function runJobFromSettings(request: JobRequest, options: EntryPointOptions): Promise<RunReport> {
  const settings = settingsFor(options);
  if (settings.ignoredProperties.length > 0) {
    options.logger.warn('Settings name properties the connector does not have; they are ignored (a misspelling leaves the default)', {
      properties: settings.ignoredProperties,
    });
  }
  // A dry run records nothing, and creates nothing either: not even the ledger's container.
  const deps = await createJobDependencies({ ...options.runtime, settings, logger: options.logger, env: options.env ?? process.env, readOnly: request.dryRun === true });
  return withInvocationLogger(options.logger, () => runAbandonedCartJob({ ...deps, onProgress: options.onProgress }, request));
}

/**
 * A stored run report of this deployment's operating unit: `other-unit` when the run is another
 * unit's (a deployment per unit may share the container, and this app's function key opens its own
 * unit's reports only), undefined when there is none. Only reads: a ledger whose database or
 * container does not exist yet (no run has written one) holds no report, and is not created.
 */
export async function readRunReport(runId: string, options: EntryPointOptions): Promise<RunReport | 'other-unit' | undefined> {
  const settings = settingsFor(options);
  const ledger = await createLedger({ ...options.runtime, settings, logger: options.logger, env: options.env ?? process.env, readOnly: true });
  const report = await withInvocationLogger(options.logger, () => ledger.getRun(runId));
  return report && report.operatingUnitNumber !== settings.retail.operatingUnitNumber ? 'other-unit' : report;
}
