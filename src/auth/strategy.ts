import type { SecretOwner } from '../modules/accounts/account-secret-repository.js';
import type { TObject } from 'typebox';
import type { Tx } from '../db/database.js';
import type { AccountType } from '../modules/accounts/account.js';

/** The sign-in methods with a ceremony of their own (`guest` needs none: it is the anonymous cookie). */
export type StrategyName = Exclude<AccountType, 'guest' | 'handle'>;

/** Why a ceremony runs: to sign in, to prove a method before linking it, or to step up a session. */
export type CeremonyPurpose = 'sign-in' | 'link' | 'step-up';

/** What a strategy may know about the request: limits key by client, some ceremonies by account. */
export interface CeremonyContext {
  /** The client address as Fastify computes it (proxies believed only per TRUST_PROXY). */
  readonly client: string;
  readonly purpose: CeremonyPurpose;
  /**
   * The signed-in caller's account, when there is one (linking, step-up): a passkey ceremony lists
   * the credentials to exclude or allow. Never sent back to the client.
   */
  readonly accountId: string | null;
}

/**
 * A proof that went through: the account it names, in the one normalized form that is hashed
 * for lookup (unique within its type) and sealed for the identity graph's masked view.
 */
export interface VerifiedIdentity {
  readonly type: StrategyName;
  /** Normalized: lower-cased email, checksummed-then-lowered address, `issuer subject`, credential id, did:key. */
  readonly identifier: string;
  /** The configured provider name (social), shown beside the masked identifier. */
  readonly provider?: string;
  /** True when the ceremony proved control of the identifier (a code proves the mailbox). */
  readonly verified: boolean;
  /**
   * Writes the method's credential for a newly created or newly linked account (a passkey's public
   * key, an ed25519 key), as the last write of the transaction that creates or links it: it goes to
   * the person's territory, which may be remote (see `writeMethodSecrets`). A unique violation here
   * means the credential belongs to someone else.
   */
  readonly persistCredential?: (trx: Tx, owner: SecretOwner) => Promise<void>;
  /**
   * True when the ceremony registers a new credential (a WebAuthn registration): its identifier is
   * chosen by the client, so finding it already stored must never sign in as its owner; the
   * answer is CREDENTIAL_IN_USE.
   */
  readonly registersCredential?: boolean;
}

/**
 * One sign-in method. `challenge` starts a ceremony (a code sent, a nonce, an authorization URL,
 * WebAuthn options, a key challenge) and stores its verification record; `verify` consumes that
 * record atomically *before* checking the proof, so a challenge is never good twice, even under
 * concurrent attempts, and answers the identity proven or throws an AppError
 * (CHALLENGE_INVALID, PROOF_INVALID, TOO_MANY_ATTEMPTS, STRATEGY_UNAVAILABLE, …).
 */
export interface SignInStrategy {
  readonly name: StrategyName;
  /**
   * Whether its proof is an authenticator that can confirm a sensitive change (step-up): false for
   * an email code (NIST SP 800-63B-4 §3.1.3 forbids email for out-of-band authentication).
   */
  readonly authenticator: boolean;
  /** The named providers a person picks among (social sign-in's OIDC_PROVIDERS); absent for the others. */
  readonly providers?: readonly string[];
  /** Fields of `POST /api/v2/auth/challenge` besides `strategy` (additionalProperties: false). */
  readonly challengeBody: TObject;
  /** What the challenge answers (documented in OpenAPI; `correlationId` is added). */
  readonly challengeResponse: TObject;
  /** Fields of the proof in `POST /api/v2/auth/authenticate` (and step-up, link-accounts) besides `strategy`. */
  readonly proofBody: TObject;
  challenge(input: Record<string, unknown>, context: CeremonyContext): Promise<Record<string, unknown>>;
  verify(input: Record<string, unknown>, context: CeremonyContext): Promise<VerifiedIdentity>;
}
