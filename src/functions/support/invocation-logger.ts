import type { InvocationContext } from '@azure/functions';
import { createLogger, type Logger } from '../../shared/logger';

/**
 * Logs through the invocation's context, so each line is tied to its invocation in Application
 * Insights. Fields go as one JSON object after the message; callers never pass secrets or emails.
 */
export function invocationLogger(context: InvocationContext): Logger {
  return createLogger(({ level, message, fields }) => {
    const line = Object.keys(fields).length > 0 ? `${message} ${JSON.stringify(fields)}` : message;
    context[level](line);
  }, 'debug');
}
