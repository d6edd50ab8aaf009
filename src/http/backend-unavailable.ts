/**
 * Whether an error means that a service behind this one (PostgreSQL, Redis) could not be reached or
 * dropped the connection mid-request: the request did not complete, and the same request a moment
 * later, on this node or another, may well succeed. Such failures are answered 503 with
 * Retry-After, not 500, so clients and load balancers know to try again.
 *
 * Only connection failures count: a constraint violation or a failing trigger is a bug or a rule,
 * never "try again". node-postgres and ioredis report lost connections as plain Errors, so their
 * fixed messages are matched; servers report theirs by SQLSTATE.
 */
export function isBackendUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (isConnectionFailure(current)) return true;
    if (current instanceof AggregateError && current.errors.some(isConnectionFailure)) return true; // every address refused
  }
  return false;
}

/** SQLSTATE class 08 (connection exception), and the server ending or refusing sessions (57P01–57P03). */
const SQLSTATE_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123])$/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const DRIVER_MESSAGES = [
  // node-postgres (pg, pg-pool)
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
  // ioredis
  'Connection is closed.',
];

function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SQLSTATE_UNAVAILABLE.test(code) || SOCKET_CODES.has(code))) return true;
  // ioredis gives up on a command after its reconnection retries with this error class.
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return DRIVER_MESSAGES.includes(error.message);
}
