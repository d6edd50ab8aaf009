import { sql } from 'kysely';
import type { TokenHasher } from '../../crypto/tokens.js';
import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { appendEvent } from '../../events/outbox.js';
import { methodLookupKey } from '../../modules/accounts/account.js';
import { currentTerritoryOf } from '../../modules/handles/handle-repository.js';
import { territoryForWrite } from '../../modules/citizenships/territory-for-write.js';

/** Whose passkey: its `passkey` account, and the person (whose current territory keeps the credential). */
export interface PasskeyOwner {
  readonly accountId: string;
  readonly profileId: string;
}

/** A stored passkey, as an assertion is checked against it. */
export interface StoredPasskey extends PasskeyOwner {
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

/**
 * WebAuthn credentials, kept in the person's current territory (DESIGN.md §2b). The global schema
 * finds one only through its passkey account's lookup key — the keyed hash of the credential id —
 * so a copy of the global database names no authenticator.
 */
export interface PasskeyCredentialRepository {
  find(credentialId: string): Promise<StoredPasskey | null>;
  /**
   * The passkeys of the caller's person that the caller may know of: its own account's, and those of
   * its person's other accounts unless either side is isolated (an isolated account stays separate).
   */
  listForAccount(accountId: string): Promise<PasskeyDescriptor[]>;
  /**
   * Inside the transaction that creates or links the account, after its account row (whose unique
   * lookup key refuses a taken credential id), last. A remote territory commits this at once: should
   * the global part fail after, the row is deleted again (see crossDatabaseTransaction).
   */
  insert(trx: Tx, owner: PasskeyOwner, passkey: NewPasskey): Promise<void>;
  /**
   * Records a verified assertion's counter, or flags the credential as cloned when the counter did
   * not grow, with its `PasskeyCounterRegressed` event in the same transaction (one commit when the
   * territory shares the global database).
   */
  recordAssertion(owner: PasskeyOwner, counter: number): Promise<AssertionOutcome>;
}

/** Options list at most this many credentials (a person has a handful of accounts). */
const LISTED_MAX = 32;

export function createPasskeyCredentialRepository(db: Db, territories: TerritoryDatabases, hasher: TokenHasher): PasskeyCredentialRepository {
  const territoryOf = async (profileId: string, trx?: Tx) => territories.of(await currentTerritoryOf(trx ?? db, profileId), trx);

  return {
    async find(credentialId) {
      const account = await db
        .selectFrom('accounts')
        .select(['id', 'accountability_profile_id as profileId'])
        .where('type', '=', 'passkey')
        .where('lookup_key', '=', methodLookupKey(hasher, 'passkey', credentialId))
        .executeTakeFirst();
      if (!account) return null;
      const row = await (await territoryOf(account.profileId))
        .selectFrom('passkey_credentials')
        .select(['public_key', 'counter'])
        .where('account_id', '=', account.id)
        // The hash already named it; the raw id is compared too, so only the credential asked for answers.
        .where('credential_id', '=', credentialId)
        .executeTakeFirst();
      return row ? { accountId: account.id, profileId: account.profileId, publicKey: new Uint8Array(row.public_key), counter: Number(row.counter) } : null;
    },

    async listForAccount(accountId) {
      // Which accounts the caller may know of is global (privacy modes); their credentials are in the territory.
      const accounts = await db
        .selectFrom('accounts as a')
        .innerJoin('accounts as me', 'me.accountability_profile_id', 'a.accountability_profile_id')
        .select(['a.id', 'a.accountability_profile_id as profileId'])
        .where('me.id', '=', accountId)
        .where('a.type', '=', 'passkey')
        .where((eb) => eb.or([eb('a.id', '=', eb.ref('me.id')), eb.and([eb('me.privacy_mode', '!=', 'isolated'), eb('a.privacy_mode', '!=', 'isolated')])]))
        .execute();
      if (accounts.length === 0) return [];
      const rows = await (await territoryOf(accounts[0]!.profileId))
        .selectFrom('passkey_credentials')
        .select(['credential_id', 'transports'])
        .where('account_id', 'in', accounts.map((account) => account.id))
        .orderBy('created_at')
        .orderBy('account_id')
        .limit(LISTED_MAX)
        .execute();
      return rows.map((row) => ({ id: row.credential_id, transports: row.transports }));
    },

    async insert(trx, owner, passkey) {
      const code = await territoryForWrite(trx, owner.profileId);
      await territories
        .of(code, trx)
        .insertInto('passkey_credentials')
        .values({
          account_id: owner.accountId,
          credential_id: passkey.credentialId,
          public_key: Buffer.from(passkey.publicKey),
          counter: passkey.counter,
          transports: [...passkey.transports],
        })
        .execute();
      territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom('passkey_credentials').where('account_id', '=', owner.accountId).execute());
    },

    async recordAssertion(owner, counter) {
      return db.transaction().execute(async (trx): Promise<AssertionOutcome> => {
        const territory = territories.of(await territoryForWrite(trx, owner.profileId), trx);
        // Compare-and-set in one statement: the counter moves only forward, so of two assertions
        // carrying the same counter (a clone racing the original) the second finds the row already
        // moved, after waiting for the first's row lock, and falls through to the flag below.
        // WebAuthn L3 §7.2 step 22: when either count is nonzero, a new one not above the stored one
        // signals a clone (a counter that went back to 0 included); both 0 is an authenticator
        // that does not count (synced passkeys).
        const accepted = await territory
          .updateTable('passkey_credentials')
          .set({ counter: sql<string>`${counter}::bigint`, last_used_at: sql<Date>`now()` })
          .where('account_id', '=', owner.accountId)
          .where(sql<boolean>`((${counter}::bigint = 0 and counter = 0) or counter < ${counter}::bigint)`)
          .returning('account_id')
          .executeTakeFirst();
        if (accepted) return 'accepted';
        const held = await territory.selectFrom('passkey_credentials').select('account_id').where('account_id', '=', owner.accountId).executeTakeFirst();
        if (!held) return 'missing';
        await appendEvent(trx, { type: 'PasskeyCounterRegressed', payload: { accountId: owner.accountId, accountabilityProfileId: owner.profileId } });
        // Last, for a remote territory commits on its own. The first detection is kept: trust &
        // safety asks since when a copy has been in use.
        await territory
          .updateTable('passkey_credentials')
          .set({ counter_regressed_at: sql<Date>`coalesce(counter_regressed_at, now())` })
          .where('account_id', '=', owner.accountId)
          .execute();
        return 'regressed';
      });
    },
  };
}
