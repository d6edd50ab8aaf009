import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../errors.js';
import { isBackendUnavailable } from './backend-unavailable.js';
import { CORRELATION_HEADER } from './correlation.js';
import { isTransactionConflict } from './transaction-conflict.js';

/** The one place an error code becomes an HTTP status. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  CONSENT_REQUIRED: 400,
  INVALID_TICKET: 400,
  COOKIE_CONFLICT: 400,
  ADMIN_UNAUTHORIZED: 401,
  APP_UNAUTHORIZED: 401,
  BANNED: 403,
  CROSS_SITE: 403,
  NOT_FOUND: 404,
  IDENTITY_LINK_NOT_FOUND: 404,
  SUBJECT_NOT_FOUND: 404,
  APP_NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  TRANSACTION_CONFLICT: 503,
  CHANGE_NOT_YET_PUBLIC: 503,
  GUEST_START_FAILED: 503,
  NOT_READY: 503,
  WEAK_PASSWORD: 400,
  INVALID_CREDENTIALS: 401,
  EMAIL_UNAVAILABLE: 409,
  TOO_MANY_ATTEMPTS: 429,
  SESSION_REQUIRED: 401,
  ACCOUNT_SUSPENDED: 403,
  PERSONA_NOT_FOUND: 404,
  PERSONA_LIMIT_REACHED: 409,
  PERSONA_RATE_LIMITED: 429,
  ROTATION_COOLDOWN: 429,
  DISPLAY_NAME_TAKEN: 409,
  PERSONA_INACTIVE: 409,
  GRACE_PERIOD_OVER: 409,
  TRUST_LEVEL_TOO_LOW: 403,
  LEGAL_HOLD: 409,
  POLICY_NOT_FOUND: 404,
  ADMIN_FORBIDDEN: 403,
  APPEAL_NOT_FOUND: 404,
  APPEAL_CLOSED: 409,
  ADMIN_TOKEN_NOT_FOUND: 404,
  PERSON_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  ALREADY_MEMBER: 409,
  NOT_MEMBER: 404,
  STRATEGY_UNAVAILABLE: 400,
  CHALLENGE_INVALID: 400,
  PROOF_INVALID: 401,
  CREDENTIAL_IN_USE: 409,
  IDENTITY_TAKEN: 409,
  IDENTIFIER_MISMATCH: 400,
  STEP_UP_REQUIRED: 403,
  STEP_UP_METHOD_TOO_WEAK: 403,
  LAST_SIGN_IN_METHOD: 409,
  ACCOUNT_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  TOKEN_INVALID: 401,
  REFRESH_TOKEN_REUSED: 401,
  TERRITORY_NOT_FOUND: 404,
  TERRITORY_EXISTS: 409,
  TERRITORY_CLOSED: 409,
  HANDLE_INVALID: 400,
  HANDLE_RESERVED: 409,
  HANDLE_TAKEN: 409,
  HANDLE_NOT_FOUND: 404,
  IDENTITY_NOT_FOUND: 404,
  INVITATION_REQUIRED: 403,
  INVITATION_INVALID: 404,
  INVITATION_EXPIRED: 410,
  INVITATION_USED_UP: 410,
  INVITATION_REVOKED: 410,
  INVITATION_MISMATCH: 403,
  INVITATION_NOT_FOUND: 404,
  MOVE_COOLDOWN: 429,
  MOVE_IN_PROGRESS: 409,
  ALREADY_CITIZEN: 409,
  CITIZENSHIP_NOT_FOUND: 404,
  PRIMARY_CITIZENSHIP: 409,
  GUEST_SESSION_PERMANENT: 409,
};

/** Fastify's own failures (parsing, limits) in our codes. */
const CODE_BY_FASTIFY_CODE: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

/**
 * An error answer in place of the one a route made, for an onSend hook (whose answer is already on
 * its way: it can only change it, not send another). Same status table, same body as `sendError`.
 */
export function replaceWithError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string): string {
  reply.code(STATUS_BY_CODE[code]).type('application/json; charset=utf-8');
  return JSON.stringify({ code, message, correlationId: request.id });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string) {
  return reply
    .code(STATUS_BY_CODE[code])
    .type('application/json; charset=utf-8')
    .send({ code, message, correlationId: request.id });
}

/**
 * Fastify answers a request it cannot route (a malformed URL) before any hook runs; give it the
 * same headers, body and log line as every other answer. The path is not echoed: it may carry secrets.
 */
export function answerMalformedRequest(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header(CORRELATION_HEADER, request.id).header('cache-control', 'no-store');
  request.log.info({ method: request.method, route: 'malformed', statusCode: 400, code: error.code }, 'request refused');
  void sendError(request, reply, 'VALIDATION_FAILED', 'The request URL is malformed.');
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return sendError(request, reply, error.code, error.message);
    }
    if ('validation' in error && error.validation) {
      return sendError(request, reply, 'VALIDATION_FAILED', `Invalid request: ${error.message}`);
    }
    const mapped = error.code ? CODE_BY_FASTIFY_CODE[error.code] : undefined;
    if (mapped) return sendError(request, reply, mapped, error.message);
    if (error instanceof SyntaxError) return sendError(request, reply, 'INVALID_JSON', 'The request body is not valid JSON.');
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(request, reply, 'VALIDATION_FAILED', error.message);
    }
    if (isBackendUnavailable(error)) {
      // A lost database or Redis connection: the request did not complete; a retry may well succeed.
      request.log.warn({ err: error }, 'a backing service is unavailable');
      reply.header('retry-after', '1');
      return sendError(request, reply, 'SERVICE_UNAVAILABLE', 'A service this request needs is not answering; please try again in a moment.');
    }
    if (isTransactionConflict(error)) {
      // PostgreSQL undid the transaction (a deadlock or a serialization failure): nothing was
      // committed, and the same request again should succeed. Logged as an error all the same:
      // a deadlock means two use cases lock in different orders, which is a bug to fix.
      request.log.error({ err: error }, 'transaction aborted by a conflict with another');
      reply.header('retry-after', '1');
      return sendError(request, reply, 'TRANSACTION_CONFLICT', 'This request collided with another change to the same data and was undone; please try again.');
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(request, reply, 'INTERNAL_ERROR', 'Something went wrong on our side. Quote the correlation id if you report it.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`),
  );
}
