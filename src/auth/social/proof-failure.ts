import { AuthorizationResponseError, ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { AppError } from '../../errors.js';

/** OAuth error codes are short ASCII words (RFC 6749 §4.1.2.1, §5.2); anything else is not repeated. */
const OAUTH_ERROR_CODE = /^[a-z_]{1,40}$/;

/** ID token claims whose mismatch gets named: the checks that stop substitution and replay. */
const CLAIM_NAMES: Readonly<Record<string, string>> = {
  iss: 'issuer',
  aud: 'audience',
  azp: 'authorized party',
  nonce: 'nonce',
  sub: 'subject',
};

/**
 * What to answer when openid-client refused the provider's answer: PROOF_INVALID with a short,
 * fixed reason (never the provider's own error text, which may carry anything), or
 * STRATEGY_UNAVAILABLE when the provider could not be reached. Anything else is a bug: rethrown.
 */
export function proofFailure(error: unknown): AppError {
  if (isUnreachable(error)) {
    return new AppError('STRATEGY_UNAVAILABLE', 'The provider cannot be reached right now; start the sign-in again later.');
  }
  const reason = reasonOf(error);
  if (reason !== null) return new AppError('PROOF_INVALID', `The sign-in with the provider did not verify: ${reason}.`);
  throw error;
}

function reasonOf(error: unknown): string | null {
  if (error instanceof AuthorizationResponseError) return `the provider did not authorize it${codeOf(error.error)}`;
  if (error instanceof ResponseBodyError) return `the provider refused the authorization code${codeOf(error.error)}`;
  if (error instanceof WWWAuthenticateChallengeError) return 'the provider refused the client';
  if (!(error instanceof ClientError)) return null;
  switch (error.code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED': {
      const claim = (error.cause as { cause?: { claim?: unknown } } | undefined)?.cause?.claim;
      const name = typeof claim === 'string' ? CLAIM_NAMES[claim] : undefined;
      return name ? `the ID token's ${name} does not match` : 'the ID token does not match this sign-in';
    }
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return 'the ID token is expired, not yet valid or its authentication too old';
    case 'OAUTH_INVALID_RESPONSE':
      return 'the authorization response is not valid for this provider';
    default:
      return "the provider's answer did not verify";
  }
}

function codeOf(code: string | undefined): string {
  return code && OAUTH_ERROR_CODE.test(code) ? ` (${code})` : '';
}

/** A network failure (undici's fetch rejects with this TypeError) or openid-client's timeout. */
function isUnreachable(error: unknown): boolean {
  if (error instanceof ClientError) return error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT';
  return error instanceof TypeError && error.message === 'fetch failed';
}
