import type { Tx } from '../../db/database.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';

/**
 * The person's current territory, for a write there (or a removal): their accountability profile row
 * is locked first, FOR NO KEY UPDATE, until the caller's transaction ends. A move's switch locks the
 * same row FOR UPDATE and copies the person's rows again under it (move-repository.ts), so:
 * - a write that found the old territory has committed before the switch copies: it is carried;
 * - a write that starts while the switch runs waits for it, and then finds the new territory.
 *
 * NO KEY UPDATE rather than UPDATE: it does not conflict with the KEY SHARE lock every foreign key
 * check on the row takes (a new persona, appeal or account of the person), so a transaction that
 * inserted such a row first and writes to the territory after cannot deadlock with another doing
 * the same. Taking it first in a transaction keeps the usual order (person, then their rows).
 * That holds only while no one upgrades it: a transaction that will lock the person FOR UPDATE later
 * (a sign-in's `lockPerson`, a link) must take FOR UPDATE before its first territory write, or it
 * deadlocks with one that holds a KEY SHARE on the person and waits here (an appeal being opened).
 *
 * Reads need no lock (`currentTerritoryOf`): a read racing a switch finds the rows in the old
 * territory until the retire step, then in the new one. Resolving a session reads no territory.
 */
export async function territoryForWrite(trx: Tx, profileId: string): Promise<string> {
  await lockForTerritoryWrite(trx, profileId);
  return currentTerritoryOf(trx, profileId);
}

/**
 * The lock alone, for a transaction that writes to the territory last but locks other rows of the
 * person before (their sessions, say): taken first, it keeps the order person-then-rows.
 */
export async function lockForTerritoryWrite(trx: Tx, profileId: string): Promise<void> {
  await trx.selectFrom('accountability_profiles').select('id').where('id', '=', profileId).forNoKeyUpdate().executeTakeFirst();
}
