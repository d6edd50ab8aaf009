import type { Db, Tx } from '../../db/database.js';

/**
 * Ends every signed-in session of a person, inside the caller's transaction (a ban, a deletion).
 * The guest's anonymous session stays: it is the anonymous identity itself, and it is what keeps a
 * ban attached to the browser. Callers publish a cache eviction for the person after commit.
 */
export async function revokeSignedInSessions(trx: Tx, accountabilityProfileId: string): Promise<number> {
  const result = await trx
    .deleteFrom('sessions')
    .where('idle_timeout_seconds', 'is not', null)
    .where('account_id', 'in', (eb) =>
      eb.selectFrom('accounts').select('id').where('accountability_profile_id', '=', accountabilityProfileId),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes one signed-in session by its token hash (a guest's anonymous session is never matched);
 * answers the id of its person, so the caller can evict their cached sessions, or null.
 */
export async function endSignedInSession(db: Db, tokenHash: Buffer): Promise<string | null> {
  const ended = await db
    .deleteFrom('sessions')
    .where('token_hash', '=', tokenHash)
    .where('idle_timeout_seconds', 'is not', null)
    .returning((eb) =>
      eb.selectFrom('accounts').select('accountability_profile_id').whereRef('accounts.id', '=', 'sessions.account_id').as('profileId'),
    )
    .executeTakeFirst();
  return ended?.profileId ?? null;
}
