import type { InvalidationBus } from '../../cache/invalidation-bus.js';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import { abuseScoreChanges, type AccountabilitySummary, type RiskThresholds } from './accountability.js';
import type { Appeal, AppealOutcome, AppealStatus } from './appeal.js';
import type { AppealRepository } from './appeal-repository.js';

export interface AppealResolution {
  readonly status: AppealOutcome;
  readonly resolution: string;
  /** A new abuse score for the person; the risk level follows from it (0.3 / 0.7). */
  readonly abuseScore?: number;
}

export interface AppealService {
  /** Opens an appeal for a persona (in any state, rotated away or not) and the person behind it. */
  open(personaId: string, statement: string, admin: Actor): Promise<Appeal>;
  /** Upholds or overturns an open appeal (APPEAL_CLOSED once resolved), adjusting the score if given. */
  resolve(id: string, resolution: AppealResolution, admin: Actor): Promise<{ readonly appeal: Appeal; readonly accountability: AccountabilitySummary | null }>;
  list(filter: { readonly status?: AppealStatus; readonly limit: number }): Promise<Appeal[]>;
}

export interface AppealServiceDeps {
  readonly appeals: AppealRepository;
  readonly invalidation: InvalidationBus;
  readonly clock: Clock;
  /** The risk thresholds in force (policy `risk_thresholds`), read when a resolution sets a score. */
  readonly riskThresholds: () => Promise<RiskThresholds>;
}

export function createAppealService({ appeals, invalidation, clock, riskThresholds }: AppealServiceDeps): AppealService {
  return {
    async open(personaId, statement, admin) {
      const appeal = await appeals.open(personaId, statement, { ...admin, action: 'appeal.open' });
      if (!appeal) throw new AppError('PERSONA_NOT_FOUND', 'No persona has that id.');
      return appeal;
    },

    async resolve(id, { status, resolution, abuseScore }, admin) {
      const changes = abuseScore === undefined ? null : abuseScoreChanges(abuseScore, undefined, await riskThresholds());
      const result = await appeals.resolve(id, { status, resolution, at: clock.now() }, changes, { ...admin, action: 'appeal.resolve' });
      if (!result.resolved) {
        throw result.reason === 'closed'
          ? new AppError('APPEAL_CLOSED', 'This appeal has been resolved already.')
          : new AppError('APPEAL_NOT_FOUND', 'No appeal has that id.');
      }
      if (result.accountability) await invalidation.publish({ kind: 'profile', id: result.appeal.accountabilityProfileId });
      return { appeal: result.appeal, accountability: result.accountability };
    },

    list: (filter) => appeals.list(filter),
  };
}
