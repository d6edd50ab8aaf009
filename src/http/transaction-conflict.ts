/**
 * Whether PostgreSQL undid the request's transaction because it collided with another one: a
 * deadlock (40P01, one of the two is chosen to abort) or a serialization failure (40001). Nothing
 * was committed, and the same request run again is expected to succeed, so it is answered 503 with
 * Retry-After (`TRANSACTION_CONFLICT`), not 500. The use cases lock in one order (the person first)
 * so that deadlocks should not happen at all; this is the safety net if one still does.
 */
export function isTransactionConflict(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
  }
  return false;
}
