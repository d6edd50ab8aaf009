import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { AccountSecretStore } from '../accounts/account-secret-repository.js';
import { keyHashOf } from '../handles/handle.js';
import { recordKeyHash } from '../handles/handle-repository.js';

/**
 * The person's ed25519 key hash on their handles (spec 004 phase 2, `user_identities.key_hash`, with
 * the raw key beside it for the published did:key) as the identity graph changes: a key sign-in or
 * link records it (key-strategy.ts), a guest merge and an unlink keep it right here. The keys
 * themselves live in the person's territory (`AccountSecretStore`).
 */

type PersonKeys = Pick<AccountSecretStore, 'firstKey' | 'keyOf'>;

/** The guest's handles now belong to a person who may hold a key: its hash stands on them too (spec 004 phase 2). */
export async function recordKeyHashOnMergedHandles(trx: Tx, profileId: string, keys: PersonKeys): Promise<void> {
  const key = await keys.firstKey(trx, profileId);
  if (key) await recordKeyHash(trx, key.accountId, key.publicKey);
}

/**
 * A key that leaves the person leaves their handles too (whoever holds it next must not seem to be
 * them): the person's next key, if any, stands there instead.
 */
export async function forgetKeyHash(trx: Tx, profileId: string, accountId: string, keys: PersonKeys): Promise<void> {
  const gone = await keys.keyOf({ accountId, profileId }, trx);
  if (!gone) return;
  const next = await keys.firstKey(trx, profileId, accountId);
  await trx
    .updateTable('user_identities')
    .set({ key_hash: next ? keyHashOf(next.publicKey) : null, key_public: next?.publicKey ?? null, updated_at: sql<Date>`now()` })
    .where('key_hash', '=', keyHashOf(gone))
    .where('persona_id', 'in', (eb) => eb.selectFrom('personas').select('id').where('accountability_profile_id', '=', profileId))
    .execute();
}
