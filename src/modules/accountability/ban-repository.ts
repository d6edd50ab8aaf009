import type { Db } from '../../db/database.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { BanSubject } from './ban.js';

export interface BanRepository {
  /** The accountability profile behind a subject, or null when nothing matches. */
  findProfile(subject: BanSubject): Promise<string | null>;
  /** Sets (reason given) or clears (null) the ban, with its audit row, in one transaction. */
  setBan(profileId: string, ban: { readonly reason: string; readonly at: Date } | null, audit: AuditEntry): Promise<void>;
}

export function createBanRepository(db: Db): BanRepository {
  return {
    async findProfile(subject) {
      const row =
        'personHash' in subject
          ? await db
              .selectFrom('app_person_hashes')
              .select('accountability_profile_id as profileId')
              .where('person_hash', '=', subject.personHash)
              .executeTakeFirst()
          : await db
              .selectFrom('personas')
              .select('accountability_profile_id as profileId')
              .where('personaId' in subject ? 'id' : 'author_id', '=', 'personaId' in subject ? subject.personaId : subject.authorId)
              .executeTakeFirst();
      return row?.profileId ?? null;
    },

    setBan: (profileId, ban, audit) =>
      db.transaction().execute(async (trx) => {
        await trx
          .updateTable('accountability_profiles')
          .set({ banned_at: ban?.at ?? null, ban_reason: ban?.reason ?? null })
          .where('id', '=', profileId)
          .execute();
        await appendAudit(trx, audit);
      }),
  };
}
