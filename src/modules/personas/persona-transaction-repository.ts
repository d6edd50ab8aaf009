import { sql, type Selectable } from 'kysely';
import type { Db, Tx } from '../../db/database.js';
import type { PersonasTable } from '../../db/schema.js';
import { recomputeAccess } from '../identity-links/persona-access-repository.js';
import { appendEvent } from '../../events/outbox.js';
import { eraseSignInMethods } from '../accounts/identity-erasure.js';
import type { NewEvent } from '../../events/event.js';
import type { RiskLevel } from '../accountability/accountability.js';
import type { PersonaOrigin, PersonaRecord } from './persona.js';

/** The person behind a caller, as the persona rules need them. Internal only. */
export interface Person {
  readonly id: string;
  readonly riskLevel: RiskLevel;
  readonly banned: boolean;
  readonly verified: boolean;
  readonly legalHold: boolean;
}

export interface PersonaCounts {
  readonly livePersonas: number;
  readonly recentCreations: readonly Date[];
  readonly lastRotationAt: Date | null;
}

export interface NewPersona {
  readonly id: string;
  readonly displayName: string;
  readonly displayNameKey: string;
  readonly avatarUrl: string | null;
  readonly authorId: string;
  readonly origin: PersonaOrigin;
  readonly rotatedFrom: string | null;
  readonly createdAt: Date;
  /** The account that made it; a rotation's successor keeps its predecessor's maker. */
  readonly ownerAccountId: string | null;
}

export type PersonaChanges = Partial<{
  displayName: string;
  displayNameKey: string;
  avatarUrl: string | null;
  isActive: boolean;
  deletedAt: Date | null;
  deactivatedAt: Date | null;
  purgeAfter: Date | null;
}>;

/**
 * One persona-changing transaction of one person, whose accountability profile row is locked for its
 * whole length: every count read here stays true until commit, so limits hold under concurrency.
 */
export interface PersonWork {
  readonly person: Person;
  counts(creationsSince: Date): Promise<PersonaCounts>;
  /** A persona of this person that the account may act as, in any state; null otherwise. */
  accessiblePersona(personaId: string, accountId: string): Promise<PersonaRecord | null>;
  /** Serializes every claim and release of these names across people (sorted, so never a deadlock). */
  lockNames(keys: readonly string[]): Promise<void>;
  /** Who keeps a released name in reserve at `now`: nobody, this person, or someone else. */
  nameHolder(key: string, now: Date): Promise<'none' | 'self' | 'other'>;
  holdName(key: string, until: Date): Promise<void>;
  dropHold(key: string): Promise<void>;
  insertPersona(persona: NewPersona): Promise<PersonaRecord>;
  updatePersona(id: string, changes: PersonaChanges): Promise<PersonaRecord>;
  /** Rewrites which of the person's accounts may act as which persona, from their privacy modes. */
  refreshAccess(): Promise<void>;
  /** Points every session acting as `from` at `to`. */
  moveSessions(from: string, to: string): Promise<void>;
  /** Makes the persona the session's active one if the session has no live active persona. */
  activateIfNone(sessionId: string, personaId: string): Promise<void>;
  appendEvent(event: NewEvent): Promise<void>;
  /** Every persona of the person, in any state (identity deletion anonymizes them all). */
  allPersonas(): Promise<PersonaRecord[]>;
  /** Removes every sign-in method of the person with its sessions and credentials (see identity-erasure.ts). */
  eraseSignInMethods(): Promise<void>;
}

/** Advisory-lock class of display names (`pg_advisory_xact_lock(class, hash)`), apart from any other use. */
const NAME_LOCK_CLASS = 0x6e616d65; // "name"

type PersonaRow = Selectable<PersonasTable>;

export function toRecord(row: PersonaRow): PersonaRecord {
  return {
    id: row.id,
    accountabilityProfileId: row.accountability_profile_id,
    displayName: row.display_name,
    displayNameKey: row.display_name_key,
    avatarUrl: row.avatar_url,
    authorId: row.author_id,
    trustLevel: row.trust_level,
    trustGrantedAt: row.trust_granted_at,
    origin: row.origin,
    isActive: row.is_active,
    createdAt: row.created_at,
    deletedAt: row.deleted_at,
    deactivatedAt: row.deactivated_at,
    purgeAfter: row.purge_after,
    ownerAccountId: row.owner_account_id,
  };
}

export async function readPerson(executor: Db | Tx, profileId: string, lock: boolean): Promise<Person | null> {
  let query = executor
    .selectFrom('accountability_profiles')
    .select(['id', 'risk_level', 'banned_at', 'is_verified', 'legal_hold'])
    .where('id', '=', profileId);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return null;
  return { id: row.id, riskLevel: row.risk_level, banned: row.banned_at !== null, verified: row.is_verified, legalHold: row.legal_hold };
}

export async function readCounts(executor: Db | Tx, profileId: string, creationsSince: Date): Promise<PersonaCounts> {
  const rows = await executor
    .selectFrom('personas')
    .select(['is_active', 'deleted_at', 'origin', 'created_at'])
    .where('accountability_profile_id', '=', profileId)
    .orderBy('created_at')
    .execute();
  const rotations = rows.filter((row) => row.origin === 'rotated').map((row) => row.created_at);
  return {
    livePersonas: rows.filter((row) => row.is_active && row.deleted_at === null).length,
    recentCreations: rows.filter((row) => row.origin === 'created' && row.created_at > creationsSince).map((row) => row.created_at),
    lastRotationAt: rotations.at(-1) ?? null,
  };
}

/** Every persona an account may act as, with the person's verified badge (any lifecycle state). */
export function personasOfAccount(executor: Db | Tx, accountId: string) {
  return executor
    .selectFrom('personas as p')
    .innerJoin('persona_access as pa', 'pa.persona_id', 'p.id')
    .innerJoin('accountability_profiles as ap', 'ap.id', 'p.accountability_profile_id')
    .selectAll('p')
    .select('ap.is_verified as verified')
    .where('pa.account_id', '=', accountId);
}

export function accessibleQuery(executor: Db | Tx, personaId: string, accountId: string) {
  return personasOfAccount(executor, accountId).where('p.id', '=', personaId);
}

export function unitOfWork(trx: Tx, person: Person, eraseTerritoryRows: (trx: Tx, profileId: string) => Promise<void>): PersonWork {
  return {
    person,
    counts: (since) => readCounts(trx, person.id, since),

    async accessiblePersona(personaId, accountId) {
      const row = await accessibleQuery(trx, personaId, accountId).forUpdate('p').executeTakeFirst();
      return row && row.accountability_profile_id === person.id ? toRecord(row) : null;
    },

    async lockNames(keys) {
      for (const key of [...new Set(keys)].sort()) {
        await sql`select pg_advisory_xact_lock(${NAME_LOCK_CLASS}::int4, hashtext(${key}))`.execute(trx);
      }
    },

    async nameHolder(key, now) {
      const hold = await trx
        .selectFrom('display_name_holds')
        .select(['accountability_profile_id', 'held_until'])
        .where('display_name_key', '=', key)
        .executeTakeFirst();
      if (!hold || hold.held_until <= now) return 'none';
      return hold.accountability_profile_id === person.id ? 'self' : 'other';
    },

    async holdName(key, until) {
      await trx
        .insertInto('display_name_holds')
        .values({ display_name_key: key, accountability_profile_id: person.id, held_until: until })
        .onConflict((conflict) =>
          conflict.column('display_name_key').doUpdateSet({ accountability_profile_id: person.id, held_until: until }),
        )
        .execute();
    },

    async dropHold(key) {
      await trx.deleteFrom('display_name_holds').where('display_name_key', '=', key).execute();
    },

    async insertPersona(persona) {
      const row = await trx
        .insertInto('personas')
        .values({
          id: persona.id,
          accountability_profile_id: person.id,
          display_name: persona.displayName,
          display_name_key: persona.displayNameKey,
          avatar_url: persona.avatarUrl,
          author_id: persona.authorId,
          origin: persona.origin,
          rotated_from: persona.rotatedFrom,
          created_at: persona.createdAt,
          trust_granted_at: persona.createdAt,
          owner_account_id: persona.ownerAccountId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async updatePersona(id, changes) {
      const row = await trx
        .updateTable('personas')
        .set({
          ...(changes.displayName !== undefined ? { display_name: changes.displayName } : {}),
          ...(changes.displayNameKey !== undefined ? { display_name_key: changes.displayNameKey } : {}),
          ...(changes.avatarUrl !== undefined ? { avatar_url: changes.avatarUrl } : {}),
          ...(changes.isActive !== undefined ? { is_active: changes.isActive } : {}),
          ...(changes.deletedAt !== undefined ? { deleted_at: changes.deletedAt } : {}),
          ...(changes.deactivatedAt !== undefined ? { deactivated_at: changes.deactivatedAt } : {}),
          ...(changes.purgeAfter !== undefined ? { purge_after: changes.purgeAfter } : {}),
        })
        .where('id', '=', id)
        .where('accountability_profile_id', '=', person.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    refreshAccess: () => recomputeAccess(trx, person.id),

    async moveSessions(from, to) {
      await trx.updateTable('sessions').set({ active_persona_id: to }).where('active_persona_id', '=', from).execute();
    },

    async activateIfNone(sessionId, personaId) {
      await trx
        .updateTable('sessions')
        .set({ active_persona_id: personaId })
        .where('id', '=', sessionId)
        .where((eb) =>
          eb.or([
            eb('active_persona_id', 'is', null),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('personas as p')
                  .select('p.id')
                  .whereRef('p.id', '=', 'sessions.active_persona_id')
                  .where('p.is_active', '=', true)
                  .where('p.deleted_at', 'is', null),
              ),
            ),
          ]),
        )
        .execute();
    },

    appendEvent: (event) => appendEvent(trx, event),

    async allPersonas() {
      const rows = await trx.selectFrom('personas').selectAll().where('accountability_profile_id', '=', person.id).orderBy('created_at').execute();
      return rows.map(toRecord);
    },

    async eraseSignInMethods() {
      // Territory rows are found through the accounts, so they go first.
      await eraseTerritoryRows(trx, person.id);
      await eraseSignInMethods(trx, person.id);
    },
  };
}
