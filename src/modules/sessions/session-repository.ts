import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/database.js';
import { isUniqueViolation } from '../../db/database.js';
import { insertInitialPersona } from '../personas/initial-persona-repository.js';
import { endSignedInSession } from './session-revocation.js';
import type { SessionContext } from './session.js';

export interface NewGuest {
  readonly tokenHash: Buffer;
  readonly personaId: string;
  readonly displayName: string;
  readonly displayNameKey: string;
  readonly authorId: string;
}

/** A guest is created, or the reason it was not: the token already has one, or the name is taken. */
export type CreateGuestResult =
  | { readonly created: true }
  | { readonly created: false; readonly reason: 'token-exists' | 'name-taken' };

/** A live session and whether its `last_seen_at` is old enough to be worth refreshing. */
export interface FoundSession {
  readonly context: SessionContext;
  readonly touchDue: boolean;
}

export interface SessionRepository {
  find(tokenHash: Buffer): Promise<FoundSession | null>;
  /** A live session by its public id (the `sid` of an access token). */
  findByPublicId(publicId: string): Promise<FoundSession | null>;
  findByTokenHash(tokenHash: Buffer): Promise<SessionContext | null>;
  createGuest(guest: NewGuest): Promise<CreateGuestResult>;
  /** Marks a signed-in session as used now (keeps it from idling out). */
  touch(sessionId: string): Promise<void>;
  /** Deletes a signed-in session; answers its person's accountability profile id, or null if none matched. */
  deleteSignedIn(tokenHash: Buffer): Promise<string | null>;
}

const PUBLIC_ID = /^[0-9a-f]{32}$/;

/** `last_seen_at` is written at most this often per session: idle timeouts are minutes to days. */
const TOUCH_INTERVAL_SECONDS = 60;

/**
 * A minute, or half the idle timeout if that is shorter: a session in use is refreshed well before it
 * could idle out, whatever the timeout.
 */
function touchInterval(idleTimeout: RawBuilder<unknown>) {
  return sql`make_interval(secs => least(${TOUCH_INTERVAL_SECONDS}, ${idleTimeout} / 2.0))`;
}

export function createSessionRepository(db: Db): SessionRepository {
  // The hot path: one indexed lookup joining the few rows a request needs.
  async function find(by: { readonly tokenHash: Buffer } | { readonly publicId: string }): Promise<FoundSession | null> {
    const row = await db
      .selectFrom('sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .innerJoin('accountability_profiles as ap', 'ap.id', 'a.accountability_profile_id')
      .leftJoin('personas as p', (join) =>
        join.onRef('p.id', '=', 's.active_persona_id').on('p.is_active', '=', true).on('p.deleted_at', 'is', null),
      )
      .select([
        's.id as sessionId',
        's.public_id as sessionPublicId',
        's.account_id as accountId',
        'a.type as accountType',
        'a.accountability_profile_id as accountabilityProfileId',
        'ap.banned_at as bannedAt',
        'ap.is_verified as verified',
        'p.id as personaId',
        'p.display_name as displayName',
        'p.trust_level as trustLevel',
        'p.author_id as authorId',
        sql<boolean>`s.idle_timeout_seconds is not null and s.last_seen_at < now() - ${touchInterval(sql.ref('s.idle_timeout_seconds'))}`.as(
          'touchDue',
        ),
      ])
      .where((eb) => ('publicId' in by ? eb('s.public_id', '=', by.publicId) : eb('s.token_hash', '=', by.tokenHash)))
      // The database's clock decides expiry, so every node agrees whatever its own clock says:
      // the absolute end (expires_at), and for a signed-in session the idle end.
      .where((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<Date>`now()`)]))
      .where(sql<boolean>`(s.idle_timeout_seconds is null or s.last_seen_at + make_interval(secs => s.idle_timeout_seconds) > now())`)
      .executeTakeFirst();
    if (!row) return null;
    return {
      touchDue: row.touchDue,
      context: {
        sessionId: row.sessionId,
        sessionPublicId: row.sessionPublicId,
        accountId: row.accountId,
        accountType: row.accountType,
        accountabilityProfileId: row.accountabilityProfileId,
        banned: row.bannedAt !== null,
        persona:
          row.personaId && row.displayName && row.trustLevel && row.authorId
            ? { id: row.personaId, displayName: row.displayName, trustLevel: row.trustLevel, authorId: row.authorId, verified: row.verified }
            : null,
      },
    };
  }

  return {
    find: (tokenHash) => find({ tokenHash }),
    findByPublicId: (publicId) => (PUBLIC_ID.test(publicId) ? find({ publicId }) : Promise.resolve(null)),

    async findByTokenHash(tokenHash) {
      return (await find({ tokenHash }))?.context ?? null;
    },

    async touch(sessionId) {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: sql<Date>`now()` })
        .where('id', '=', sessionId)
        // Two nodes refreshing at once write once; a refresh never moves the time backwards.
        .where(sql<boolean>`last_seen_at < now() - ${touchInterval(sql.ref('idle_timeout_seconds'))}`)
        .execute();
    },

    deleteSignedIn: (tokenHash) => endSignedInSession(db, tokenHash),

    // Profile, guest account, default persona, access and session commit together or not at all.
    async createGuest(guest) {
      try {
        await db.transaction().execute(async (trx) => {
          const profile = await trx
            .insertInto('accountability_profiles')
            .defaultValues()
            .returning('id')
            .executeTakeFirstOrThrow();
          const account = await trx
            .insertInto('accounts')
            .values({ type: 'guest', lookup_key: guest.tokenHash, accountability_profile_id: profile.id })
            .returning('id')
            .executeTakeFirstOrThrow();
          await insertInitialPersona(trx, profile.id, account.id, {
            id: guest.personaId,
            displayName: guest.displayName,
            displayNameKey: guest.displayNameKey,
            authorId: guest.authorId,
          });
          await trx
            .insertInto('sessions')
            .values({ token_hash: guest.tokenHash, account_id: account.id, active_persona_id: guest.personaId })
            .execute();
        });
        return { created: true };
      } catch (error) {
        if (isUniqueViolation(error, 'accounts_type_lookup_key_unique')) return { created: false, reason: 'token-exists' };
        if (isUniqueViolation(error, 'personas_live_display_name_unique')) return { created: false, reason: 'name-taken' };
        throw error;
      }
    },
  };
}
