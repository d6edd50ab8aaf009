import { randomUUID, timingSafeEqual } from 'node:crypto';
import Type from 'typebox';
import { normalizeEmail } from '../../crypto/email-box.js';
import { AppError } from '../../errors.js';
import { limiterKey } from '../../rate-limit/attempt-limiter.js';
import type { StrategyDeps } from '../strategies.js';
import type { CeremonyContext, SignInStrategy, VerifiedIdentity } from '../strategy.js';
import { CODE_PATTERN, CODE_TTL_SECONDS, codeMail, codeSecret, newCode } from './email-code.js';
import { createEmailCodeRepository, type EmailCodeRepository } from './email-code-repository.js';
import { openMailer, type Mailer } from './mailer.js';

const Email = Type.String({
  pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$',
  maxLength: 254,
  description: 'Compared trimmed, NFC-normalized and lower-cased.',
});

const ChallengeBody = Type.Object({ email: Email }, { additionalProperties: false });
const ChallengeResponse = Type.Object(
  {
    sent: Type.Literal(true),
    expiresIn: Type.Integer({ description: 'Seconds the code stays valid.' }),
  },
  {
    additionalProperties: false,
    description: 'The same answer whether or not the address has an account: a code is sent in both cases.',
  },
);
const ProofBody = Type.Object(
  { email: Email, code: Type.String({ pattern: CODE_PATTERN, description: 'The six digits from the mail.' }) },
  { additionalProperties: false },
);

/**
 * Sign-in by a six-digit code sent to an address (spec 003). The code proves the mailbox, so an
 * unknown address gets an account on its first sign-in; that is also why a code goes out whether or
 * not an account exists, and the answers here never depend on one (no account is even looked up).
 * Null when codes cannot be delivered: production without SMTP_URL.
 */
export function createEmailStrategy(deps: StrategyDeps, mailer: Mailer | null = openMailer(deps.config)): SignInStrategy | null {
  if (!mailer) return null;
  const codes = createEmailCodeRepository(deps.db);
  return {
    name: 'email',
    // A code proves the mailbox, but email is no authenticator (NIST SP 800-63B-4 §3.1.3).
    authenticator: false,
    challengeBody: ChallengeBody,
    challengeResponse: ChallengeResponse,
    proofBody: ProofBody,
    challenge: (input, context) => sendCode(deps, codes, mailer, String(input.email), context),
    verify: (input) => verifyCode(deps, codes, String(input.email), String(input.code)),
  };
}

async function sendCode(
  deps: StrategyDeps,
  codes: EmailCodeRepository,
  mailer: Mailer,
  rawEmail: string,
  context: CeremonyContext,
): Promise<{ sent: true; expiresIn: number }> {
  const email = normalizeEmail(rawEmail);
  const { sendsPerRecipient, sendWindowSeconds } = deps.config.signIn.email;
  // Per client first: one client cannot make the service mail a thousand strangers. The key is a
  // keyed hash, so the limiter's store never holds an address.
  const limits = deps.config.loginLimits;
  const clientKey = limiterKey(deps.hasher, 'email-code-send', context.client);
  const byClient = await deps.limiter.reserve(clientKey, limits.perClient, limits.windowSeconds);
  if (!byClient.allowed) throw tooMany(byClient.retryAfterSeconds);

  const id = randomUUID();
  const code = newCode();
  const issued = await codes.issue(
    {
      id,
      subjectKey: deps.emails.lookupKey(email),
      challengeHash: deps.hasher.hash('challenge', codeSecret(id, code)),
      ttlSeconds: CODE_TTL_SECONDS,
    },
    { sends: sendsPerRecipient, windowSeconds: sendWindowSeconds },
  );
  if (!issued.issued) throw tooMany(issued.retryAfterSeconds);

  try {
    await mailer.send({ to: email, ...codeMail(code, deps.config.publicOrigin) });
  } catch (error) {
    // The transport's error may quote the address (a server's "550 <x@y>: no such user"); only its
    // codes go on, to the error log and a 500, never the message.
    throw new MailDeliveryError(error);
  }
  return { sent: true, expiresIn: CODE_TTL_SECONDS };
}

async function verifyCode(deps: StrategyDeps, codes: EmailCodeRepository, rawEmail: string, code: string): Promise<VerifiedIdentity> {
  const email = normalizeEmail(rawEmail);
  // The attempt is counted before the code is looked at: a guess that loses a race still counts.
  const attempt = await codes.countAttempt(deps.emails.lookupKey(email));
  if (!attempt) throw noLiveCode();
  const given = deps.hasher.hash('challenge', codeSecret(attempt.id, code));
  // Both sides are HMAC outputs of equal length; compared in constant time all the same.
  if (!timingSafeEqual(given, attempt.challengeHash)) throw new AppError('PROOF_INVALID', 'The code is not correct.');
  // Two right submissions at once: one spends the code, the other finds it spent.
  if (!(await codes.consume(attempt.id))) throw noLiveCode();
  return { type: 'email', identifier: email, verified: true };
}

function tooMany(retryAfterSeconds: number): AppError {
  return new AppError('TOO_MANY_ATTEMPTS', 'Too many codes were asked for. Try again later.', { retryAfterSeconds });
}

/**
 * The same answer whether the address never asked, or its code expired, was used or ran out of
 * tries: nothing in it depends on an account (none is looked up before the code checks out).
 */
function noLiveCode(): AppError {
  return new AppError('CHALLENGE_INVALID', 'There is no valid code for this address (expired, used or too many tries). Ask for a new one.');
}

/**
 * A code that could not be handed to the mail server: logged by the error handler as an internal
 * error, carrying only the transport's codes (`ECONNECTION`, `EENVELOPE` 550, …), never its message.
 */
export class MailDeliveryError extends Error {
  override readonly name = 'MailDeliveryError';

  constructor(cause: unknown) {
    const { code, responseCode, command } = (cause ?? {}) as { code?: unknown; responseCode?: unknown; command?: unknown };
    const parts = [code, responseCode, command].filter((part) => typeof part === 'string' || typeof part === 'number');
    super(`The sign-in code could not be sent${parts.length > 0 ? ` (${parts.join(' ')})` : ''}.`);
  }
}
