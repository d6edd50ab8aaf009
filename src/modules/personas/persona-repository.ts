import type { Db, Tx } from '../../db/database.js';
import { isUniqueViolation } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { PersonaRecord, TrustLevel } from './persona.js';
import {
  personasOfAccount,
  accessibleQuery,
  readCounts,
  readPerson,
  toRecord,
  unitOfWork,
  type Person,
  type PersonaCounts,
  type PersonWork,
} from './persona-transaction-repository.js';

export type { Person, PersonaCounts, PersonWork } from './persona-transaction-repository.js';

export interface PersonaRepository {
  withPerson<T>(profileId: string, work: (unit: PersonWork) => Promise<T>): Promise<T>;
  /** The person and their counts, unlocked: for answering "could I?" without acting. */
  person(profileId: string, creationsSince: Date): Promise<{ person: Person; counts: PersonaCounts } | null>;
  /** The personas an account may act as, except retired ones, oldest first, each with its handle. */
  listForAccount(accountId: string): Promise<Array<{ persona: PersonaRecord; verified: boolean; handle: string | null }>>;
  findAccessible(personaId: string, accountId: string): Promise<{ persona: PersonaRecord; verified: boolean } | null>;
  setActivePersona(sessionId: string, personaId: string): Promise<void>;
  /** Sets a persona's trust level with its event and audit row; null when no such persona (or retired). */
  setTrustLevel(personaId: string, level: TrustLevel, at: Date, audit: AuditEntry): Promise<PersonaRecord | null>;
}

/**
 * Identity deletion also clears the person's rows in the territory schemas (recovery codes, resident
 * records): a port, because only the federation module reaches territory schemas.
 */
export type EraseTerritoryRows = (trx: Tx, accountabilityProfileId: string) => Promise<void>;

/** GET /personas: the personas an account may act as, except retired ones, oldest first, each with its handle. */
export function listedPersonasQuery(db: Db, accountId: string) {
  return personasOfAccount(db, accountId)
    .leftJoin('user_identities as u', 'u.persona_id', 'p.id')
    .select('u.handle')
    .where('p.deleted_at', 'is', null)
    .orderBy('p.created_at')
    .orderBy('p.id');
}

export function createPersonaRepository(db: Db, eraseTerritoryRows: EraseTerritoryRows): PersonaRepository {
  return {
    async withPerson(profileId, work) {
      try {
        return await db.transaction().execute(async (trx) => {
          // The lock every persona-changing transaction of this person takes first (DESIGN §2.5).
          const person = await readPerson(trx, profileId, true);
          if (!person) throw new Error(`accountability profile ${profileId} not found`);
          return work(unitOfWork(trx, person, eraseTerritoryRows));
        });
      } catch (error) {
        // Another person's live persona has the name (the unique index is the last word).
        if (isUniqueViolation(error, 'personas_live_display_name_unique')) {
          throw new AppError('DISPLAY_NAME_TAKEN', 'That display name is taken. Choose another.');
        }
        throw error;
      }
    },

    async person(profileId, creationsSince) {
      const person = await readPerson(db, profileId, false);
      return person ? { person, counts: await readCounts(db, profileId, creationsSince) } : null;
    },

    async listForAccount(accountId) {
      const rows = await listedPersonasQuery(db, accountId).execute();
      return rows.map((row) => ({ persona: toRecord(row), verified: row.verified, handle: row.handle }));
    },

    async findAccessible(personaId, accountId) {
      const row = await accessibleQuery(db, personaId, accountId).executeTakeFirst();
      return row ? { persona: toRecord(row), verified: row.verified } : null;
    },

    async setActivePersona(sessionId, personaId) {
      await db.updateTable('sessions').set({ active_persona_id: personaId }).where('id', '=', sessionId).execute();
    },

    setTrustLevel: (personaId, level, at, audit) =>
      db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('personas')
          .set({ trust_level: level, trust_granted_at: at })
          .where('id', '=', personaId)
          .where('deleted_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        if (!row) return null;
        await appendEvent(trx, { type: 'PersonaTrustChanged', payload: { personaId, trustLevel: level } });
        await appendAudit(trx, audit);
        return toRecord(row);
      }),
  };
}
