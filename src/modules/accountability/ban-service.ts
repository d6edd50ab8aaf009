import type { InvalidationBus } from '../../cache/invalidation-bus.js';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import { describeSubject, type BanSubject } from './ban.js';
import type { BanRepository } from './ban-repository.js';

export interface BanService {
  /**
   * Bans the person behind the subject: every persona, every account, every session of theirs.
   * Their risk level becomes HIGH and their signed-in sessions end.
   */
  ban(subject: BanSubject, reason: string, admin: Actor): Promise<void>;
  /** Lifts the ban; the risk level stays as it is (trust & safety lowers it separately). */
  unban(subject: BanSubject, admin: Actor): Promise<void>;
}

export interface BanServiceDeps {
  readonly bans: BanRepository;
  readonly invalidation: InvalidationBus;
  readonly clock: Clock;
}

const notFound = () => new AppError('SUBJECT_NOT_FOUND', 'No persona, author id or person hash matches.');

export function createBanService({ bans, invalidation, clock }: BanServiceDeps): BanService {
  return {
    async ban(subject, reason, admin) {
      const target = describeSubject(subject);
      const banned = await bans.setBan(subject, { reason, at: clock.now() }, { ...admin, action: 'ban.place', target, detail: { reason } });
      if (!banned) throw notFound();
      // After commit: cached sessions of these people, on every node, must not outlive the ban.
      await Promise.all(banned.map((id) => invalidation.publish({ kind: 'profile', id })));
    },

    async unban(subject, admin) {
      const lifted = await bans.setBan(subject, null, { ...admin, action: 'ban.lift', target: describeSubject(subject) });
      if (!lifted) throw notFound();
      await Promise.all(lifted.map((id) => invalidation.publish({ kind: 'profile', id })));
    },
  };
}
