import { randomUUID } from 'node:crypto';
import type { AuthenticateService } from '../../auth/authenticate-service.js';
import { AppError } from '../../errors.js';
import type { SessionContext } from '../sessions/session.js';
import { satisfiesStepUp } from './step-up.js';
import type { StepUpRepository } from './step-up-repository.js';

export interface StepUpService {
  /**
   * Refuses (STEP_UP_REQUIRED) a sensitive change from a session that did not authenticate
   * recently enough and strongly enough. A guest passes (its cookie is the only credential there
   * is) unless its person also signs in some other way (SESSION_REQUIRED).
   */
  require(caller: SessionContext): Promise<void>;
  /** Refuses, before any code is sent, a step-up ceremony that could not count (STEP_UP_METHOD_TOO_WEAK). */
  allowCeremony(caller: SessionContext, strategy: string): Promise<void>;
  /**
   * Proves one of the person's methods again (a ceremony's proof, or `password` with an email address
   * or handle of their own): the session counts as freshly authenticated.
   */
  stepUp(caller: SessionContext, strategy: string, proof: Record<string, unknown>, client: string): Promise<void>;
}

/** The step-up method with no ceremony: a password of the person's own (AccountService's). */
export interface PasswordProof {
  /** Throws INVALID_CREDENTIALS (or TOO_MANY_ATTEMPTS) unless the password is right and the account the person's. */
  verifyOwnPassword(profileId: string, input: { email?: string; handle?: string; password: string }, client: string): Promise<void>;
}

/** The name a password proof goes by in `POST /api/v2/auth/step-up`. */
export const PASSWORD_STEP_UP = 'password';

export interface StepUpServiceDeps {
  readonly repository: StepUpRepository;
  readonly auth: AuthenticateService;
  readonly passwords: PasswordProof;
  readonly windowSeconds: number;
}

export function createStepUpService({ repository, auth, passwords, windowSeconds }: StepUpServiceDeps): StepUpService {
  const tooWeak = () =>
    new AppError('STEP_UP_METHOD_TOO_WEAK', 'An email code cannot confirm a sensitive change while you have a stronger method (NIST SP 800-63B-4); use it.');

  return {
    async require(caller) {
      if (caller.accountType === 'guest') {
        // A guest's cookie is all there is to a guest. It never stands in for a person who signs in
        // (a merge absorbs the guest; this holds even if some path ever left one behind).
        if (!(await repository.hasSignInMethod(caller.accountabilityProfileId))) return;
        throw new AppError('SESSION_REQUIRED', 'Sign in: this change belongs to a signed-in person.');
      }
      const session = await repository.assurance(caller.sessionId, windowSeconds);
      // The second question only when the first does not settle it: most sessions are strong.
      if (session && satisfiesStepUp(session, session.strong || (await repository.hasAuthenticator(caller.accountabilityProfileId)))) return;
      throw new AppError(
        'STEP_UP_REQUIRED',
        `This needs a sign-in from the last ${Math.round(windowSeconds / 60)} minutes (POST /api/v2/auth/step-up). ` +
          'An email code counts only for a person with no password, wallet, passkey, key or social account.',
      );
    },

    async allowCeremony(caller, strategy) {
      const offered = auth.strategies.get(strategy);
      if (offered && !offered.authenticator && (await repository.hasAuthenticator(caller.accountabilityProfileId))) throw tooWeak();
    },

    async stepUp(caller, strategy, proof, client) {
      if (strategy === PASSWORD_STEP_UP) {
        // Checked against the caller's own accounts only: never a sign-in, so another account's
        // credentials are refused rather than switching the session to that account.
        await passwords.verifyOwnPassword(caller.accountabilityProfileId, proof as { email?: string; handle?: string; password: string }, client);
        // A password is an authenticator (NIST SP 800-63B-4).
        return repository.markSteppedUp(caller.sessionId, true);
      }
      const identity = await auth.verify(strategy, proof, { client, purpose: 'step-up', accountId: caller.accountId });
      if (identity.registersCredential) throw new AppError('PROOF_INVALID', 'Step up with a passkey you have, not a new one.');
      const owner = await repository.ownerOf(identity.type, auth.accountKeys(identity, randomUUID()).lookupKey);
      if (owner !== caller.accountabilityProfileId) throw new AppError('PROOF_INVALID', 'That sign-in method is not one of yours.');
      const strong = auth.strategies.get(strategy)?.authenticator === true;
      if (!strong && (await repository.hasAuthenticator(caller.accountabilityProfileId))) throw tooWeak();
      await repository.markSteppedUp(caller.sessionId, strong);
    },
  };
}
