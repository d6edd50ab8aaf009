import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AccountType } from '../accounts/account.js';
import type { AccountSecretStore } from '../accounts/account-secret-repository.js';

/** How recently and how strongly a session authenticated. */
export interface SessionAssurance {
  /** Authenticated (signed in or stepped up) within the window. */
  readonly recent: boolean;
  /** By an authenticator: anything but an email code. */
  readonly strong: boolean;
}

export interface StepUpRepository {
  /** Null when the session is gone. */
  assurance(sessionId: string, windowSeconds: number): Promise<SessionAssurance | null>;
  /** Whether the person has a method stronger than an email code: a password, wallet, passkey, key or social account. */
  hasAuthenticator(profileId: string): Promise<boolean>;
  /** Whether the person has any sign-in method besides a guest cookie. */
  hasSignInMethod(profileId: string): Promise<boolean>;
  /** The person an account belongs to, or null. */
  ownerOf(type: AccountType, lookupKey: Buffer): Promise<string | null>;
  /** Records a fresh authentication on the session, strong or not. */
  markSteppedUp(sessionId: string, strong: boolean): Promise<void>;
}

export function createStepUpRepository(db: Db, secrets: AccountSecretStore): StepUpRepository {
  return {
    async assurance(sessionId, windowSeconds) {
      const row = await db
        .selectFrom('sessions')
        .select([
          'step_up_capable as strong',
          sql<boolean>`authenticated_at > now() - make_interval(secs => ${windowSeconds})`.as('recent'),
        ])
        .where('id', '=', sessionId)
        .executeTakeFirst();
      return row ? { recent: row.recent, strong: row.strong } : null;
    },

    async hasAuthenticator(profileId) {
      const accounts = await db.selectFrom('accounts').select(['id', 'type']).where('accountability_profile_id', '=', profileId).execute();
      if (accounts.some((account) => ['wallet', 'social', 'passkey', 'key'].includes(account.type))) return true;
      // Else a password, kept in the person's territory.
      return (await secrets.withPassword(profileId, accounts.map((account) => account.id))).size > 0;
    },

    async hasSignInMethod(profileId) {
      const row = await db
        .selectFrom('accounts')
        .select('id')
        .where('accountability_profile_id', '=', profileId)
        .where('type', '<>', 'guest')
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    async ownerOf(type, lookupKey) {
      const row = await db
        .selectFrom('accounts')
        .select('accountability_profile_id')
        .where('type', '=', type)
        .where('lookup_key', '=', lookupKey)
        .executeTakeFirst();
      return row?.accountability_profile_id ?? null;
    },

    async markSteppedUp(sessionId, strong) {
      await db
        .updateTable('sessions')
        .set({ authenticated_at: sql<Date>`now()`, ...(strong ? { step_up_capable: true } : {}) })
        .where('id', '=', sessionId)
        .execute();
    },
  };
}
