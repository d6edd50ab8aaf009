import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import type { NewEvent } from '../../events/event.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { AccountabilityChanges, AccountabilitySummary, AdminPersona, InferredLink, PersonaFlag } from './accountability.js';
import type { Appeal } from './appeal.js';
import { APPEAL_COLUMNS, withStatements } from './appeal-repository.js';
import type { AppealStatementStore } from './appeal-statement-repository.js';
import { applyAccountabilityChanges, PROFILE_COLUMNS, toAccountability } from './profile-repository.js';

/** Everything internal tools see about one person. */
export interface PersonRecord {
  readonly accountability: AccountabilitySummary;
  /** Every persona of the person, deactivated and deleted ones included, oldest first. */
  readonly personas: AdminPersona[];
  /** Flags on any of the person's personas, newest first. */
  readonly flags: PersonaFlag[];
  readonly openAppeals: Appeal[];
  /** Guests seen signing in as this person, or people this guest was seen signing in as. */
  readonly inferredLinks: InferredLink[];
}

export interface AccountabilityRepository {
  /** A persona in any state with its person, audited as a lookup; null when no persona has the id. */
  lookupPersona(personaId: string, audit: AuditEntry): Promise<{ readonly persona: AdminPersona; readonly person: PersonRecord } | null>;
  /** A person, audited as a lookup; null when no person has the id. */
  lookupPerson(profileId: string, audit: AuditEntry): Promise<PersonRecord | null>;
  /** Applies changes with their event and audit row in one transaction; null when no person has the id. */
  update(profileId: string, changes: AccountabilityChanges, audit: AuditEntry, event: (profileId: string) => NewEvent): Promise<AccountabilitySummary | null>;
  /** Flags a persona in any state (event PersonaFlagged, audited); null when no persona has the id. */
  flag(personaId: string, reason: string, audit: AuditEntry): Promise<PersonaFlag | null>;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

const PERSONA_COLUMNS = [
  'id', 'accountability_profile_id', 'display_name', 'avatar_url', 'author_id', 'trust_level',
  'is_active', 'created_at', 'deactivated_at', 'deleted_at',
] as const;

function personaQuery(db: Db) {
  return db.selectFrom('personas').select(PERSONA_COLUMNS);
}

type PersonaRow = Awaited<ReturnType<ReturnType<typeof personaQuery>['executeTakeFirstOrThrow']>>;

const toAdminPersona = (row: PersonaRow): AdminPersona => ({
  id: row.id,
  accountabilityProfileId: row.accountability_profile_id,
  displayName: row.display_name,
  avatarUrl: row.avatar_url,
  authorId: row.author_id,
  trustLevel: row.trust_level,
  active: row.is_active && row.deleted_at === null,
  createdAt: row.created_at.toISOString(),
  deactivatedAt: iso(row.deactivated_at),
  deletedAt: iso(row.deleted_at),
});

const toFlag = (row: { id: string; persona_id: string; reason: string; actor: string; created_at: Date }): PersonaFlag => ({
  id: row.id,
  personaId: row.persona_id,
  reason: row.reason,
  actor: row.actor,
  createdAt: row.created_at.toISOString(),
});

async function readPerson(db: Tx, statements: AppealStatementStore, profileId: string): Promise<PersonRecord | null> {
  const profile = await db.selectFrom('accountability_profiles').select(PROFILE_COLUMNS).where('id', '=', profileId).executeTakeFirst();
  if (!profile) return null;
  const personas = await personaQuery(db).where('accountability_profile_id', '=', profileId).orderBy('created_at').orderBy('id').execute();
  const flags = await db
    .selectFrom('persona_flags as f')
    .innerJoin('personas as p', 'p.id', 'f.persona_id')
    .select(['f.id', 'f.persona_id', 'f.reason', 'f.actor', 'f.created_at'])
    .where('p.accountability_profile_id', '=', profileId)
    .orderBy('f.created_at', 'desc')
    .orderBy('f.id')
    .execute();
  const openAppeals = await db
    .selectFrom('appeals')
    .select(APPEAL_COLUMNS)
    .where('accountability_profile_id', '=', profileId)
    .where('status', '=', 'open')
    .orderBy('opened_at')
    .orderBy('id')
    .execute();
  return {
    accountability: toAccountability(profile),
    personas: personas.map(toAdminPersona),
    flags: flags.map(toFlag),
    openAppeals: await withStatements(statements, openAppeals, db),
    inferredLinks: await inferredLinksOf(db, profileId),
  };
}

async function inferredLinksOf(db: Db, profileId: string): Promise<InferredLink[]> {
  const rows = await db
    .selectFrom('account_links as l')
    .innerJoin('accounts as guest', 'guest.id', 'l.from_account_id')
    .innerJoin('accounts as signedIn', 'signedIn.id', 'l.to_account_id')
    .select(['guest.accountability_profile_id as guestProfileId', 'signedIn.accountability_profile_id as signedInProfileId'])
    .select(['l.confidence', 'l.created_at as createdAt'])
    .where('l.kind', '=', 'inferred')
    .where((eb) => eb.or([eb('guest.accountability_profile_id', '=', profileId), eb('signedIn.accountability_profile_id', '=', profileId)]))
    .orderBy('l.created_at', 'desc')
    .execute();
  return rows.map((row) => ({
    guestAccountabilityProfileId: row.guestProfileId,
    signedInAccountabilityProfileId: row.signedInProfileId,
    confidence: row.confidence,
    createdAt: row.createdAt.toISOString(),
  }));
}

export function createAccountabilityRepository(db: Db, statements: AppealStatementStore): AccountabilityRepository {
  return {
    // A lookup reveals which personas are one person: who looked, and when, goes to the audit log.
    lookupPersona: (personaId, audit) =>
      db.transaction().execute(async (trx) => {
        const row = await personaQuery(trx).where('id', '=', personaId).executeTakeFirst();
        if (!row) return null;
        const person = await readPerson(trx, statements, row.accountability_profile_id);
        if (!person) return null;
        await appendAudit(trx, audit);
        return { persona: toAdminPersona(row), person };
      }),

    lookupPerson: (profileId, audit) =>
      db.transaction().execute(async (trx) => {
        const person = await readPerson(trx, statements, profileId);
        if (person) await appendAudit(trx, audit);
        return person;
      }),

    update: (profileId, changes, audit, event) =>
      db.transaction().execute(async (trx) => {
        const updated = await applyAccountabilityChanges(trx, profileId, changes);
        if (!updated) return null;
        await appendEvent(trx, event(profileId));
        await appendAudit(trx, audit);
        return updated;
      }),

    flag: (personaId, reason, audit) =>
      db.transaction().execute(async (trx) => {
        const persona = await trx.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirst();
        if (!persona) return null;
        const row = await trx
          .insertInto('persona_flags')
          .values({ persona_id: personaId, reason, actor: audit.actor })
          .returning(['id', 'persona_id', 'reason', 'actor', 'created_at'])
          .executeTakeFirstOrThrow();
        await appendEvent(trx, {
          type: 'PersonaFlagged',
          payload: { personaId, accountabilityProfileId: persona.accountability_profile_id, reason },
        });
        await appendAudit(trx, { ...audit, detail: { ...audit.detail, flagId: row.id } });
        return toFlag(row);
      }),
  };
}
