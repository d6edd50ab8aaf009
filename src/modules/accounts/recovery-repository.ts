import { crossDatabaseTransaction } from '../../db/cross-database-transaction.js';
import type { Db } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit } from '../audit/audit-repository.js';
import { activePersonaOf, findPasswordAccount, type EmailAccount, type LoginResult } from './account-repository.js';
import type { SessionLabelStore } from '../sessions/session-label-repository.js';
import type { AccountSecretStore } from './account-secret-repository.js';
import type { RecoveryCodeOwner, RecoveryCodeStore } from './recovery-code-repository.js';
import { completeSignIn, lockPerson, type SignInPlan } from './sign-in-repository.js';

export type RecoverResult = ({ readonly recovered: true } & LoginResult) | { readonly recovered: false };

export interface RecoveryRepository {
  /** The handle account behind a handle's lookup key (recovery codes exist only for these). */
  findHandleAccount(lookupKey: Buffer): Promise<EmailAccount | null>;
  /**
   * In one transaction: the code is consumed (single use, even against parallel attempts), the
   * password replaced, every signed-in session of the account ended, and the caller signed in.
   * Nothing changes when the code is not an unused one of this account.
   */
  recover(owner: RecoveryCodeOwner, codeHash: Buffer, passwordHash: string, plan: SignInPlan, correlationId: string): Promise<RecoverResult>;
  /** A fresh set: the old codes, used or not, stop working. */
  regenerate(owner: RecoveryCodeOwner, hashes: readonly Buffer[], correlationId: string): Promise<void>;
  remaining(owner: RecoveryCodeOwner): Promise<number>;
}

export function createRecoveryRepository(db: Db, codes: RecoveryCodeStore, secrets: AccountSecretStore, labels: SessionLabelStore): RecoveryRepository {
  return {
    findHandleAccount: (lookupKey) => findPasswordAccount(db, secrets, 'handle', lookupKey),

    recover: (owner, codeHash, passwordHash, plan, correlationId) =>
      crossDatabaseTransaction(db, async (trx): Promise<RecoverResult> => {
        // The person first, FOR UPDATE, as the sign-in below locks them (see verifyAccount): taking
        // only the territory write's NO KEY UPDATE here and upgrading later would deadlock with a
        // transaction that took a KEY SHARE on the person meanwhile (an appeal opened for them) and
        // then waits for NO KEY UPDATE. Parallel attempts wait here, in turn.
        await lockPerson(trx, owner.profileId);
        // Then the code, so that every loser of a race stops here having written nothing.
        if (!(await codes.consume(trx, owner, codeHash))) return { recovered: false };
        const { accountId, profileId } = owner;
        // Whoever knew the old password (or stole a session) is out, on every device.
        await trx.deleteFrom('sessions').where('account_id', '=', accountId).where('idle_timeout_seconds', 'is not', null).execute();
        await appendEvent(trx, { type: 'RecoveryCodeUsed', payload: { accountId, accountabilityProfileId: profileId } });
        await appendEvent(trx, { type: 'PasswordChanged', payload: { accountId, accountabilityProfileId: profileId } });
        await appendAudit(trx, { actor: 'person', correlationId, action: 'account.recover', target: accountId });
        const persona = await activePersonaOf(trx, accountId);
        const outcome = await completeSignIn(trx, { accountId, profileId, personaId: persona?.id ?? null }, plan, labels);
        if (outcome.sessionCreated) await appendEvent(trx, { type: 'AccountSignedIn', payload: { accountId, accountabilityProfileId: profileId } });
        // Last: a remote territory commits on its own (see AccountSecretStore), so nothing that could
        // still fail comes after it (the commit failing puts the old hash back); the code consumed
        // above stays consumed: one code fewer, never one more.
        await secrets.setPassword(trx, owner, passwordHash);
        return { recovered: true, ...outcome, persona, evict: [...outcome.evict, profileId] };
      }),

    regenerate: (owner, hashes, correlationId) =>
      crossDatabaseTransaction(db, async (trx) => {
        await codes.replace(trx, owner, hashes);
        await appendEvent(trx, { type: 'RecoveryCodesRegenerated', payload: { accountId: owner.accountId, accountabilityProfileId: owner.profileId } });
        await appendAudit(trx, { actor: 'person', correlationId, action: 'account.recovery-codes.regenerate', target: owner.accountId });
      }),

    remaining: (owner) => codes.remaining(owner),
  };
}
