import { sql } from 'kysely';
import type { Sealed } from '../../crypto/data-box.js';
import type { Db } from '../../db/database.js';

export interface StoredSigningKey {
  readonly kid: string;
  readonly publicJwk: Record<string, unknown>;
  readonly privateKey: Sealed;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
}

/** The JWT signing keys every node shares. */
export interface SigningKeyRepository {
  /** Keys still worth publishing: current ones, and retired ones whose tokens may still be alive. */
  list(publishSeconds: number): Promise<StoredSigningKey[]>;
  insert(key: Omit<StoredSigningKey, 'createdAt' | 'retiredAt'>): Promise<void>;
  /** Retires every key but `kid` (they keep verifying until their tokens have expired). */
  retireOthers(kid: string): Promise<void>;
}

export function createSigningKeyRepository(db: Db): SigningKeyRepository {
  return {
    async list(publishSeconds) {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) =>
          eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', sql<Date>`now() - make_interval(secs => ${publishSeconds})`)]),
        )
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((row) => ({
        kid: row.kid,
        publicJwk: row.public_jwk,
        privateKey: { keyId: row.key_id, sealed: row.private_sealed },
        createdAt: row.created_at,
        retiredAt: row.retired_at,
      }));
    },

    async insert(key) {
      await db
        .insertInto('signing_keys')
        .values({ kid: key.kid, public_jwk: JSON.stringify(key.publicJwk), key_id: key.privateKey.keyId, private_sealed: key.privateKey.sealed })
        .execute();
    },

    async retireOthers(kid) {
      await db.updateTable('signing_keys').set({ retired_at: sql<Date>`now()` }).where('kid', '<>', kid).where('retired_at', 'is', null).execute();
    },
  };
}
