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

/** A logger that hands each record to a sink, dropping those under `minLevel`. */
export function createLogger(sink: (record: LogRecord) => void, minLevel: LogLevel = 'info'): Logger {
  const emit = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (levelOrder[level] >= levelOrder[minLevel]) sink({ level, message, fields });
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
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

/** A stable, non-reversible tag for an email address, for logs that must tell customers apart. */
export function hashEmail(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 12);
}
