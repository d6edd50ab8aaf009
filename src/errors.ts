/**
 * An expected failure with a stable UPPER_SNAKE code and a message a person can act on.
 * Domain code throws these without knowing about HTTP; `http/error-handler.ts` alone decides the
 * status for each code.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
