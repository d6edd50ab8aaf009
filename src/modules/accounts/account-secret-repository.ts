import { sql } from 'kysely';
import type { Sealed } from '../../crypto/data-box.js';
import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';
import { territoryForWrite } from '../citizenships/territory-for-write.js';

/** Whose secret: the account it belongs to, and its person (whose current territory keeps it). */
export interface SecretOwner {
  readonly accountId: string;
  readonly profileId: string;
}

/** The sealed identifiers of a person's accounts, by account id. */
export interface SealedOfAccount {
  readonly email: Sealed | null;
  readonly identifier: Sealed | null;
}

/** An ed25519 key of one of the person's `key` accounts. */
export interface HeldKey {
  readonly accountId: string;
  readonly publicKey: Buffer;
}

/**
 * The secret half of sign-in methods — sealed emails, sealed identifiers, argon2id password hashes,
 * ed25519 keys — and the personas' sealed session-wallet keys,
 * kept in the person's current territory (DESIGN.md §2b: personal data stays in its region); the
 * global `accounts` row keeps only the keyed lookup hash. Every read and write goes through here.
 *
 * Writes take the caller's global transaction: a territory in the global database joins it (one
 * commit), a remote one commits on its own at once. Callers therefore write here LAST in their
 * transaction, after everything that can still fail (unique violations, limits), and run it through
 * `crossDatabaseTransaction`: each write here says how to take it back, so a failure of the global
 * part after it (the commit included) leaves no territory row behind. Every write and removal locks
 * the person first (`territoryForWrite`), so a territory move cannot switch in the middle of it.
 * Removals (`deletePassword`, `eraseAccount`) only ever take access away, so they are safe either way;
 * they reach every copy of the row, not only the current one (see `everyCopy`).
 */
export interface AccountSecretStore {
  sealEmail(trx: Tx, owner: SecretOwner, sealed: Sealed): Promise<void>;
  sealIdentifier(trx: Tx, owner: SecretOwner, sealed: Sealed): Promise<void>;
  /** Sets or replaces the account's password hash. */
  setPassword(trx: Tx, owner: SecretOwner, hash: string): Promise<void>;
  /** Compare-and-set: a concurrent password change is never overwritten by an upgrade of the old hash. */
  replacePasswordHash(owner: SecretOwner, previous: string, next: string): Promise<void>;
  deletePassword(trx: Tx, owner: SecretOwner): Promise<void>;
  passwordHash(owner: SecretOwner, trx?: Tx): Promise<string | null>;
  /** Which of the person's accounts have a password. */
  withPassword(profileId: string, accountIds: readonly string[]): Promise<ReadonlySet<string>>;
  sealedOf(profileId: string, accountIds: readonly string[], trx?: Tx): Promise<ReadonlyMap<string, SealedOfAccount>>;
  /** The raw ed25519 key of a new `key` account (written LAST too, see above). */
  addKey(trx: Tx, owner: SecretOwner, publicKey: Buffer): Promise<void>;
  /** The account's ed25519 key, or null. */
  keyOf(owner: SecretOwner, trx?: Tx): Promise<Buffer | null>;
  /** The person's first key (the one their handles carry), leaving out `exceptAccountId`'s; null without any. */
  firstKey(trx: Tx, profileId: string, exceptAccountId?: string): Promise<HeldKey | null>;
  /** The keys of these accounts of the person, by account id. */
  keysOf(profileId: string, accountIds: readonly string[]): Promise<ReadonlyMap<string, Buffer>>;
  /** A persona's session-wallet private key, sealed (written LAST too, see above). */
  sealWalletKey(trx: Tx, owner: { personaId: string; profileId: string }, sealed: Sealed): Promise<void>;
  /** The persona's wallet key, from every copy (the persona is purged). */
  eraseWalletKey(trx: Tx, owner: { personaId: string; profileId: string }): Promise<void>;
  /** Every secret of one account, its passkey and its sessions' labels (it is being unlinked or absorbed). */
  eraseAccount(trx: Tx, owner: SecretOwner): Promise<void>;
  /**
   * A person absorbed another (a guest brought along): the session-wallet keys of the personas that
   * came with it pass to the person, in the person's territory, so moves and erasure find them
   * (written LAST too, and taken back from a remote territory should the merge not commit).
   */
  rehomeWalletKeys(trx: Tx, fromProfileId: string, intoProfileId: string): Promise<void>;
}

export function createAccountSecretStore(db: Db, territories: TerritoryDatabases): AccountSecretStore {
  const territoryOf = async (profileId: string, trx?: Tx) => territories.of(await currentTerritoryOf(trx ?? db, profileId), trx);
  /** The person's territory for a write inside `trx`, the person locked (see territoryForWrite). */
  const writable = async (trx: Tx, profileId: string) => {
    const code = await territoryForWrite(trx, profileId);
    return { code, territory: territories.of(code, trx) };
  };

  /**
   * Where copies of the person's rows may be: the current territory, every territory they hold a
   * citizenship in (dual citizenship keeps the old copy), and both ends of a move in flight (its
   * second copy would carry a row deleted only on one side back to life: a password an email
   * verification took away, say).
   */
  async function everyCopy(profileId: string, trx: Tx) {
    const codes = new Set([await territoryForWrite(trx, profileId)]);
    const held = await trx.selectFrom('citizenships').select('territory_code as code').where('accountability_profile_id', '=', profileId).where('ended_at', 'is', null).execute();
    const moving = await trx
      .selectFrom('territory_moves')
      .select(['from_territory as from', 'to_territory as to'])
      .where('accountability_profile_id', '=', profileId)
      .where('step', '<>', 'done')
      .execute();
    for (const code of [...held.map((row) => row.code), ...moving.flatMap((move) => [move.from, move.to])]) codes.add(code);
    return [...codes].map((code) => territories.of(code, trx));
  }

  async function seal(trx: Tx, table: 'account_emails' | 'account_identifiers', owner: SecretOwner, sealed: Sealed) {
    const { code, territory } = await writable(trx, owner.profileId);
    await territory.insertInto(table).values({ account_id: owner.accountId, key_id: sealed.keyId, sealed: sealed.sealed }).execute();
    territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom(table).where('account_id', '=', owner.accountId).execute());
  }

  return {
    sealEmail: (trx, owner, sealed) => seal(trx, 'account_emails', owner, sealed),
    sealIdentifier: (trx, owner, sealed) => seal(trx, 'account_identifiers', owner, sealed),

    async setPassword(trx, owner, hash) {
      const { code, territory } = await writable(trx, owner.profileId);
      // A remote territory commits at once: should the global part fail, the previous hash comes back.
      const previous = territories.sharesGlobalDatabase(code)
        ? undefined
        : await territory.selectFrom('password_credentials').select(['hash', 'updated_at']).where('account_id', '=', owner.accountId).executeTakeFirst();
      await territory
        .insertInto('password_credentials')
        .values({ account_id: owner.accountId, hash })
        .onConflict((conflict) => conflict.column('account_id').doUpdateSet({ hash, updated_at: sql<Date>`now()` }))
        .execute();
      territories.undoIfAborted(code, trx, (remote) =>
        previous
          ? remote.updateTable('password_credentials').set({ hash: previous.hash, updated_at: previous.updated_at }).where('account_id', '=', owner.accountId).execute()
          : remote.deleteFrom('password_credentials').where('account_id', '=', owner.accountId).execute(),
      );
    },

    async replacePasswordHash(owner, previous, next) {
      // Its own transaction, only for the lock: a move switching meanwhile carries the new hash.
      await db.transaction().execute(async (trx) => {
        await (await writable(trx, owner.profileId)).territory
          .updateTable('password_credentials')
          .set({ hash: next, updated_at: sql<Date>`now()` })
          .where('account_id', '=', owner.accountId)
          .where('hash', '=', previous)
          .execute();
      });
    },

    async deletePassword(trx, owner) {
      for (const territory of await everyCopy(owner.profileId, trx)) {
        await territory.deleteFrom('password_credentials').where('account_id', '=', owner.accountId).execute();
      }
    },

    async passwordHash(owner, trx) {
      const row = await (await territoryOf(owner.profileId, trx))
        .selectFrom('password_credentials')
        .select('hash')
        .where('account_id', '=', owner.accountId)
        .executeTakeFirst();
      return row?.hash ?? null;
    },

    async withPassword(profileId, accountIds) {
      if (accountIds.length === 0) return new Set();
      const rows = await (await territoryOf(profileId))
        .selectFrom('password_credentials')
        .select('account_id')
        .where('account_id', 'in', [...accountIds])
        .execute();
      return new Set(rows.map((row) => row.account_id));
    },

    async sealedOf(profileId, accountIds, trx) {
      const found = new Map<string, SealedOfAccount>();
      if (accountIds.length === 0) return found;
      const territory = await territoryOf(profileId, trx);
      const ids = [...accountIds];
      const emails = await territory.selectFrom('account_emails').select(['account_id', 'key_id', 'sealed']).where('account_id', 'in', ids).execute();
      const identifiers = await territory.selectFrom('account_identifiers').select(['account_id', 'key_id', 'sealed']).where('account_id', 'in', ids).execute();
      for (const id of ids) {
        const email = emails.find((row) => row.account_id === id);
        const identifier = identifiers.find((row) => row.account_id === id);
        if (!email && !identifier) continue;
        found.set(id, {
          email: email ? { keyId: email.key_id, sealed: email.sealed } : null,
          identifier: identifier ? { keyId: identifier.key_id, sealed: identifier.sealed } : null,
        });
      }
      return found;
    },

    async addKey(trx, owner, publicKey) {
      const { code, territory } = await writable(trx, owner.profileId);
      await territory.insertInto('key_credentials').values({ account_id: owner.accountId, public_key: publicKey }).execute();
      territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom('key_credentials').where('account_id', '=', owner.accountId).execute());
    },

    async keyOf(owner, trx) {
      const row = await (await territoryOf(owner.profileId, trx))
        .selectFrom('key_credentials')
        .select('public_key')
        .where('account_id', '=', owner.accountId)
        .executeTakeFirst();
      return row?.public_key ?? null;
    },

    async firstKey(trx, profileId, exceptAccountId) {
      // The territory knows no accounts: the person's account ids come from the global schema.
      const accounts = await trx.selectFrom('accounts').select('id').where('accountability_profile_id', '=', profileId).where('type', '=', 'key').execute();
      const ids = accounts.map((account) => account.id).filter((id) => id !== exceptAccountId);
      if (ids.length === 0) return null;
      const row = await (await territoryOf(profileId, trx))
        .selectFrom('key_credentials')
        .select(['account_id', 'public_key'])
        .where('account_id', 'in', ids)
        .orderBy('created_at')
        .orderBy('account_id')
        .executeTakeFirst();
      return row ? { accountId: row.account_id, publicKey: row.public_key } : null;
    },

    async keysOf(profileId, accountIds) {
      if (accountIds.length === 0) return new Map();
      const rows = await (await territoryOf(profileId))
        .selectFrom('key_credentials')
        .select(['account_id', 'public_key'])
        .where('account_id', 'in', [...accountIds])
        .execute();
      return new Map(rows.map((row) => [row.account_id, row.public_key]));
    },

    async sealWalletKey(trx, owner, sealed) {
      const { code, territory } = await writable(trx, owner.profileId);
      await territory
        .insertInto('persona_wallet_keys')
        .values({ persona_id: owner.personaId, accountability_profile_id: owner.profileId, key_id: sealed.keyId, private_sealed: sealed.sealed })
        .execute();
      territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom('persona_wallet_keys').where('persona_id', '=', owner.personaId).execute());
    },

    async eraseWalletKey(trx, owner) {
      for (const territory of await everyCopy(owner.profileId, trx)) {
        await territory.deleteFrom('persona_wallet_keys').where('persona_id', '=', owner.personaId).execute();
      }
    },

    async rehomeWalletKeys(trx, fromProfileId, intoProfileId) {
      const [from, into] = [await territoryForWrite(trx, fromProfileId), await territoryForWrite(trx, intoProfileId)];
      const source = territories.of(from, trx);
      const rows = await source.selectFrom('persona_wallet_keys').selectAll().where('accountability_profile_id', '=', fromProfileId).execute();
      if (rows.length === 0) return;
      const personas = rows.map((row) => row.persona_id);
      // Each step on a remote territory commits at once: should the merge not commit, it is taken back.
      if (from === into) {
        await source.updateTable('persona_wallet_keys').set({ accountability_profile_id: intoProfileId }).where('persona_id', 'in', personas).execute();
        territories.undoIfAborted(from, trx, (remote) =>
          remote.updateTable('persona_wallet_keys').set({ accountability_profile_id: fromProfileId }).where('persona_id', 'in', personas).execute(),
        );
        return;
      }
      const copied = await territories
        .of(into, trx)
        .insertInto('persona_wallet_keys')
        .values(rows.map((row) => ({ ...row, accountability_profile_id: intoProfileId })))
        .onConflict((conflict) => conflict.column('persona_id').doNothing())
        .returning('persona_id')
        .execute();
      const written = copied.map((row) => row.persona_id);
      // Only the copies this merge wrote: one already there was not its to take back.
      if (written.length > 0) territories.undoIfAborted(into, trx, (remote) => remote.deleteFrom('persona_wallet_keys').where('persona_id', 'in', written).execute());
      await source.deleteFrom('persona_wallet_keys').where('persona_id', 'in', personas).execute();
      // Runs first (undos run newest first): the keys are back with the guest before their copies go.
      territories.undoIfAborted(from, trx, (remote) => remote.insertInto('persona_wallet_keys').values(rows).onConflict((conflict) => conflict.column('persona_id').doNothing()).execute());
    },

    async eraseAccount(trx, owner) {
      for (const territory of await everyCopy(owner.profileId, trx)) {
        for (const table of ['account_emails', 'account_identifiers', 'password_credentials', 'key_credentials', 'passkey_credentials', 'session_labels'] as const) {
          await territory.deleteFrom(table).where('account_id', '=', owner.accountId).execute();
        }
      }
    },
  };
}
