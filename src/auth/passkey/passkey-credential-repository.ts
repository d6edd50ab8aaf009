import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';

/** A stored passkey, as an assertion is checked against it. */
export interface StoredPasskey {
  readonly accountId: string;
  /** The COSE_Key the authenticator gave at registration. */
  readonly publicKey: Uint8Array;
  readonly counter: number;
}

export interface NewPasskey {
  readonly credentialId: string;
  readonly publicKey: Uint8Array;
  readonly counter: number;
  readonly transports: readonly string[];
}

/** A credential to list in WebAuthn options (exclude on registration, allow on step-up). */
export interface PasskeyDescriptor {
  readonly id: string;
  readonly transports: string[];
}

/** `accepted`: counter and last use recorded; `regressed`: flagged (event written); `missing`: deleted meanwhile. */
export type AssertionOutcome = 'accepted' | 'regressed' | 'missing';

export interface PasskeyCredentialRepository {
  find(credentialId: string): Promise<StoredPasskey | null>;
  /**
   * The passkeys of the caller's person that the caller may know of: its own account's, and those of
   * its person's other accounts unless either side is isolated (an isolated account stays separate).
   */
  listForAccount(accountId: string): Promise<PasskeyDescriptor[]>;
  /** Inside the transaction that creates or links the account; the primary key refuses a taken id. */
  insert(trx: Tx, accountId: string, passkey: NewPasskey): Promise<void>;
  /**
   * Records a verified assertion's counter, or flags the credential as cloned when the counter did
   * not grow, with its `PasskeyCounterRegressed` event in the same transaction.
   */
  recordAssertion(credentialId: string, counter: number): Promise<AssertionOutcome>;
}

/** Options list at most this many credentials (a person has a handful of accounts). */
const LISTED_MAX = 32;

export function createPasskeyCredentialRepository(db: Db): PasskeyCredentialRepository {
  return {
    async find(credentialId) {
      const row = await db
        .selectFrom('passkey_credentials')
        .select(['account_id as accountId', 'public_key as publicKey', 'counter'])
        .where('credential_id', '=', credentialId)
        .executeTakeFirst();
      return row ? { accountId: row.accountId, publicKey: new Uint8Array(row.publicKey), counter: Number(row.counter) } : null;
    },

    async listForAccount(accountId) {
      const rows = await db
        .selectFrom('passkey_credentials as pc')
        .innerJoin('accounts as a', 'a.id', 'pc.account_id')
        .select(['pc.credential_id as id', 'pc.transports'])
        .where((eb) =>
          eb.or([
            eb('a.id', '=', accountId),
            eb.and([
              eb('a.privacy_mode', '!=', 'isolated'),
              eb(
                'a.accountability_profile_id',
                'in',
                eb.selectFrom('accounts').select('accountability_profile_id').where('id', '=', accountId).where('privacy_mode', '!=', 'isolated'),
              ),
            ]),
          ]),
        )
        .orderBy('pc.created_at')
        .limit(LISTED_MAX)
        .execute();
      return rows.map((row) => ({ id: row.id, transports: row.transports }));
    },

    async insert(trx, accountId, passkey) {
      await trx
        .insertInto('passkey_credentials')
        .values({
          credential_id: passkey.credentialId,
          account_id: accountId,
          public_key: Buffer.from(passkey.publicKey),
          counter: passkey.counter,
          transports: [...passkey.transports],
        })
        .execute();
    },

    async recordAssertion(credentialId, counter) {
      return db.transaction().execute(async (trx): Promise<AssertionOutcome> => {
        // Compare-and-set in one statement: the counter moves only forward, so of two assertions
        // carrying the same counter (a clone racing the original) the second finds the row already
        // moved, after waiting for the first's row lock, and falls through to the flag below.
        // WebAuthn L3 §7.2 step 22: when either count is nonzero, a new one not above the stored one
        // signals a clone (a counter that went back to 0 included); both 0 is an authenticator
        // that does not count (synced passkeys).
        const accepted = await trx
          .updateTable('passkey_credentials')
          .set({ counter: sql<string>`${counter}::bigint`, last_used_at: sql<Date>`now()` })
          .where('credential_id', '=', credentialId)
          .where(sql<boolean>`((${counter}::bigint = 0 and counter = 0) or counter < ${counter}::bigint)`)
          .returning('account_id')
          .executeTakeFirst();
        if (accepted) return 'accepted';
        // The first detection is kept: trust & safety asks since when a copy has been in use.
        const flagged = await trx
          .updateTable('passkey_credentials as pc')
          .from('accounts as a')
          .set({ counter_regressed_at: sql<Date>`coalesce(pc.counter_regressed_at, now())` })
          .whereRef('a.id', '=', 'pc.account_id')
          .where('pc.credential_id', '=', credentialId)
          .returning(['pc.account_id as accountId', 'a.accountability_profile_id as profileId'])
          .executeTakeFirst();
        if (!flagged) return 'missing';
        await appendEvent(trx, {
          type: 'PasskeyCounterRegressed',
          payload: { accountId: flagged.accountId, accountabilityProfileId: flagged.profileId },
        });
        return 'regressed';
      });
    },
  };
}
