import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import { revokeSignedInSessions } from '../sessions/session-revocation.js';
import { banHoldersOfRetiredMethods } from '../accounts/retired-methods.js';
import { BANNED_RISK_LEVEL, type BanSubject } from './ban.js';

export interface BanRepository {
  /**
   * Places (reason given) or lifts (null) the ban on the person behind the subject, in one
   * transaction with its event and audit row. Placing it also raises the risk level to HIGH and
   * ends every signed-in session of the person. A ban also reaches whoever now holds a method the
   * person gave up (retired-methods.ts): deleting an identity and signing in again does not shed a
   * ban placed afterwards. Answers every person banned (the subject's first), or null when nothing
   * matches the subject.
   */
  setBan(subject: BanSubject, ban: { readonly reason: string; readonly at: Date } | null, audit: AuditEntry): Promise<readonly string[] | null>;
}

async function profileOf(trx: Tx, subject: BanSubject): Promise<string | null> {
  const row =
    'personHash' in subject
      ? await trx
          .selectFrom('app_person_hashes')
          .select('accountability_profile_id as profileId')
          .where('person_hash', '=', subject.personHash)
          .executeTakeFirst()
      : await trx
          .selectFrom('personas')
          .select('accountability_profile_id as profileId')
          .where('personaId' in subject ? 'id' : 'author_id', '=', 'personaId' in subject ? subject.personaId : subject.authorId)
          .executeTakeFirst();
  return row?.profileId ?? null;
}

export function createBanRepository(db: Db): BanRepository {
  return {
    setBan: (subject, ban, audit) =>
      db.transaction().execute(async (trx) => {
        const profileId = await profileOf(trx, subject);
        if (!profileId) return null;
        const updated = await trx
          .updateTable('accountability_profiles')
          .set(ban ? { banned_at: ban.at, ban_reason: ban.reason, risk_level: BANNED_RISK_LEVEL } : { banned_at: null, ban_reason: null })
          .where('id', '=', profileId)
          .returning('id')
          .executeTakeFirst();
        if (!updated) return null;
        // Signed-in sessions end with the ban, in the same transaction: no window where one still works.
        const sessionsRevoked = ban ? await revokeSignedInSessions(trx, profileId) : 0;
        await appendEvent(trx, { type: ban ? 'PersonBanned' : 'PersonUnbanned', payload: { accountabilityProfileId: profileId } });
        const reached = ban ? await banHoldersOfRetiredMethods(trx, profileId) : [];
        await appendAudit(trx, ban ? { ...audit, detail: { ...audit.detail, sessionsRevoked, ...(reached.length ? { reached } : {}) } } : audit);
        return [profileId, ...reached];
      }),
  };
}
