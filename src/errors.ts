/**
 * Every error code the service answers with: stable, UPPER_SNAKE, part of the API. Adding one here
 * without giving it a status in `http/error-handler.ts` does not compile.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'CONSENT_REQUIRED',
  'INVALID_TICKET',
  'COOKIE_CONFLICT',
  'ADMIN_UNAUTHORIZED',
  'APP_UNAUTHORIZED',
  'BANNED',
  'CROSS_SITE',
  'NOT_FOUND',
  'IDENTITY_LINK_NOT_FOUND',
  'SUBJECT_NOT_FOUND',
  'APP_NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'GUEST_START_FAILED',
  'NOT_READY',
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
  'TRANSACTION_CONFLICT',
  'CHANGE_NOT_YET_PUBLIC',
  // Sign-in and sessions
  'WEAK_PASSWORD',
  'INVALID_CREDENTIALS',
  'EMAIL_UNAVAILABLE',
  'TOO_MANY_ATTEMPTS',
  'SESSION_REQUIRED',
  // Personas and policy
  'ACCOUNT_SUSPENDED',
  'PERSONA_NOT_FOUND',
  'PERSONA_LIMIT_REACHED',
  'PERSONA_RATE_LIMITED',
  'ROTATION_COOLDOWN',
  'DISPLAY_NAME_TAKEN',
  'PERSONA_INACTIVE',
  'GRACE_PERIOD_OVER',
  'TRUST_LEVEL_TOO_LOW',
  'LEGAL_HOLD',
  'POLICY_NOT_FOUND',
  // Trust & safety and administration
  'ADMIN_FORBIDDEN',
  'APPEAL_NOT_FOUND',
  'APPEAL_CLOSED',
  'ADMIN_TOKEN_NOT_FOUND',
  'PERSON_NOT_FOUND',
  'WEBHOOK_NOT_FOUND',
  // Spaces
  'ALREADY_MEMBER',
  'NOT_MEMBER',
  // Sign-in methods, tokens and the identity graph (spec 003)
  'STRATEGY_UNAVAILABLE',
  'CHALLENGE_INVALID',
  'PROOF_INVALID',
  'CREDENTIAL_IN_USE',
  'IDENTITY_TAKEN',
  'IDENTIFIER_MISMATCH',
  'STEP_UP_REQUIRED',
  'STEP_UP_METHOD_TOO_WEAK',
  'LAST_SIGN_IN_METHOD',
  'ACCOUNT_NOT_FOUND',
  'SESSION_NOT_FOUND',
  'TOKEN_INVALID',
  'REFRESH_TOKEN_REUSED',
  // Federation: handles, territories, invitations, moves (spec 004)
  'TERRITORY_NOT_FOUND',
  'TERRITORY_EXISTS',
  'TERRITORY_CLOSED',
  'HANDLE_INVALID',
  'HANDLE_RESERVED',
  'HANDLE_TAKEN',
  'HANDLE_NOT_FOUND',
  'IDENTITY_NOT_FOUND',
  'INVITATION_REQUIRED',
  'INVITATION_INVALID',
  'INVITATION_EXPIRED',
  'INVITATION_USED_UP',
  'INVITATION_REVOKED',
  'INVITATION_MISMATCH',
  'INVITATION_NOT_FOUND',
  'MOVE_COOLDOWN',
  'MOVE_IN_PROGRESS',
  'ALREADY_CITIZEN',
  'CITIZENSHIP_NOT_FOUND',
  'PRIMARY_CITIZENSHIP',
  // Guests as accounts (spec 003)
  'GUEST_SESSION_PERMANENT',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An expected failure with a stable code and a message a person can act on. Domain code throws
 * these without knowing about HTTP; `http/error-handler.ts` alone decides the status for each code.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  /** For limits (429): when to come back; the error handler sends it as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { readonly retryAfterSeconds?: number },
  ) {
    super(message);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}
