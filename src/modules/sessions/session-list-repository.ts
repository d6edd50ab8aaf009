import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import type { SessionLabelStore } from './session-label-repository.js';

/** One live signed-in session as its owner may see it: no row id, account, token hash or address. */
export interface ListedSession {
  readonly publicId: string;
  readonly deviceLabel: string | null;
  readonly client: 'browser' | 'api';
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
}

/** Sessions ended by a revocation, and whose cached sessions to evict. */
export interface Revoked {
  readonly count: number;
  /** The person whose sessions ended (null when none did). */
  readonly accountabilityProfileId: string | null;
}

/**
 * Whose sessions: a signed-in account's (see `visibleAccounts`), or a guest's. A guest sees its own
 * session only (the anonymous identity: a cookie's, or an API client's), and can end only an API
 * client's: a browser guest's session is the `anon_id` identity itself (see `guestScope`).
 */
export type SessionScope = 'signed-in' | 'guest';

export interface SessionListRepository {
  /** The live sessions the account may see in its scope, most recently used first. */
  list(accountId: string, scope?: SessionScope): Promise<ListedSession[]>;
  /** Ends one of those sessions, with its `SessionRevoked` event, in one transaction. */
  revoke(accountId: string, publicId: string, scope?: SessionScope): Promise<Revoked>;
  /** Ends all of those sessions but `keepPublicId`, each with its event, in one transaction. */
  revokeAllBut(accountId: string, keepPublicId: string, scope?: SessionScope): Promise<Revoked>;
}

type SessionsScope = ExpressionBuilder<Database & { s: Database['sessions'] }, 's'>;

/**
 * The accounts whose sessions an account may see: its own, and, unless it is `isolated`, those of
 * its person's other accounts that are not `isolated` either. Privacy modes keep accounts apart in
 * both directions: an isolated account does not learn that its person has other sign-in methods
 * (nor when and from what devices they are used), and the others do not learn of it.
 */
function visibleAccounts(eb: SessionsScope, accountId: string) {
  return eb
    .selectFrom('accounts as a')
    .innerJoin('accounts as me', 'me.accountability_profile_id', 'a.accountability_profile_id')
    .select('a.id')
    .where('me.id', '=', accountId)
    .where((inner) =>
      inner.or([
        inner('a.id', '=', inner.ref('me.id')),
        inner.and([inner('me.privacy_mode', '<>', 'isolated'), inner('a.privacy_mode', '<>', 'isolated')]),
      ]),
    );
}

/**
 * Live signed-in sessions: the same conditions as session-repository.ts's lookup (the database's
 * clock decides), restricted to signed-in ones (a guest's anonymous session has no idle timeout: it
 * is the anonymous identity itself, not a device session, and is never listed or revoked here).
 */
function live(eb: SessionsScope) {
  return eb.and([
    eb('s.idle_timeout_seconds', 'is not', null),
    eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<Date>`now()`)]),
    eb(sql<Date>`s.last_seen_at + make_interval(secs => s.idle_timeout_seconds)`, '>', sql<Date>`now()`),
  ]);
}

/** A guest's own anonymous session (no idle timeout), alive until its absolute end if it has one. */
function guestSessions(eb: SessionsScope, accountId: string) {
  return eb.and([
    eb('s.account_id', '=', accountId),
    eb('s.idle_timeout_seconds', 'is', null),
    eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<Date>`now()`)]),
  ]);
}

/** The sessions a scope lists. */
function listed(eb: SessionsScope, accountId: string, scope: SessionScope) {
  return scope === 'guest' ? guestSessions(eb, accountId) : eb.and([eb('s.account_id', 'in', visibleAccounts(eb, accountId)), live(eb)]);
}

/**
 * The sessions a scope may end. A browser guest's never: deleting it would leave the `anon_id`
 * cookie naming an account with no session (its identity, and any ban on it, are the account's).
 * An API guest's may end: that is its sign-out; its tokens stop working, and the account stays.
 */
function revocable(eb: SessionsScope, accountId: string, scope: SessionScope) {
  return scope === 'guest' ? eb.and([guestSessions(eb, accountId), eb('s.client', '=', 'api')]) : listed(eb, accountId, scope);
}

const PUBLIC_ID = /^[0-9a-f]{32}$/;

export function createSessionListRepository(db: Db, labels: Pick<SessionLabelStore, 'labelsOf'>): SessionListRepository {
  /** Deletes the matching sessions (refresh tokens cascade) and writes one event per session. */
  async function revokeWhere(accountId: string, scope: SessionScope, which: (eb: SessionsScope) => Expression<SqlBool>): Promise<Revoked> {
    return db.transaction().execute(async (trx: Tx) => {
      const ended = await trx
        .deleteFrom('sessions as s')
        .where((eb) => eb.and([revocable(eb, accountId, scope), which(eb)]))
        .returning((eb) => [
          's.id',
          eb.selectFrom('accounts').select('accountability_profile_id').whereRef('accounts.id', '=', 's.account_id').as('profileId'),
        ])
        .execute();
      for (const session of ended) {
        await appendEvent(trx, {
          type: 'SessionRevoked',
          payload: { sessionId: session.id, accountabilityProfileId: session.profileId as string, reason: 'user' },
        });
      }
      return { count: ended.length, accountabilityProfileId: ended[0]?.profileId ?? null };
    });
  }

  return {
    async list(accountId, scope = 'signed-in') {
      const rows = await db
        .selectFrom('sessions as s')
        .select((eb) => [
          's.id',
          's.public_id as publicId',
          's.client',
          's.created_at as createdAt',
          's.last_seen_at as lastSeenAt',
          eb.selectFrom('accounts').select('accountability_profile_id').whereRef('accounts.id', '=', 's.account_id').as('profileId'),
        ])
        .where((eb) => listed(eb, accountId, scope))
        .orderBy('s.last_seen_at', 'desc')
        .orderBy('s.created_at', 'desc')
        .execute();
      // Every listed session is the one person's (see `listed`): their territory holds the labels.
      const profileId = rows[0]?.profileId;
      const labelled = profileId ? await labels.labelsOf(profileId, rows.map((row) => row.id)) : new Map<string, string>();
      return rows.map(({ id, profileId: _person, ...session }) => ({ ...session, deviceLabel: labelled.get(id) ?? null }));
    },

    revoke(accountId, publicId, scope = 'signed-in') {
      if (!PUBLIC_ID.test(publicId)) return Promise.resolve({ count: 0, accountabilityProfileId: null });
      return revokeWhere(accountId, scope, (eb) => eb('s.public_id', '=', publicId));
    },

    revokeAllBut(accountId, keepPublicId, scope = 'signed-in') {
      return revokeWhere(accountId, scope, (eb) => eb('s.public_id', '<>', keepPublicId));
    },
  };
}
