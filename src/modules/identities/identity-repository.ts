import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { IdentityRecord, TerritoryColumns } from './identity.js';

export interface IdentityRepository {
  /**
   * The handle's identity when its persona is live (active, not deleted: a deactivated, deleted,
   * purged or rotated-away persona is simply not found, from the very next read); else null.
   */
  findLive(handle: string): Promise<IdentityRecord | null>;
}

interface LookupRow {
  handle: string;
  public_key_hash: string;
  display_name: string;
  avatar_url: string | null;
  code: string;
  name: string;
  federation_domain: string | null;
  matrix_domain: string | null;
  aliases: TerritoryColumns[] | string;
  public_key: Buffer | Uint8Array | null;
}

/**
 * One database call per lookup, the hot path of federation: `identity_lookup` (migration 0007)
 * joins the handle, its live persona, the person's current territory, the old ones and the key,
 * with its plan kept for the session. Nothing is cached here, so every node sees a deactivation at once.
 */
export function createIdentityRepository(db: Db): IdentityRepository {
  return {
    async findLive(handle) {
      const { rows } = await sql<LookupRow>`select * from identity_lookup(${handle})`.execute(db);
      const row = rows[0];
      if (!row) return null;
      return {
        handle: row.handle,
        displayName: row.display_name,
        avatarUrl: row.avatar_url,
        publicKeyHash: row.public_key_hash,
        publicKey: row.public_key ? new Uint8Array(row.public_key) : null,
        territory: { code: row.code, name: row.name, federationDomain: row.federation_domain, matrixDomain: row.matrix_domain },
        aliases: typeof row.aliases === 'string' ? (JSON.parse(row.aliases) as TerritoryColumns[]) : row.aliases,
      };
    },
  };
}
