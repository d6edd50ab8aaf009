import { sql, type Kysely } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import type { TerritoryDatabase } from '../../db/territory-schema.js';

/** Whose rows a table holds, and how a move treats them. */
type TableRule =
  /** The resident row itself: created in the new territory, deactivated (kept) in the old one. */
  | { readonly kind: 'resident' }
  /**
   * A person's rows, found by `column` holding their accountability profile id or one of their
   * account ids. Mirrored by primary key (`key`) into the new territory, deleted from the old one on
   * retirement.
   */
  | { readonly kind: 'personal'; readonly column: string; readonly owner: 'profile' | 'accounts'; readonly key: readonly string[] }
  /** Rows that belong to the territory itself, not to a resident: they never move. */
  | { readonly kind: 'territory'; readonly why: string }
  /**
   * Rows found only by a secret the person holds (a key derived from their browser's token), which
   * on purpose name no owner: no move or erasure can find them by person. They follow the token
   * instead, whenever it is presented (`why` says where).
   */
  | { readonly kind: 'bearer'; readonly why: string };

/**
 * Every table of a territory schema, classified. The mapped type makes this exhaustive: a table
 * added to `TerritoryDatabase` does not compile until it says how a move treats it, so a new
 * personal table moves with its person by adding one entry here.
 */
export const TABLE_RULES: { readonly [T in keyof TerritoryDatabase]: TableRule } = {
  residents: { kind: 'resident' },
  recovery_codes: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id', 'code_hash'] },
  invitation_emails: { kind: 'territory', why: 'the address an invitation of this territory was sent to belongs to the invitation' },
  account_emails: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  account_identifiers: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  password_credentials: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  key_credentials: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  persona_wallet_keys: { kind: 'personal', column: 'accountability_profile_id', owner: 'profile', key: ['persona_id'] },
  passkey_credentials: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  session_labels: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['session_id'] },
  appeal_statements: { kind: 'personal', column: 'accountability_profile_id', owner: 'profile', key: ['appeal_id'] },
  sealed_identity_links: {
    kind: 'bearer',
    why: 'voluntary identification is keyed by the browser\'s token alone (spec 000): it moves to the territory of whoever the browser acts as whenever the token is presented, and the browser deletes it (identification-repository.ts)',
  },
};

const PERSONAL = Object.entries(TABLE_RULES).flatMap(([table, rule]) => (rule.kind === 'personal' ? [{ table, ...rule }] : []));

/** Rows are written in batches: a person with many rows never builds one huge statement. */
const BATCH = 500;

/** Who a person is, in the terms territory rows are found by. */
export interface Person {
  readonly accountabilityProfileId: string;
  readonly accountIds: readonly string[];
}

export interface TerritoryRowsRepository {
  /** The person's account ids (global), by which their territory rows are found; given a transaction, read in it. */
  personOf(accountabilityProfileId: string, trx?: Tx): Promise<Person>;
  /**
   * Makes sure the person has a resident row `userId` in the territory (active), without touching
   * one that exists: idempotent. Given the global transaction, a territory in the global database
   * joins it, and a remote one deletes a row made here again should that transaction not commit.
   */
  ensureResident(code: string, person: Person, userId: string, trx?: Tx): Promise<void>;
  /**
   * Makes the person's personal rows in `to` exactly those in `from` (by primary key): the missing
   * and the changed ones are written, the ones `from` no longer has are deleted. Idempotent; answers
   * how many rows it wrote or deleted. Given the global transaction, a territory in the global
   * database is read and written in it (the move's switch does this under the person's lock).
   */
  mirror(from: string, to: string, person: Person, trx?: Tx): Promise<number>;
  /** Deactivates the resident row `userId` and deletes the person's other personal rows in the territory: idempotent. */
  retire(code: string, person: Person, userId: string, trx?: Tx): Promise<void>;
  /**
   * Identity deletion, inside its transaction and before the accounts go: the person's personal rows
   * leave every territory they live in (and the default one), and their resident rows are deactivated.
   */
  eraseAll(trx: Tx, accountabilityProfileId: string): Promise<void>;
}

export function createTerritoryRowsRepository(global: Kysely<any>, databases: TerritoryDatabases): TerritoryRowsRepository {
  // The rows are described as data, so the queries over them are dynamic: Kysely's typed builder
  // cannot follow a table name chosen at run time.
  const of = (code: string, trx?: Tx) => databases.of(code, trx) as unknown as Kysely<any>;
  const ownersOf = (person: Person, owner: 'profile' | 'accounts') => (owner === 'profile' ? [person.accountabilityProfileId] : [...person.accountIds]);

  async function retire(code: string, person: Person, userId: string, trx?: Tx): Promise<void> {
    const db = of(code, trx);
    await db
      .updateTable('residents')
      .set({ is_active: false, deactivated_at: sql`coalesce(deactivated_at, now())` })
      .where('id', '=', userId)
      .execute();
    for (const rule of PERSONAL) {
      const owners = ownersOf(person, rule.owner);
      if (owners.length > 0) await db.deleteFrom(rule.table).where(rule.column, 'in', owners).execute();
    }
  }

  /** One personal table: the target's rows of the person become the source's. */
  async function mirrorTable(rule: (typeof PERSONAL)[number], source: Kysely<any>, target: Kysely<any>, owners: string[]): Promise<number> {
    const wanted = await source.selectFrom(rule.table).selectAll().where(rule.column, 'in', owners).execute();
    const present = await target.selectFrom(rule.table).selectAll().where(rule.column, 'in', owners).execute();
    const keyOf = (row: Record<string, unknown>) => canonical(rule.key.map((column) => row[column]));
    const have = new Map(present.map((row) => [keyOf(row), canonical(row)]));
    const keep = new Set(wanted.map(keyOf));
    const stale = present.filter((row) => !keep.has(keyOf(row)));
    const changed = wanted.filter((row) => have.get(keyOf(row)) !== canonical(row));
    for (let i = 0; i < stale.length; i += BATCH) {
      const batch = stale.slice(i, i + BATCH);
      await target
        .deleteFrom(rule.table)
        .where((eb) => eb.or(batch.map((row) => eb.and(rule.key.map((column) => eb(column, '=', row[column]))))))
        .execute();
    }
    for (let i = 0; i < changed.length; i += BATCH) {
      const batch = changed.slice(i, i + BATCH);
      const columns = Object.keys(batch[0]!).filter((column) => !rule.key.includes(column));
      await target
        .insertInto(rule.table)
        .values(batch)
        .onConflict((oc) =>
          // Raw column names are safe here: they come from the table itself, never from input.
          oc.columns([...rule.key]).doUpdateSet(Object.fromEntries(columns.map((column) => [column, sql.raw(`excluded.${column}`)]))),
        )
        .execute();
    }
    return stale.length + changed.length;
  }

  return {
    async personOf(accountabilityProfileId, trx) {
      const rows = await ((trx as Kysely<any> | undefined) ?? global).selectFrom('accounts').select('id').where('accountability_profile_id', '=', accountabilityProfileId).execute();
      return { accountabilityProfileId, accountIds: rows.map((row: { id: string }) => row.id) };
    },

    async ensureResident(code, person, userId, trx) {
      const made = await of(code, trx)
        .insertInto('residents')
        .values({ id: userId, accountability_profile_id: person.accountabilityProfileId, is_active: true })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (made && trx) databases.undoIfAborted(code, trx, (remote) => remote.deleteFrom('residents').where('id', '=', userId).execute());
    },

    async mirror(from, to, person, trx) {
      let written = 0;
      for (const rule of PERSONAL) {
        const owners = ownersOf(person, rule.owner);
        if (owners.length > 0) written += await mirrorTable(rule, of(from, trx), of(to, trx), owners);
      }
      return written;
    },

    retire,

    async eraseAll(trx, accountabilityProfileId) {
      const accounts = await trx.selectFrom('accounts').select('id').where('accountability_profile_id', '=', accountabilityProfileId).execute();
      const person: Person = { accountabilityProfileId, accountIds: accounts.map((account) => account.id) };
      const homes = await trx
        .selectFrom('citizenships')
        .select(['territory_code as code', 'territory_user_id as userId'])
        .where('accountability_profile_id', '=', accountabilityProfileId)
        .where('ended_at', 'is', null)
        .execute();
      // A move in flight may have copied the rows already into a territory not yet a citizenship.
      const moving = await trx
        .selectFrom('territory_moves')
        .select(['to_territory as code', 'to_user_id as userId'])
        .where('accountability_profile_id', '=', accountabilityProfileId)
        .where('step', '<>', 'done')
        .execute();
      for (const move of moving) if (!homes.some((home) => home.code === move.code)) homes.push(move);
      const fallback = await trx.selectFrom('territories').select('code').where('is_default', '=', true).executeTakeFirstOrThrow();
      // A person who never moved has no citizenship row, and their rows sit in the default territory.
      if (!homes.some((home) => home.code === fallback.code)) homes.push({ code: fallback.code, userId: '00000000-0000-0000-0000-000000000000' });
      for (const home of homes) await retire(home.code, person, home.userId, trx);
    },
  };
}

/**
 * One text per value, for telling whether two rows are the same: bytes by their hex, times by their
 * instant (node-postgres and PGlite hand back bytea and timestamps as different types).
 */
function canonical(value: unknown): string {
  if (value === null || value === undefined) return '\u0000';
  if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return `t${value.getTime()}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, inner]) => `${key}:${canonical(inner)}`)
      .join(',')}}`;
  }
  // A bigint counter is a string from node-postgres and a number from PGlite: the same either way.
  return String(value);
}

