import type {
  AuthenticationResponseJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Static } from 'typebox';
import Value from 'typebox/value';
import { AppError } from '../../errors.js';
import type { StrategyDeps } from '../strategies.js';
import type { SignInStrategy, VerifiedIdentity } from '../strategy.js';
import { createPasskeyCredentialRepository } from './passkey-credential-repository.js';
import { PasskeyChallengeBody, PasskeyChallengeResponse, PasskeyProofBody } from './passkey-schemas.js';

type Mode = Static<typeof PasskeyChallengeBody>['mode'];

/** What the registration options call the user: never a name, an address or an id of ours. */
const NEUTRAL_USER_NAME = 'personae user';
/** generateChallenge() gives 32 random bytes: 43 base64url characters. Anything far off is not ours. */
const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

const challengeInvalid = () =>
  new AppError('CHALLENGE_INVALID', 'This passkey challenge is unknown, expired or already used; ask for a new one.');
// One answer for an unknown credential and a bad signature: which credential ids exist stays unsaid.
const proofInvalid = (reason = '') => new AppError('PROOF_INVALID', `The passkey could not be verified${reason}.`);

/**
 * @simplewebauthn/server is loaded on the first passkey ceremony, not at start: it is most of a second
 * of start-up (its COSE and attestation crypto) that a service whose visitors never use passkeys should
 * not pay.
 */
let webauthnModule: Promise<typeof import('@simplewebauthn/server')> | undefined;
let helpersModule: Promise<typeof import('@simplewebauthn/server/helpers')> | undefined;
const webauthn = () => (webauthnModule ??= import('@simplewebauthn/server'));
const webauthnHelpers = () => (helpersModule ??= import('@simplewebauthn/server/helpers'));

/**
 * The library's refusal, named for the checks a deployment most often gets wrong (PUBLIC_ORIGIN,
 * WEBAUTHN_RP_ID) and for a missing user presence; everything else stays a bare PROOF_INVALID.
 */
function refusal(error: unknown): AppError {
  const message = error instanceof Error ? error.message : '';
  if (/\borigin\b/i.test(message)) return proofInvalid(': it was made on another origin');
  if (/\bRP ID\b/.test(message)) return proofInvalid(': it is for another relying party ID');
  if (/not present/i.test(message)) return proofInvalid(': the authenticator did not report user presence');
  return proofInvalid();
}

/**
 * Passkeys (WebAuthn, through @simplewebauthn/server). `challenge` answers the options for
 * `navigator.credentials.create()` (mode `register`) or `.get()` (mode `authenticate`) and keeps a
 * keyed hash of their challenge; `verify` finds that record by the challenge the client signed,
 * spends it, then checks the attestation or assertion against this service's origin and RP ID.
 */
export function createPasskeyStrategy(deps: StrategyDeps): SignInStrategy | null {
  const { config, hasher, verifications } = deps;
  const { rpId, rpName } = config.signIn.webauthn;
  const ttlSeconds = config.signIn.challengeTtlSeconds;
  const passkeys = createPasskeyCredentialRepository(deps.db, deps.territories, hasher);
  const challengeHash = (challenge: string) => hasher.hash('challenge', `passkey:${challenge}`);

  async function options(mode: Mode, accountId: string | null) {
    // A signed-in caller (linking, step-up) gets its own passkeys listed: excluded so one
    // authenticator is not registered twice, or allowed so the browser offers the right one.
    const known = accountId ? await passkeys.listForAccount(accountId) : [];
    if (mode === 'register') {
      return (await webauthn()).generateRegistrationOptions({
        rpName,
        rpID: rpId,
        // The user handle stays random (the library's default: 32 random bytes) and the name
        // neutral: what an authenticator stores, and may sync or show, ties to nothing of ours.
        userName: NEUTRAL_USER_NAME,
        attestationType: 'none',
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
        excludeCredentials: known,
        timeout: ttlSeconds * 1000,
      });
    }
    // No allowCredentials for a sign-in: the browser offers the discoverable passkeys it holds.
    return (await webauthn()).generateAuthenticationOptions({ rpID: rpId, allowCredentials: known, userVerification: 'preferred', timeout: ttlSeconds * 1000 });
  }

  async function register(response: RegistrationResponseJSON, expectedChallenge: string): Promise<VerifiedIdentity> {
    const verification = await (await webauthn()).verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.publicOrigin,
      expectedRPID: rpId,
      // The user must be present (UP, the library's default made explicit); verification (UV:
      // a PIN, a biometric) is preferred, not required, as the options ask.
      requireUserPresence: true,
      requireUserVerification: false,
    }).catch((error: unknown) => {
      throw refusal(error);
    });
    if (!verification.verified) throw proofInvalid();
    const { credential } = verification.registrationInfo;
    // The library reads the id from the authenticator data; the id the client names must be that one.
    if (credential.id !== response.id) throw proofInvalid();
    if (await passkeys.find(credential.id)) {
      throw new AppError('CREDENTIAL_IN_USE', 'This passkey is already registered. Sign in with it instead.');
    }
    return {
      type: 'passkey',
      identifier: credential.id,
      verified: true,
      registersCredential: true,
      persistCredential: (trx, owner) =>
        passkeys.insert(trx, owner, {
          credentialId: credential.id,
          publicKey: credential.publicKey,
          counter: credential.counter,
          transports: response.response.transports ?? [],
        }),
    };
  }

  async function authenticate(response: AuthenticationResponseJSON, expectedChallenge: string): Promise<VerifiedIdentity> {
    const stored = await passkeys.find(response.id);
    if (!stored) throw proofInvalid();
    const verification = await (await webauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.publicOrigin,
      expectedRPID: rpId,
      requireUserVerification: false,
      // The library compares counters *before* it checks the signature. An unsigned claim must not
      // flag anyone's passkey as cloned, so it is given 0 (never a regression) and the counter is
      // judged below, once the signature proved the assertion came from the key.
      credential: { id: response.id, publicKey: new Uint8Array(stored.publicKey), counter: 0 },
    }).catch((error: unknown) => {
      throw refusal(error);
    });
    if (!verification.verified) throw proofInvalid();
    const outcome = await passkeys.recordAssertion(stored, verification.authenticationInfo.newCounter);
    // A counter that did not grow means a copy of the key is in use: flagged, and refused.
    if (outcome !== 'accepted') throw proofInvalid();
    return { type: 'passkey', identifier: response.id, verified: true };
  }

  return {
    name: 'passkey',
    authenticator: true,
    challengeBody: PasskeyChallengeBody,
    challengeResponse: PasskeyChallengeResponse,
    proofBody: PasskeyProofBody,

    async challenge(input, context) {
      if (!Value.Check(PasskeyChallengeBody, input)) throw new AppError('VALIDATION_FAILED', 'mode must be "register" or "authenticate".');
      const generated = await options(input.mode, context.accountId);
      await verifications.create({
        strategy: 'passkey',
        challengeHash: challengeHash(generated.challenge),
        state: { mode: input.mode },
        ttlSeconds,
      });
      return { options: generated };
    },

    async verify(input) {
      if (!Value.Check(PasskeyProofBody, input)) throw new AppError('VALIDATION_FAILED', 'response must be a WebAuthn response in JSON.');
      const { response } = input;
      const challenge = await signedChallenge(response.response.clientDataJSON);
      // Spent before anything else is looked at: a challenge is good once, even under concurrent attempts.
      const record = challenge ? await verifications.consume('passkey', challengeHash(challenge)) : null;
      if (!challenge || !record) throw challengeInvalid();
      const mode: Mode = 'attestationObject' in response.response ? 'register' : 'authenticate';
      // A registration answered to an authentication challenge (or the reverse) is not what was asked.
      if (record.state.mode !== mode) throw challengeInvalid();
      return mode === 'register'
        ? register(response as RegistrationResponseJSON, challenge)
        : authenticate(response as AuthenticationResponseJSON, challenge);
    },
  };
}

/** The challenge inside clientDataJSON, if it decodes and has the shape of one of ours. */
async function signedChallenge(clientDataJSON: string): Promise<string | null> {
  const { decodeClientDataJSON } = await webauthnHelpers();
  try {
    const { challenge } = decodeClientDataJSON(clientDataJSON);
    return typeof challenge === 'string' && CHALLENGE_SHAPE.test(challenge) ? challenge : null;
  } catch {
    return null;
  }
}
