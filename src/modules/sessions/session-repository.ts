import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AccountType } from '../accounts/account.js';
import type { TrustLevel } from '../personas/persona.js';
import { isUniqueViolation } from '../../db/database.js';
import { createStatementBatcher, type BatchOptions } from '../../db/statement-batcher.js';
import { initialPersonaRow } from '../personas/initial-persona-repository.js';
import { endSignedInSession } from './session-revocation.js';
import type { SessionContext } from './session.js';

/** A guest to write; every id is drawn by the caller, so a batch needs no row-by-row answers to link its rows. */
export interface NewGuest {
  readonly tokenHash: Buffer;
  readonly client: 'browser' | 'api';
  readonly profileId: string;
  readonly accountId: string;
  readonly sessionId: string;
  readonly personaId: string;
  readonly displayName: string;
  readonly displayNameKey: string;
  readonly authorId: string;
}

/** Why a guest (or a batch of them) was not written: the token already has one, or a name is taken. */
export type GuestRefusal = { readonly created: false; readonly reason: 'token-exists' | 'name-taken' };

/** A guest is created (with its session's public id), or the reason it was not. */
export type CreateGuestResult = { readonly created: true; readonly sessionPublicId: string } | GuestRefusal;

/** Every guest of a batch created (session public ids by session id), or none and why. */
export type CreateGuestsResult = { readonly created: true; readonly sessionPublicIds: ReadonlyMap<string, string> } | GuestRefusal;

/** A live session and whether its `last_seen_at` is old enough to be worth refreshing. */
export interface FoundSession {
  readonly context: SessionContext;
  readonly touchDue: boolean;
}

export interface SessionRepository {
  /** A live session by its token's keyed hash; lookups asked at the same time share one statement. */
  find(tokenHash: Buffer): Promise<FoundSession | null>;
  /** A live session by its public id (the `sid` of an access token). */
  findByPublicId(publicId: string): Promise<FoundSession | null>;
  findByTokenHash(tokenHash: Buffer): Promise<SessionContext | null>;
  /** Writes the guests in one statement: all of them, or (on a unique violation) none. */
  createGuests(guests: readonly NewGuest[]): Promise<CreateGuestsResult>;
  /** Marks a signed-in session as used now (keeps it from idling out). */
  touch(sessionId: string): Promise<void>;
  /** Deletes a signed-in session; answers its person's accountability profile id, or null if none matched. */
  deleteSignedIn(tokenHash: Buffer): Promise<string | null>;
}

const PUBLIC_ID = /^[0-9a-f]{32}$/;

/** A row of `session_lookup` (migrations 0015 and 0020): the session, its account and person, its live persona if any. */
interface SessionRow {
  session_id: string;
  session_public_id: string;
  account_id: string;
  account_type: AccountType;
  accountability_profile_id: string;
  banned: boolean;
  verified: boolean;
  persona_id: string | null;
  display_name: string | null;
  trust_level: TrustLevel | null;
  author_id: string | null;
  touch_due: boolean;
}

/** `last_seen_at` is written at most this often per session: idle timeouts are minutes to days. */
const TOUCH_INTERVAL_SECONDS = 60;

/**
 * A minute, or half the idle timeout if that is shorter: a session in use is refreshed well before it
 * could idle out, whatever the timeout.
 */
function touchInterval(idleTimeout: RawBuilder<unknown>) {
  return sql`make_interval(secs => least(${TOUCH_INTERVAL_SECONDS}, ${idleTimeout} / 2.0))`;
}

/** The session a `session_lookup` row describes; its persona only when that persona is live. */
function foundSession(row: SessionRow): FoundSession {
  return {
    touchDue: row.touch_due,
    context: {
      sessionId: row.session_id,
      sessionPublicId: row.session_public_id,
      accountId: row.account_id,
      accountType: row.account_type,
      accountabilityProfileId: row.accountability_profile_id,
      banned: row.banned,
      persona:
        row.persona_id && row.display_name && row.trust_level && row.author_id
          ? { id: row.persona_id, displayName: row.display_name, trustLevel: row.trust_level, authorId: row.author_id, verified: row.verified }
          : null,
    },
  };
}

export interface SessionRepositoryOptions {
  /** How lookups by token that arrive together are grouped into one statement (see statement-batcher.ts). */
  readonly lookupBatch: BatchOptions;
}

export function createSessionRepository(db: Db, options: SessionRepositoryOptions = { lookupBatch: { maxBatch: 64, concurrency: 1 } }): SessionRepository {
  // The hot path: the sessions of the tokens that missed the cache together, in one call to
  // `session_lookup_by_token_hashes` (migration 0020), whose plan the database keeps.
  async function findByTokenHashes(tokenHashes: readonly Buffer[]): Promise<(FoundSession | null)[]> {
    const { rows } = await sql<SessionRow & { token_index: string | number }>`select * from session_lookup_by_token_hashes(${tokenHashes})`.execute(db);
    const found: (FoundSession | null)[] = tokenHashes.map(() => null);
    for (const row of rows) found[Number(row.token_index) - 1] = foundSession(row);
    return found;
  }
  const find = createStatementBatcher(findByTokenHashes, options.lookupBatch);

  async function findByPublicId(publicId: string): Promise<FoundSession | null> {
    if (!PUBLIC_ID.test(publicId)) return null;
    const { rows } = await sql<SessionRow>`select * from session_lookup(${null}, ${publicId})`.execute(db);
    return rows[0] ? foundSession(rows[0]) : null;
  }

  return {
    find,
    findByPublicId,

    async findByTokenHash(tokenHash) {
      return (await find(tokenHash))?.context ?? null;
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

    // Profiles, guest accounts, default personas, access and sessions in one statement: one round
    // trip and one commit however many guests, and a statement commits entirely or not at all. The
    // foreign keys hold: PostgreSQL checks them at the end of the statement, when every row is there.
    async createGuests(guests) {
      try {
        const sessions = await db
          .with('new_profiles', (q) => q.insertInto('accountability_profiles').values(guests.map((g) => ({ id: g.profileId }))).returning('id'))
          .with('new_accounts', (q) =>
            q
              .insertInto('accounts')
              .values(guests.map((g) => ({ id: g.accountId, type: 'guest' as const, lookup_key: g.tokenHash, accountability_profile_id: g.profileId })))
              .returning('id'),
          )
          .with('new_personas', (q) =>
            q
              .insertInto('personas')
              .values(guests.map((g) => initialPersonaRow(g.profileId, g.accountId, {
                id: g.personaId,
                displayName: g.displayName,
                displayNameKey: g.displayNameKey,
                authorId: g.authorId,
              })))
              .returning('id'),
          )
          .with('new_access', (q) =>
            q.insertInto('persona_access').values(guests.map((g) => ({ account_id: g.accountId, persona_id: g.personaId }))).returning('persona_id'),
          )
          .insertInto('sessions')
          .values(guests.map((g) => ({ id: g.sessionId, token_hash: g.tokenHash, account_id: g.accountId, active_persona_id: g.personaId, client: g.client })))
          .returning(['id', 'public_id'])
          .execute();
        return { created: true, sessionPublicIds: new Map(sessions.map((row) => [row.id, row.public_id])) };
      } catch (error) {
        // The token's hash keys both the guest account and its session; in one statement either
        // index may be the one that meets a second start of the same token first.
        if (isUniqueViolation(error, 'accounts_type_lookup_key_unique') || isUniqueViolation(error, 'sessions_token_hash_unique')) {
          return { created: false, reason: 'token-exists' };
        }
        if (isUniqueViolation(error, 'personas_live_display_name_unique')) return { created: false, reason: 'name-taken' };
        throw error;
      }
    },
  };
}
