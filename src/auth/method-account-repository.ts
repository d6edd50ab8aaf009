import type { Sealed } from '../crypto/data-box.js';
import { crossDatabaseTransaction } from '../db/cross-database-transaction.js';
import { isUniqueViolation, type Db, type Tx } from '../db/database.js';
import type { AccountSecretStore } from '../modules/accounts/account-secret-repository.js';
import type { SessionLabelStore } from '../modules/sessions/session-label-repository.js';
import { appendEvent } from '../events/outbox.js';
import type { PersonaRef } from '../modules/accounts/account-repository.js';
import { activePersonaOf } from '../modules/accounts/account-repository.js';
import { completeSignIn, lockPerson, type SignInOutcome, type SignInPlan } from '../modules/accounts/sign-in-repository.js';
import type { StrategyName, VerifiedIdentity } from './strategy.js';
import { inheritFromRetired } from '../modules/accounts/retired-methods.js';
import { insertInitialPersona, type InitialPersona } from '../modules/personas/initial-persona-repository.js';

/** A method account about to be found or made; the sealed identifier is bound to `accountId`. */
export interface MethodAccount {
  /** Used only when the account is new. */
  readonly accountId: string;
  readonly type: StrategyName;
  readonly lookupKey: Buffer;
  readonly sealedIdentifier: Sealed;
  readonly provider: string | null;
  readonly identity: VerifiedIdentity;
  /** The default persona of a new person (spec 003: no manual profile creation). */
  readonly persona: InitialPersona;
}

export type MethodSignInResult =
  | (SignInOutcome & {
      readonly ok: true;
      readonly isNewUser: boolean;
      readonly accountId: string;
      readonly profileId: string;
      readonly persona: PersonaRef | null;
    })
  | { readonly ok: false; readonly reason: 'name-taken' | 'credential-in-use' | 'raced' };

export interface MethodAccountRepository {
  /**
   * Signs in with a proven method in one transaction: the account is found, or made with its person,
   * credential and default persona; then the session (see `completeSignIn`).
   */
  signIn(account: MethodAccount, plan: SignInPlan): Promise<MethodSignInResult>;
}

export function createMethodAccountRepository(db: Db, secrets: AccountSecretStore, labels: SessionLabelStore): MethodAccountRepository {
  return {
    async signIn(account, plan) {
      try {
        return await crossDatabaseTransaction(db, async (trx): Promise<MethodSignInResult> => {
          const existing = await findAccount(trx, account.type, account.lookupKey);
          if (existing && account.identity.registersCredential) return { ok: false, reason: 'credential-in-use' };
          const found = existing ?? (await createPerson(trx, account));
          const provenNow = existing !== null && account.identity.verified && !existing.verified;
          if (provenNow) await verifyAccount(trx, secrets, existing.id, existing.profileId, account.type);
          const persona = existing ? await activePersonaOf(trx, found.id) : { id: account.persona.id, displayName: account.persona.displayName };
          const outcome = await completeSignIn(trx, { accountId: found.id, profileId: found.profileId, personaId: persona?.id ?? null }, plan, labels);
          if (outcome.sessionCreated) {
            await appendEvent(trx, { type: 'AccountSignedIn', payload: { accountId: found.id, accountabilityProfileId: found.profileId } });
          }
          // Last: a remote territory commits on its own, and is undone if the commit fails (see AccountSecretStore).
          if (!existing) await writeMethodSecrets(trx, secrets, account, found.profileId);
          const evict = provenNow ? [...outcome.evict, found.profileId] : outcome.evict;
          return { ok: true, isNewUser: !existing, accountId: found.id, profileId: found.profileId, persona, ...outcome, evict };
        });
      } catch (error) {
        // Two first sign-ins of one identity at once: the loser finds the winner's account on retry.
        if (isUniqueViolation(error, 'accounts_type_lookup_key_unique')) return { ok: false, reason: 'raced' };
        if (isUniqueViolation(error, 'personas_live_display_name_unique')) return { ok: false, reason: 'name-taken' };
        // A credential (passkey id, public key) already stored for another account.
        if (isUniqueViolation(error)) return { ok: false, reason: 'credential-in-use' };
        throw error;
      }
    },
  };
}

interface FoundAccount {
  readonly id: string;
  readonly profileId: string;
  readonly verified: boolean;
}

/** Locked, so a concurrent link or verification of the same account waits for this sign-in. */
export async function findAccount(trx: Tx, type: StrategyName, lookupKey: Buffer): Promise<FoundAccount | null> {
  const row = await trx
    .selectFrom('accounts')
    .select(['id', 'accountability_profile_id as profileId', 'verified'])
    .where('type', '=', type)
    .where('lookup_key', '=', lookupKey)
    .forUpdate()
    .executeTakeFirst();
  return row ?? null;
}

/** A new person: accountability profile, the account with its sealed identifier and credential, a default persona. */
async function createPerson(trx: Tx, account: MethodAccount): Promise<FoundAccount> {
  const profile = await trx.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  // The account row goes first: of many first sign-ins of one identity at once, every loser stops
  // here, on the unique (type, lookup_key), before touching anything else.
  await insertMethodAccount(trx, account, profile.id);
  await insertInitialPersona(trx, profile.id, account.accountId, account.persona);
  await appendEvent(trx, { type: 'PersonaCreated', payload: { personaId: account.persona.id, accountabilityProfileId: profile.id, trustLevel: 'NEW' } });
  return { id: account.accountId, profileId: profile.id, verified: account.identity.verified };
}

/**
 * The account row, for a person that exists (new, or linking). Its sealed identifier and credential
 * go to the person's territory with `writeMethodSecrets`, last in the transaction.
 */
export async function insertMethodAccount(trx: Tx, account: Omit<MethodAccount, 'persona'>, profileId: string, privacyMode: 'linked' | 'partial' | 'isolated' = 'linked'): Promise<void> {
  await trx
    .insertInto('accounts')
    .values({
      id: account.accountId,
      type: account.type,
      lookup_key: account.lookupKey,
      accountability_profile_id: profileId,
      verified: account.identity.verified,
      provider: account.provider,
      privacy_mode: privacyMode,
    })
    .execute();
  // A method retired from a marked person brings the mark along (DESIGN.md §2 invariant 4).
  await inheritFromRetired(trx, account.type, account.lookupKey, profileId);
  await appendEvent(trx, { type: 'AccountRegistered', payload: { accountId: account.accountId, accountabilityProfileId: profileId, accountType: account.type } });
}

/**
 * The new account's identifier, sealed, and its credential (a passkey's public key, an ed25519 key),
 * in its person's territory: the last writes of the transaction that creates or links the account.
 * A remote territory commits them at once; the transaction runs through `crossDatabaseTransaction`,
 * which deletes them again should anything after them (the commit included) fail.
 */
export async function writeMethodSecrets(trx: Tx, secrets: AccountSecretStore, account: Pick<MethodAccount, 'accountId' | 'type' | 'sealedIdentifier' | 'identity'>, profileId: string): Promise<void> {
  const owner = { accountId: account.accountId, profileId };
  if (account.type === 'email') await secrets.sealEmail(trx, owner, account.sealedIdentifier);
  else await secrets.sealIdentifier(trx, owner, account.sealedIdentifier);
  await account.identity.persistCredential?.(trx, owner);
}

/**
 * An address registered with a password and never proven is proven now, by a code sent to it. The
 * password goes: whoever set it never showed they own the mailbox (account pre-hijacking), and the
 * sessions it made end with it.
 */
async function verifyAccount(trx: Tx, secrets: AccountSecretStore, accountId: string, profileId: string, type: StrategyName): Promise<void> {
  // The person first, as the sign-in below locks them anyway: the password's removal locks them too.
  await lockPerson(trx, profileId);
  await trx.updateTable('accounts').set({ verified: true }).where('id', '=', accountId).execute();
  // Taking access away is safe to commit early, should the territory be remote.
  await secrets.deletePassword(trx, { accountId, profileId });
  await trx.deleteFrom('sessions').where('account_id', '=', accountId).where('idle_timeout_seconds', 'is not', null).execute();
  await appendEvent(trx, { type: 'AccountVerified', payload: { accountId, accountabilityProfileId: profileId, accountType: type } });
}
