import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';

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

export interface SessionListRepository {
  /** The live signed-in sessions the account may see (see `visibleAccounts`), most recently used first. */
  list(accountId: string): Promise<ListedSession[]>;
  /** Ends one of those sessions, with its `SessionRevoked` event, in one transaction. */
  revoke(accountId: string, publicId: string): Promise<Revoked>;
  /** Ends all of those sessions but `keepPublicId`, each with its event, in one transaction. */
  revokeAllBut(accountId: string, keepPublicId: string): Promise<Revoked>;
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

const PUBLIC_ID = /^[0-9a-f]{32}$/;

export function createSessionListRepository(db: Db): SessionListRepository {
  /** Deletes the matching sessions (refresh tokens cascade) and writes one event per session. */
  async function revokeWhere(accountId: string, which: (eb: SessionsScope) => Expression<SqlBool>): Promise<Revoked> {
    return db.transaction().execute(async (trx: Tx) => {
      const ended = await trx
        .deleteFrom('sessions as s')
        .where('s.account_id', 'in', (eb) => visibleAccounts(eb, accountId))
        .where((eb) => eb.and([live(eb), which(eb)]))
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
    async list(accountId) {
      return db
        .selectFrom('sessions as s')
        .select([
          's.public_id as publicId',
          's.device_label as deviceLabel',
          's.client',
          's.created_at as createdAt',
          's.last_seen_at as lastSeenAt',
        ])
        .where('s.account_id', 'in', (eb) => visibleAccounts(eb, accountId))
        .where(live)
        .orderBy('s.last_seen_at', 'desc')
        .orderBy('s.created_at', 'desc')
        .execute();
    },

    revoke(accountId, publicId) {
      if (!PUBLIC_ID.test(publicId)) return Promise.resolve({ count: 0, accountabilityProfileId: null });
      return revokeWhere(accountId, (eb) => eb('s.public_id', '=', publicId));
    },

    revokeAllBut(accountId, keepPublicId) {
      return revokeWhere(accountId, (eb) => eb('s.public_id', '<>', keepPublicId));
    },
  };
}
