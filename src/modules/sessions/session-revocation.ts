import type { Tx } from '../../db/database.js';

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
