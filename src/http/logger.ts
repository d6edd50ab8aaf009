import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs that carry the correlation id and never an IP address, a token, an email or identity
 * data: requests are logged by method, route and status only, and errors without driver details
 * (a PostgreSQL error's `detail` can quote the values of a key).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      serializers: {
        err: (error: Error & { code?: unknown }) => ({
          type: error.name,
          code: typeof error.code === 'string' ? error.code : undefined,
          message: error.message,
          stack: error.stack,
        }),
      },
      redact: {
        paths: ['*.token', '*.password', '*.email', '*.identityData', '*.cookie', '*.authorization', '*.apiKey'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
