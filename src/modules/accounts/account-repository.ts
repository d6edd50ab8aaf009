import { sql } from 'kysely';
import type { Sealed } from '../../crypto/data-box.js';
import type { SealedEmail } from '../../crypto/email-box.js';
import { crossDatabaseTransaction } from '../../db/cross-database-transaction.js';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit } from '../audit/audit-repository.js';
import { insertHandle, type ClaimedHandle } from '../handles/handle-repository.js';
import { lockForTerritoryWrite } from '../citizenships/territory-for-write.js';
import type { SessionLabelStore } from '../sessions/session-label-repository.js';
import type { AccountSecretStore } from './account-secret-repository.js';
import type { RecoveryCodeStore } from './recovery-code-repository.js';
import { completeSignIn, type SignInOutcome, type SignInPlan } from './sign-in-repository.js';
import { inheritFromRetired } from './retired-methods.js';
import { insertInitialPersona, type InitialPersona } from '../personas/initial-persona-repository.js';

/** A password account (email or handle) as sign-in needs it. */
export interface EmailAccount {
  readonly accountId: string;
  readonly profileId: string;
  /** Null for an account without a password (another factor only): it cannot sign in by password. */
  readonly passwordHash: string | null;
}

/** How a new person signs in: an email address, or a handle alone (spec 004: email is optional). */
export type NewPasswordMethod =
  | { readonly type: 'email'; readonly lookupKey: Buffer; readonly email: SealedEmail }
  | { readonly type: 'handle'; readonly lookupKey: Buffer; readonly identifier: Sealed };

export interface NewEmailAccount {
  /** Chosen by the caller, because the sealed email's associated data names it. */
  readonly accountId: string;
  readonly method: NewPasswordMethod;
  readonly passwordHash: string;
  readonly persona: InitialPersona;
  /** The handle the first persona claims in the same transaction, when one was given. */
  readonly handle: { readonly handle: string; readonly skeleton: string } | null;
  /** Keyed hashes of the handle account's recovery codes (none for an email account). */
  readonly recoveryCodeHashes: readonly Buffer[];
  /**
   * Settles the new person in the territory they chose (citizenship, resident row, invitation use),
   * inside the transaction, after the account row has won its race; null for the default territory.
   */
  readonly settle: ((trx: Tx, accountabilityProfileId: string) => Promise<void>) | null;
  readonly correlationId: string;
}

/** An account with a password of its own, and its identifier sealed (the policy keeps the name out of the password). */
export interface PasswordAccount {
  readonly accountId: string;
  readonly type: 'email' | 'handle';
  readonly sealed: Sealed | null;
}

export interface PersonaRef {
  readonly id: string;
  readonly displayName: string;
}

export type RegisterResult =
  | ({ readonly registered: true; readonly handle: ClaimedHandle | null } & SignInOutcome)
  | { readonly registered: false; readonly reason: 'email-taken' | 'handle-taken' | 'name-taken' };

export type LoginResult = SignInOutcome & { readonly persona: PersonaRef | null };

export interface AccountRepository {
  findEmailAccount(lookupKey: Buffer): Promise<EmailAccount | null>;
  /**
   * The account a handle signs in: the person's handle account, else the email account that made
   * the persona holding the handle (the handle is that person's username too, spec 004).
   */
  findHandleAccount(lookupKey: Buffer, handle: string): Promise<EmailAccount | null>;
  /** Account, person, persona and session in one transaction, with their events. */
  register(account: NewEmailAccount, plan: SignInPlan): Promise<RegisterResult>;
  /** A session for an account whose password was just verified, on its most recently used live persona. */
  signIn(account: EmailAccount, plan: SignInPlan): Promise<LoginResult>;
  /** Compare-and-set: a concurrent password change is never overwritten by an upgrade of the old hash. */
  replacePasswordHash(account: { readonly accountId: string; readonly profileId: string }, previous: string, next: string): Promise<void>;
  /**
   * The account whose password a session sets: its own when it is an email or handle account, else
   * its person's handle account (signed in with a linked passkey or key, say); null when none.
   */
  passwordAccountFor(caller: { readonly accountId: string; readonly profileId: string }): Promise<PasswordAccount | null>;
  /**
   * Sets (or replaces) an email account's password, and ends every other signed-in session of the
   * account: whoever knew the old password is out. Answers how many sessions ended.
   */
  setPassword(account: { readonly accountId: string; readonly profileId: string }, hash: string, keepSessionId: string): Promise<number>;
}

/**
 * The account of one type with this lookup key (global), and its password hash if it has one (in
 * the person's territory).
 */
export async function findPasswordAccount(db: Db, secrets: AccountSecretStore, type: 'email' | 'handle', lookupKey: Buffer): Promise<EmailAccount | null> {
  const row = await db
    .selectFrom('accounts as a')
    .select(['a.id as accountId', 'a.accountability_profile_id as profileId'])
    .where('a.type', '=', type)
    .where('a.lookup_key', '=', lookupKey)
    .executeTakeFirst();
  return row ? withPasswordHash(secrets, row) : null;
}

async function withPasswordHash(secrets: AccountSecretStore, account: { accountId: string; profileId: string }): Promise<EmailAccount> {
  return { accountId: account.accountId, profileId: account.profileId, passwordHash: await secrets.passwordHash(account) };
}

export function createAccountRepository(db: Db, recoveryCodes: RecoveryCodeStore, secrets: AccountSecretStore, labels: SessionLabelStore): AccountRepository {
  return {
    findEmailAccount: (lookupKey) => findPasswordAccount(db, secrets, 'email', lookupKey),

    async findHandleAccount(lookupKey, handle) {
      const row = await db
        .selectFrom('accounts as a')
        .select(['a.id as accountId', 'a.accountability_profile_id as profileId'])
        .where((eb) =>
          eb.or([
            eb.and([eb('a.type', '=', 'handle'), eb('a.lookup_key', '=', lookupKey)]),
            eb.and([
              eb('a.type', '=', 'email'),
              eb(
                'a.id',
                '=',
                eb.selectFrom('user_identities as u').innerJoin('personas as p', 'p.id', 'u.persona_id').select('p.owner_account_id').where('u.handle', '=', handle),
              ),
            ]),
          ]),
        )
        .orderBy(sql`a.type = 'handle'`, 'desc')
        .executeTakeFirst();
      return row ? withPasswordHash(secrets, row) : null;
    },

    async register(account, plan) {
      try {
        return await crossDatabaseTransaction(db, async (trx) => {
          // Checked before any write, so this early answer commits nothing.
          if (await isHeld(trx, account.persona.displayNameKey)) return { registered: false as const, reason: 'name-taken' as const };
          const profile = await trx.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
          // The account row goes first: of many registrations of one address at once, every loser
          // stops here, on the unique (type, lookup_key), before touching anything else.
          const { method } = account;
          await trx
            .insertInto('accounts')
            .values({ id: account.accountId, type: method.type, lookup_key: method.lookupKey, accountability_profile_id: profile.id, verified: false })
            .execute();
          await inheritFromRetired(trx, method.type, method.lookupKey, profile.id);
          if (account.settle) await account.settle(trx, profile.id);
          await insertInitialPersona(trx, profile.id, account.accountId, account.persona);
          await appendEvent(trx, {
            type: 'AccountRegistered',
            payload: { accountId: account.accountId, accountabilityProfileId: profile.id, accountType: method.type },
          });
          await appendEvent(trx, {
            type: 'PersonaCreated',
            payload: { personaId: account.persona.id, accountabilityProfileId: profile.id, trustLevel: 'NEW' },
          });
          const handle = account.handle ? await insertHandle(trx, { personaId: account.persona.id, profileId: profile.id, ...account.handle }, secrets) : null;
          if (handle) {
            await appendAudit(trx, { actor: 'person', correlationId: account.correlationId, action: 'handle.claim', target: account.persona.id, detail: { handle: handle.handle } });
          }
          const outcome = await completeSignIn(trx, { accountId: account.accountId, profileId: profile.id, personaId: account.persona.id }, plan, labels);
          // Last: a remote territory commits on its own, so nothing that could still fail comes after
          // (and should the commit itself fail, these writes are undone: see crossDatabaseTransaction).
          // The settled citizenship above, in this transaction, decides which territory that is.
          const owner = { accountId: account.accountId, profileId: profile.id };
          if (method.type === 'email') await secrets.sealEmail(trx, owner, method.email);
          // Sealed like every other method's identifier, for the identity graph's view.
          else await secrets.sealIdentifier(trx, owner, method.identifier);
          // The password goes after the sealed identifier: a password row alone is what signs in.
          await secrets.setPassword(trx, owner, account.passwordHash);
          if (account.recoveryCodeHashes.length > 0) await recoveryCodes.replace(trx, owner, account.recoveryCodeHashes);
          return { registered: true as const, handle, ...outcome };
        });
      } catch (error) {
        if (isUniqueViolation(error, 'accounts_type_lookup_key_unique')) {
          return { registered: false, reason: account.method.type === 'email' ? 'email-taken' : 'handle-taken' };
        }
        // The handle (or a look-alike of it) was issued meanwhile; the unique indexes decide races.
        if (isUniqueViolation(error, 'user_identities_handle_unique') || isUniqueViolation(error, 'user_identities_skeleton_unique')) {
          return { registered: false, reason: 'handle-taken' };
        }
        if (isUniqueViolation(error, 'personas_live_display_name_unique')) return { registered: false, reason: 'name-taken' };
        throw error;
      }
    },

    signIn: (account, plan) =>
      crossDatabaseTransaction(db, async (trx) => {
        const persona = await activePersonaOf(trx, account.accountId);
        const outcome = await completeSignIn(trx, { ...account, personaId: persona?.id ?? null }, plan, labels);
        if (outcome.sessionCreated) {
          await appendEvent(trx, { type: 'AccountSignedIn', payload: { accountId: account.accountId, accountabilityProfileId: account.profileId } });
        }
        return { ...outcome, persona };
      }),

    replacePasswordHash: (account, previous, next) => secrets.replacePasswordHash(account, previous, next),

    async passwordAccountFor({ accountId, profileId }) {
      const row = await db
        .selectFrom('accounts as a')
        .select(['a.id', 'a.type', 'a.accountability_profile_id as profileId'])
        .where((eb) =>
          eb.or([
            eb.and([eb('a.id', '=', accountId), eb('a.type', 'in', ['email', 'handle'])]),
            eb.and([eb('a.accountability_profile_id', '=', profileId), eb('a.type', '=', 'handle')]),
          ]),
        )
        .orderBy(sql`a.id = ${accountId}`, 'desc')
        .orderBy('a.created_at')
        .executeTakeFirst();
      if (!row) return null;
      const found = (await secrets.sealedOf(row.profileId, [row.id])).get(row.id);
      const sealed = (row.type === 'email' ? found?.email : found?.identifier) ?? null;
      return { accountId: row.id, type: row.type as PasswordAccount['type'], sealed };
    },

    setPassword: ({ accountId, profileId }, hash, keepSessionId) =>
      crossDatabaseTransaction(db, async (trx) => {
        // The person before their sessions: the order a ban, which ends them, locks in.
        await lockForTerritoryWrite(trx, profileId);
        const ended = await trx
          .deleteFrom('sessions')
          .where('account_id', '=', accountId)
          .where('id', '<>', keepSessionId)
          .where('idle_timeout_seconds', 'is not', null)
          .executeTakeFirst();
        await appendEvent(trx, { type: 'PasswordChanged', payload: { accountId, accountabilityProfileId: profileId } });
        // Last, for a remote territory commits on its own: should the global commit still fail, the
        // previous hash is put back (see crossDatabaseTransaction).
        await secrets.setPassword(trx, { accountId, profileId }, hash);
        return Number(ended.numDeletedRows);
      }),
  };
}

/**
 * A name released by its last holder stays theirs for the reuse window (impersonation rule); a new
 * person may not take it. (Holds are written when a persona gives up its name.)
 */
async function isHeld(trx: Tx, displayNameKey: string): Promise<boolean> {
  const hold = await trx
    .selectFrom('display_name_holds')
    .select('display_name_key')
    .where('display_name_key', '=', displayNameKey)
    .where('held_until', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return hold !== undefined;
}

/**
 * The persona a new session acts as: the live persona the account's sessions used most recently,
 * else its newest live persona, else none (every persona deactivated or deleted: the client offers
 * to create one).
 */
export async function activePersonaOf(trx: Tx, accountId: string): Promise<PersonaRef | null> {
  const row = await activePersonaQuery(trx, accountId).executeTakeFirst();
  return row ? { id: row.id, displayName: row.displayName } : null;
}

/** The query behind `activePersonaOf`. */
export function activePersonaQuery(executor: Db | Tx, accountId: string) {
  return executor
    .selectFrom('persona_access as pa')
    .innerJoin('personas as p', 'p.id', 'pa.persona_id')
    .select(['p.id', 'p.display_name as displayName'])
    .select((eb) =>
      eb
        .selectFrom('sessions as s')
        .select((inner) => inner.fn.max('s.last_seen_at').as('lastUsed'))
        .whereRef('s.account_id', '=', 'pa.account_id')
        .whereRef('s.active_persona_id', '=', 'p.id')
        .as('lastUsed'),
    )
    .where('pa.account_id', '=', accountId)
    .where('p.is_active', '=', true)
    .where('p.deleted_at', 'is', null)
    .orderBy(sql`"lastUsed" desc nulls last`)
    .orderBy('p.created_at', 'desc')
    .limit(1);
}
