import type { InvalidationBus } from '../../cache/invalidation-bus.js';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import { describeSubject, type BanSubject } from './ban.js';
import type { BanRepository } from './ban-repository.js';

export interface BanService {
  /** Bans the person behind the subject: every persona, every account, every session of theirs. */
  ban(subject: BanSubject, reason: string, admin: Actor): Promise<void>;
  unban(subject: BanSubject, admin: Actor): Promise<void>;
}

export interface BanServiceDeps {
  readonly bans: BanRepository;
  readonly invalidation: InvalidationBus;
  readonly clock: Clock;
}

export function createBanService({ bans, invalidation, clock }: BanServiceDeps): BanService {
  async function profileOf(subject: BanSubject): Promise<string> {
    const profileId = await bans.findProfile(subject);
    if (!profileId) throw new AppError('SUBJECT_NOT_FOUND', 'No persona, author id or person hash matches.');
    return profileId;
  }

  return {
    async ban(subject, reason, admin) {
      const profileId = await profileOf(subject);
      const target = describeSubject(subject);
      await bans.setBan(profileId, { reason, at: clock.now() }, { ...admin, action: 'ban.place', target, detail: { reason } });
      // After commit: cached sessions of this person, on every node, must not outlive the ban.
      await invalidation.publish({ kind: 'profile', id: profileId });
    },

    async unban(subject, admin) {
      const profileId = await profileOf(subject);
      await bans.setBan(profileId, null, { ...admin, action: 'ban.lift', target: describeSubject(subject) });
      await invalidation.publish({ kind: 'profile', id: profileId });
    },
  };
}
