import { sql, type Kysely } from 'kysely';
import * as walletKeys from '../territory-migrations/t0004-persona-wallet-keys.js';
import { copyIntoTerritories } from '../territory-upgrade.js';

/**
 * Data residency for session-wallet private keys: the sealed key (and the id of the key sealing it)
 * leaves `persona_wallets` for `persona_wallet_keys` in the persona's person's territory, upgraded in
 * place like 0008. The address stays global: it is public (every profile list shows it) and is what
 * the wallet is found by.
 */
const WALLET_KEYS = {
  name: 'persona_wallet_keys',
  columns: ['persona_id', 'accountability_profile_id', 'key_id', 'private_sealed', 'created_at'],
  key: 'persona_id',
  source: sql`
    select w.persona_id, p.accountability_profile_id, w.key_id, w.private_sealed, w.created_at, p.accountability_profile_id as owner_profile
    from persona_wallets w join personas p on p.id = w.persona_id`,
} as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await copyIntoTerritories(db, '0010', [WALLET_KEYS], walletKeys.up);
  await sql`alter table persona_wallets drop column key_id, drop column private_sealed`.execute(db);
}

/** Back to the global columns, from the territories in this database (remote ones are not reachable here). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table persona_wallets add column key_id text, add column private_sealed bytea`.execute(db);
  const local = (await sql<{ code: string }>`select code from territories where not remote`.execute(db)).rows;
  for (const { code } of local) {
    const keys = sql.table(`territory_${code}.persona_wallet_keys`);
    await sql`update persona_wallets w set key_id = k.key_id, private_sealed = k.private_sealed from ${keys} k where k.persona_id = w.persona_id`.execute(db);
    await sql`delete from ${keys}`.execute(db);
  }
  await sql`delete from persona_wallets where private_sealed is null`.execute(db);
  await sql`alter table persona_wallets alter column key_id set not null, alter column private_sealed set not null`.execute(db);
}
