import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';

export type LogFields = Record<string, unknown>;

/**
 * Structured logging: a short message plus fields. Implementations write through the Functions
 * InvocationContext in Azure and to stderr on the command line. Callers never pass secrets,
 * tokens or raw email addresses; use `hashEmail` when customers must be told apart.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A logger whose every level writes through `write`. */
function byLevel(write: (level: LogLevel, message: string, fields: LogFields | undefined) => void): Logger {
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => write(level, message, fields);
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that hands each record to a sink, dropping those under `minLevel`. */
export function createLogger(sink: (record: LogRecord) => void, minLevel: LogLevel = 'info'): Logger {
  return byLevel((level, message, fields = {}) => {
    if (levelOrder[level] >= levelOrder[minLevel]) sink({ level, message, fields });
  });
}

/** One JSON line per record on the given stream (stderr for the CLI, so stdout stays clean). */
export function jsonLineLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  return createLogger(
    ({ level, message, fields }) =>
      write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`),
    minLevel,
  );
}

export const silentLogger: Logger = createLogger(() => undefined);

/** `logger` with `fields` added to every line it writes (a line's own fields win). */
export function withFields(logger: Logger, fields: LogFields): Logger {
  return byLevel((level, message, own) => logger[level](message, { ...fields, ...own }));
}

/**
 * Clients outlive an invocation (their token caches are worth keeping), but their log lines belong
 * to the invocation and the run that made the call, even when a timer run and a rerun overlap in
 * one process. So each invocation's calls carry its logger in async context, each run's calls carry
 * the run's fields (its id), and a client's logger (`contextLogger`) looks both up per line.
 */
interface LogContext {
  logger: Logger | undefined;
  fields: LogFields;
}

const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `work` with `logger` as the destination of every client's log lines made within it. */
export function withInvocationLogger<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  return logContext.run({ logger, fields: {} }, work);
}

/** Runs `work` with `fields` added to every client's log line made within it (to those already set). */
export function withLogFields<T>(fields: LogFields, work: () => Promise<T>): Promise<T> {
  const outer = logContext.getStore();
  return logContext.run({ logger: outer?.logger, fields: { ...outer?.fields, ...fields } }, work);
}

/**
 * A logger for clients shared by invocations: each line goes to the logger of the invocation it is
 * made in (else to `fallback`), with the fields of the run it is made in.
 */
export function contextLogger(fallback: Logger): Logger {
  return byLevel((level, message, fields) => {
    const context = logContext.getStore();
    (context?.logger ?? fallback)[level](message, { ...context?.fields, ...fields });
  });
}

/** A stable, non-reversible tag for an email address, for logs that must tell customers apart. */
export function hashEmail(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 12);
}
