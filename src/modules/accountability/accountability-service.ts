import type { InvalidationBus } from '../../cache/invalidation-bus.js';
import type { NewEvent } from '../../events/event.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import {
  abuseScoreChanges,
  type AccountabilityChanges,
  type AccountabilitySummary,
  type AdminPersona,
  type PersonaFlag,
  type RiskLevel,
  type RiskThresholds,
} from './accountability.js';
import type { AccountabilityRepository, PersonRecord } from './accountability-repository.js';

/** Trust & safety on people: look-ups that see both ids, flags, scores, risk, verification, holds. */
export interface AccountabilityService {
  /** A persona in any state, with the person behind it. Audited: it links personas to a person. */
  lookupPersona(personaId: string, admin: Actor): Promise<{ readonly persona: AdminPersona; readonly person: PersonRecord }>;
  lookupPerson(profileId: string, admin: Actor): Promise<PersonRecord>;
  flagPersona(personaId: string, reason: string, admin: Actor): Promise<PersonaFlag>;
  /** Sets the abuse score; the risk level follows from it (0.3 / 0.7) unless given. */
  setAbuseScore(profileId: string, score: number, riskLevel: RiskLevel | undefined, admin: Actor): Promise<AccountabilitySummary>;
  setRiskLevel(profileId: string, riskLevel: RiskLevel, admin: Actor): Promise<AccountabilitySummary>;
  setVerified(profileId: string, verified: boolean, admin: Actor): Promise<AccountabilitySummary>;
  /** A legal hold stops every purge of the person's personas until it is lifted. */
  setLegalHold(profileId: string, legalHold: boolean, admin: Actor): Promise<AccountabilitySummary>;
}

export interface AccountabilityServiceDeps {
  readonly accountability: AccountabilityRepository;
  readonly invalidation: InvalidationBus;
  /** The risk thresholds in force (policy `risk_thresholds`), read when a score is set. */
  readonly riskThresholds: () => Promise<RiskThresholds>;
}

const personaNotFound = () => new AppError('PERSONA_NOT_FOUND', 'No persona has that id.');
const personNotFound = () => new AppError('PERSON_NOT_FOUND', 'No person has that accountability profile id.');

export function createAccountabilityService({ accountability, invalidation, riskThresholds }: AccountabilityServiceDeps): AccountabilityService {
  async function change(profileId: string, changes: AccountabilityChanges, action: string, admin: Actor): Promise<AccountabilitySummary> {
    const event = (id: string): NewEvent =>
      changes.legalHold === undefined
        ? { type: 'AccountabilityChanged', payload: { accountabilityProfileId: id, changes: { ...changes } } }
        : { type: 'LegalHoldChanged', payload: { accountabilityProfileId: id, legalHold: changes.legalHold } };
    const updated = await accountability.update(
      profileId,
      changes,
      { ...admin, action, target: `person:${profileId}`, detail: { ...changes } },
      event,
    );
    if (!updated) throw personNotFound();
    // After commit, on every node: whatever is cached about this person is stale now.
    await invalidation.publish({ kind: 'profile', id: profileId });
    return updated;
  }

  return {
    async lookupPersona(personaId, admin) {
      const found = await accountability.lookupPersona(personaId, { ...admin, action: 'person.lookup', target: `persona:${personaId}` });
      if (!found) throw personaNotFound();
      return found;
    },

    async lookupPerson(profileId, admin) {
      const found = await accountability.lookupPerson(profileId, { ...admin, action: 'person.lookup', target: `person:${profileId}` });
      if (!found) throw personNotFound();
      return found;
    },

    async flagPersona(personaId, reason, admin) {
      const flag = await accountability.flag(personaId, reason, {
        ...admin,
        action: 'persona.flag',
        target: `persona:${personaId}`,
        detail: { reason },
      });
      if (!flag) throw personaNotFound();
      return flag;
    },

    setAbuseScore: async (profileId, score, riskLevel, admin) =>
      change(profileId, abuseScoreChanges(score, riskLevel, await riskThresholds()), 'person.abuse-score', admin),
    setRiskLevel: (profileId, riskLevel, admin) => change(profileId, { riskLevel }, 'person.risk-level', admin),
    setVerified: (profileId, verified, admin) => change(profileId, { verified }, 'person.verified', admin),
    setLegalHold: (profileId, legalHold, admin) => change(profileId, { legalHold }, 'person.legal-hold', admin),
  };
}
