/**
 * The few error types the connector raises. Each says who is at fault:
 * the configuration, a remote service, or the data a service returned.
 */

/** The settings are wrong or incomplete. `problems` lists each one by its full property name. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  /** `hint`: where the settings were read from and where to set them, after the problems. */
  constructor(
    readonly problems: readonly string[],
    readonly hint?: string,
  ) {
    super(
      (problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`) + (hint ? `\n${hint}` : ''),
    );
  }
}

export type ServiceName = 'RetailServer' | 'TokenEndpoint' | 'KeyVault' | 'CosmosDB' | 'Emarsys';

export interface RemoteServiceErrorDetails {
  service: ServiceName;
  /** Which call failed, e.g. `POST Carts/Search`. Never contains a secret. */
  operation: string;
  statusCode?: number;
  /** The service's own error code, when it gave one. */
  code?: string;
  /** Whether trying again later may succeed. */
  retryable: boolean;
  /** The call stopped trying because the run had no time left for it (MaxRunMinutes). */
  outOfTime?: boolean | undefined;
  cause?: unknown;
}

/** A remote service refused or failed a call, after any retries. */
export class RemoteServiceError extends Error {
  override readonly name = 'RemoteServiceError';
  readonly service: ServiceName;
  readonly operation: string;
  readonly statusCode: number | undefined;
  readonly code: string | undefined;
  readonly retryable: boolean;
  readonly outOfTime: boolean;
  constructor(message: string, details: RemoteServiceErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.outOfTime = details.outOfTime ?? false;
    this.service = details.service;
    this.operation = details.operation;
    this.statusCode = details.statusCode;
    this.code = details.code;
    this.retryable = details.retryable;
  }
}

/** Turns any thrown value into an Error, keeping Errors as they are. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  // Errors from another realm (a vm context, a test sandbox) fail instanceof but are errors all the same.
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
    const error = new Error((value as { message: string }).message);
    error.name = typeof (value as { name?: unknown }).name === 'string' ? (value as { name: string }).name : 'Error';
    return error;
  }
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** Whether @azure/identity failed to produce a token (it names its errors; the SDK may wrap them). */
export function isCredentialError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    // DefaultAzureCredential's chain throws AggregateAuthenticationError when every credential failed;
    // a single credential whose token request the authority refused throws AuthenticationRequiredError.
    if (['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError'].includes(current.name)) return true;
    current = current.cause;
  }
  return false;
}
