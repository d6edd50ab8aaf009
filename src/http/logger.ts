import { pino, type DestinationStream, type Logger } from 'pino';

/** Keys whose values never reach a log line, at the top level or one level down. */
const CENSORED_KEYS = new Set(['token', 'password', 'email', 'identityData', 'cookie', 'authorization', 'apiKey']);
const CENSOR = '[redacted]';

/**
 * JSON logs that carry the correlation id and never an IP address, a token, an email or identity
 * data: requests are logged by method, route and status only (see request-logging.ts), and errors
 * without driver details (a PostgreSQL error's `detail` can quote the values of a key). As a safety
 * net the formatter blanks sensitive keys; it runs only for lines actually written, unlike pino's
 * `redact`, which costs on every per-request child logger.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      formatters: { log: censor },
      serializers: {
        err: (error: Error & { code?: unknown }) => ({
          type: error.name,
          code: typeof error.code === 'string' ? error.code : undefined,
          message: error.message,
          stack: error.stack,
        }),
      },
    },
    destination,
  );
}

function censor(object: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let result = object;
  for (const [key, value] of Object.entries(object)) {
    let replacement = value;
    if (CENSORED_KEYS.has(key)) replacement = CENSOR;
    else if (depth === 0 && isPlainObject(value)) replacement = censor(value, 1);
    if (replacement !== value) {
      if (result === object) result = { ...object };
      result[key] = replacement;
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
