import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AccountType } from '../accounts/account.js';

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

export function createStepUpRepository(db: Db): StepUpRepository {
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
      const row = await db
        .selectFrom('accounts as a')
        .leftJoin('password_credentials as pc', 'pc.account_id', 'a.id')
        .select('a.id')
        .where('a.accountability_profile_id', '=', profileId)
        .where((eb) => eb.or([eb('a.type', 'in', ['wallet', 'social', 'passkey', 'key']), eb('pc.account_id', 'is not', null)]))
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
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
