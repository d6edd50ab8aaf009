import { sql } from 'kysely';
import type { SealedEmail } from '../../crypto/email-box.js';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { completeSignIn, type SignInOutcome, type SignInPlan } from './sign-in-repository.js';
import { inheritFromRetired } from './retired-methods.js';
import { insertInitialPersona, type InitialPersona } from '../personas/initial-persona-repository.js';

/** An email account as sign-in needs it. */
export interface EmailAccount {
  readonly accountId: string;
  readonly profileId: string;
  /** Null for an account without a password (another factor only): it cannot sign in by password. */
  readonly passwordHash: string | null;
}

export interface NewEmailAccount {
  /** Chosen by the caller, because the sealed email's associated data names it. */
  readonly accountId: string;
  readonly lookupKey: Buffer;
  readonly email: SealedEmail;
  readonly passwordHash: string;
  readonly persona: InitialPersona;
}

export interface PersonaRef {
  readonly id: string;
  readonly displayName: string;
}

export type RegisterResult =
  | ({ readonly registered: true } & SignInOutcome)
  | { readonly registered: false; readonly reason: 'email-taken' | 'name-taken' };

export type LoginResult = SignInOutcome & { readonly persona: PersonaRef | null };

export interface AccountRepository {
  findEmailAccount(lookupKey: Buffer): Promise<EmailAccount | null>;
  /** Account, person, persona and session in one transaction, with their events. */
  register(account: NewEmailAccount, plan: SignInPlan): Promise<RegisterResult>;
  /** A session for an account whose password was just verified, on its most recently used live persona. */
  signIn(account: EmailAccount, plan: SignInPlan): Promise<LoginResult>;
  /** Compare-and-set: a concurrent password change is never overwritten by an upgrade of the old hash. */
  replacePasswordHash(accountId: string, previous: string, next: string): Promise<void>;
  /** The sealed address of an email account, or null for any other account. */
  sealedEmailOf(accountId: string): Promise<SealedEmail | null>;
  /**
   * Sets (or replaces) an email account's password, and ends every other signed-in session of the
   * account: whoever knew the old password is out. Answers how many sessions ended.
   */
  setPassword(account: { readonly accountId: string; readonly profileId: string }, hash: string, keepSessionId: string): Promise<number>;
}

export function createAccountRepository(db: Db): AccountRepository {
  return {
    async findEmailAccount(lookupKey) {
      const row = await db
        .selectFrom('accounts as a')
        .leftJoin('password_credentials as pc', 'pc.account_id', 'a.id')
        .select(['a.id as accountId', 'a.accountability_profile_id as profileId', 'pc.hash as passwordHash'])
        .where('a.type', '=', 'email')
        .where('a.lookup_key', '=', lookupKey)
        .executeTakeFirst();
      return row ? { accountId: row.accountId, profileId: row.profileId, passwordHash: row.passwordHash ?? null } : null;
    },

    async register(account, plan) {
      try {
        return await db.transaction().execute(async (trx) => {
          // Checked before any write, so this early answer commits nothing.
          if (await isHeld(trx, account.persona.displayNameKey)) return { registered: false as const, reason: 'name-taken' as const };
          const profile = await trx.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
          // The account row goes first: of many registrations of one address at once, every loser
          // stops here, on the unique (type, lookup_key), before touching anything else.
          await trx
            .insertInto('accounts')
            .values({ id: account.accountId, type: 'email', lookup_key: account.lookupKey, accountability_profile_id: profile.id, verified: false })
            .execute();
          await inheritFromRetired(trx, 'email', account.lookupKey, profile.id);
          await trx
            .insertInto('account_emails')
            .values({ account_id: account.accountId, key_id: account.email.keyId, sealed: account.email.sealed })
            .execute();
          await trx.insertInto('password_credentials').values({ account_id: account.accountId, hash: account.passwordHash }).execute();
          await insertInitialPersona(trx, profile.id, account.accountId, account.persona);
          await appendEvent(trx, {
            type: 'AccountRegistered',
            payload: { accountId: account.accountId, accountabilityProfileId: profile.id, accountType: 'email' },
          });
          await appendEvent(trx, {
            type: 'PersonaCreated',
            payload: { personaId: account.persona.id, accountabilityProfileId: profile.id, trustLevel: 'NEW' },
          });
          const outcome = await completeSignIn(trx, { accountId: account.accountId, profileId: profile.id, personaId: account.persona.id }, plan);
          return { registered: true as const, ...outcome };
        });
      } catch (error) {
        if (isUniqueViolation(error, 'accounts_type_lookup_key_unique')) return { registered: false, reason: 'email-taken' };
        if (isUniqueViolation(error, 'personas_live_display_name_unique')) return { registered: false, reason: 'name-taken' };
        throw error;
      }
    },

    signIn: (account, plan) =>
      db.transaction().execute(async (trx) => {
        const persona = await activePersonaOf(trx, account.accountId);
        const outcome = await completeSignIn(trx, { ...account, personaId: persona?.id ?? null }, plan);
        if (outcome.sessionCreated) {
          await appendEvent(trx, { type: 'AccountSignedIn', payload: { accountId: account.accountId, accountabilityProfileId: account.profileId } });
        }
        return { ...outcome, persona };
      }),

    async replacePasswordHash(accountId, previous, next) {
      await db
        .updateTable('password_credentials')
        .set({ hash: next, updated_at: sql<Date>`now()` })
        .where('account_id', '=', accountId)
        .where('hash', '=', previous)
        .execute();
    },

    async sealedEmailOf(accountId) {
      const row = await db.selectFrom('account_emails').select(['key_id as keyId', 'sealed']).where('account_id', '=', accountId).executeTakeFirst();
      return row ?? null;
    },

    setPassword: ({ accountId, profileId }, hash, keepSessionId) =>
      db.transaction().execute(async (trx) => {
        await trx
          .insertInto('password_credentials')
          .values({ account_id: accountId, hash })
          .onConflict((conflict) => conflict.column('account_id').doUpdateSet({ hash, updated_at: sql<Date>`now()` }))
          .execute();
        const ended = await trx
          .deleteFrom('sessions')
          .where('account_id', '=', accountId)
          .where('id', '<>', keepSessionId)
          .where('idle_timeout_seconds', 'is not', null)
          .executeTakeFirst();
        await appendEvent(trx, { type: 'PasswordChanged', payload: { accountId, accountabilityProfileId: profileId } });
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
  const row = await trx
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
    .limit(1)
    .executeTakeFirst();
  return row ? { id: row.id, displayName: row.displayName } : null;
}
