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
   * account ids. Copied by primary key (`key`, the conflict target that makes a copy idempotent),
   * deleted from the old territory on retirement.
   */
  | {
      readonly kind: 'personal';
      readonly column: string;
      readonly owner: 'profile' | 'accounts';
      readonly key: readonly string[];
      /**
       * Columns that only ever go from null to a value (`used_at`): when a row is already there, a
       * copy keeps whichever side has one, so a code used in the old territory during the move
       * cannot come back unused in the new one.
       */
      readonly settleOnce?: readonly string[];
      /**
       * Columns that only ever grow (a passkey's signature counter, its last use): when a row is
       * already there, a copy keeps the greater of the two, so a sign-in in the old territory during
       * the move cannot wind the counter back in the new one (a lower counter weakens clone detection).
       */
      readonly grows?: readonly string[];
      /**
       * A row that changes in place (a password hash): when it is already there, a copy keeps the
       * newer of the two by this column, so a password changed in the old territory while the person
       * moved is the one they keep, and an older copy never overwrites a newer one.
       */
      readonly newest?: { readonly by: string; readonly columns: readonly string[] };
    }
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
  recovery_codes: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id', 'code_hash'], settleOnce: ['used_at'] },
  invitation_emails: { kind: 'territory', why: 'the address an invitation of this territory was sent to belongs to the invitation' },
  account_emails: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  account_identifiers: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  password_credentials: {
    kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'], newest: { by: 'updated_at', columns: ['hash', 'updated_at'] },
  },
  key_credentials: { kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'] },
  persona_wallet_keys: { kind: 'personal', column: 'accountability_profile_id', owner: 'profile', key: ['persona_id'] },
  passkey_credentials: {
    kind: 'personal', column: 'account_id', owner: 'accounts', key: ['account_id'], settleOnce: ['counter_regressed_at'], grows: ['counter', 'last_used_at'],
  },
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
  /** The person's account ids (global), by which their territory rows are found. */
  personOf(accountabilityProfileId: string): Promise<Person>;
  /**
   * Makes sure the person has a resident row `userId` in the territory (active), without touching
   * one that exists: idempotent. Given the global transaction, a territory in the global database joins it.
   */
  ensureResident(code: string, person: Person, userId: string, trx?: Tx): Promise<void>;
  /** Upserts every personal row of the person from one territory into another (by primary key): idempotent. */
  copy(from: string, to: string, person: Person): Promise<number>;
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

  return {
    async personOf(accountabilityProfileId) {
      const rows = await global.selectFrom('accounts').select('id').where('accountability_profile_id', '=', accountabilityProfileId).execute();
      return { accountabilityProfileId, accountIds: rows.map((row: { id: string }) => row.id) };
    },

    async ensureResident(code, person, userId, trx) {
      await of(code, trx)
        .insertInto('residents')
        .values({ id: userId, accountability_profile_id: person.accountabilityProfileId, is_active: true })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    async copy(from, to, person) {
      let copied = 0;
      for (const rule of PERSONAL) {
        const owners = ownersOf(person, rule.owner);
        if (owners.length === 0) continue;
        const rows = await of(from).selectFrom(rule.table).selectAll().where(rule.column, 'in', owners).execute();
        for (let i = 0; i < rows.length; i += BATCH) {
          const result = await of(to)
            .insertInto(rule.table)
            .values(rows.slice(i, i + BATCH))
            .onConflict((oc) => {
              const target = oc.columns([...rule.key]);
              const settle = rule.settleOnce ?? [];
              // Raw column names are safe here: they come from TABLE_RULES, never from input.
              if (rule.newest) {
                const { by, columns } = rule.newest;
                return target
                  .doUpdateSet(Object.fromEntries(columns.map((column) => [column, sql.raw(`excluded.${column}`)])))
                  .where(sql.raw<boolean>(`${rule.table}.${by} < excluded.${by}`));
              }
              const merged = [
                ...settle.map((column) => [column, sql.raw(`coalesce(${rule.table}.${column}, excluded.${column})`)]),
                ...(rule.grows ?? []).map((column) => [column, sql.raw(`greatest(${rule.table}.${column}, excluded.${column})`)]),
              ];
              return merged.length === 0 ? target.doNothing() : target.doUpdateSet(Object.fromEntries(merged));
            })
            .executeTakeFirst();
          copied += Number(result.numInsertedOrUpdatedRows ?? 0);
        }
      }
      return copied;
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
