import { randomBytes, randomUUID } from 'node:crypto';
import type { InvalidationBus } from '../../cache/invalidation-bus.js';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import { creationWindowStart, evaluate, PERSONA_ACTIONS, type Decision } from '../policy/evaluate.js';
import type { Policies } from '../policy/policy.js';
import type { SessionContext } from '../sessions/session.js';
import { displayNameKey, displayNameProblem, normalizeDisplayName } from './display-name.js';
import { addDays, avatarUrlProblem, personaState, toPublicPersona, type ListedPersona, type PersonaRecord, type PublicPersona, type TrustLevel } from './persona.js';
import type { Person, PersonaRepository, PersonWork } from './persona-repository.js';

/** The caller as the persona use cases need it (a slice of the session context). */
export type PersonaCaller = Pick<SessionContext, 'sessionId' | 'accountId' | 'accountabilityProfileId' | 'persona'>;

export interface PersonaService {
  /** The personas the caller may act as, live and deactivated-but-restorable (never retired ones). */
  list(caller: PersonaCaller): Promise<ListedPersona[]>;
  create(caller: PersonaCaller, input: { readonly displayName: string; readonly avatarUrl?: string | undefined }): Promise<PublicPersona>;
  /** Retires the persona and creates its successor (NEW, same person); sessions acting as it move over. */
  rotate(caller: PersonaCaller, personaId: string, newDisplayName: string): Promise<PublicPersona>;
  deactivate(caller: PersonaCaller, personaId: string): Promise<PublicPersona>;
  reactivate(caller: PersonaCaller, personaId: string): Promise<PublicPersona>;
  /** Anonymizes the persona at once and schedules its purge; refused under a legal hold. */
  deletePermanently(caller: PersonaCaller, personaId: string): Promise<{ readonly purgeAfter: string }>;
  /**
   * Deletes the caller's whole identity: every persona anonymized (purged after the purge period),
   * every sign-in method, session and credential gone. Refused under a legal hold.
   */
  eraseIdentity(caller: PersonaCaller): Promise<{ readonly purgeAfter: string }>;
  /** Makes a live persona the caller's session's active one. */
  switchActive(caller: PersonaCaller, personaId: string): Promise<PublicPersona>;
  /** What the policy engine says about the caller doing `action` (as `personaId`, or the active persona). */
  check(caller: PersonaCaller, action: string, personaId?: string): Promise<Decision>;
  /** Manual trust promotion (or demotion) by an admin; audited. */
  setTrustLevel(personaId: string, level: TrustLevel, admin: Actor): Promise<{ readonly id: string; readonly trustLevel: TrustLevel; readonly trustGrantedAt: string }>;
}

export interface PersonaServiceDeps {
  readonly personas: PersonaRepository;
  readonly policies: { current(): Promise<Policies> };
  /** The public pseudonym of a new persona. */
  readonly authorIdOf: (personaId: string) => string;
  readonly invalidation: InvalidationBus;
  readonly clock: Clock;
}

const notFound = () => new AppError('PERSONA_NOT_FOUND', 'No persona with that id is yours to act as.');
const nameTaken = () => new AppError('DISPLAY_NAME_TAKEN', 'That display name is taken. Choose another.');

function enforce(decision: Decision): void {
  if (decision.allowed) return;
  const retry = decision.retryAfter ? ` Try again after ${decision.retryAfter.toISOString()}.` : '';
  throw new AppError(decision.code, `${decision.reason}${retry}`);
}

function validDisplayName(raw: string): { readonly name: string; readonly key: string } {
  const name = normalizeDisplayName(raw);
  const problem = displayNameProblem(name);
  if (problem) throw new AppError('VALIDATION_FAILED', problem);
  return { name, key: displayNameKey(name) };
}

function subjectOf(person: Person, trustLevel: TrustLevel | null) {
  return { banned: person.banned, riskLevel: person.riskLevel, trustLevel };
}

/** An anonymized name for a deleted persona: random, so it cannot be traced back to the old one. */
const anonymizedName = () => `deleted-${randomBytes(6).toString('hex')}`;

/** GDPR Art. 17(3)(e): data under a legal hold stays until the hold is released. */
function refuseUnderLegalHold(unit: PersonWork, what: string): void {
  if (unit.person.legalHold) throw new AppError('LEGAL_HOLD', `${what} cannot be deleted while a legal hold applies.`);
}

export function createPersonaService({ personas, policies, authorIdOf, invalidation, clock }: PersonaServiceDeps): PersonaService {
  /** Sessions cached on any node show the change on their next request. */
  const evict = (profileId: string) => invalidation.publish({ kind: 'profile', id: profileId });

  /** The persona, re-read under the person's lock; retired ones are as good as absent. */
  async function lockedPersona(unit: PersonWork, caller: PersonaCaller, personaId: string): Promise<PersonaRecord> {
    const persona = await unit.accessiblePersona(personaId, caller.accountId);
    if (!persona || personaState(persona) === 'retired') throw notFound();
    return persona;
  }

  /** Runs `work` in the transaction of the person behind an accessible persona. */
  async function onPersona<T>(caller: PersonaCaller, personaId: string, work: (unit: PersonWork, persona: PersonaRecord) => Promise<T>) {
    const found = await personas.findAccessible(personaId, caller.accountId);
    if (!found || personaState(found.persona) === 'retired') throw notFound();
    const profileId = found.persona.accountabilityProfileId;
    const result = await personas.withPerson(profileId, async (unit) => work(unit, await lockedPersona(unit, caller, personaId)));
    await evict(profileId);
    return result;
  }

  /** Takes a name for this person: refused while another person holds it in reserve. */
  async function claimName(unit: PersonWork, key: string, now: Date): Promise<void> {
    if ((await unit.nameHolder(key, now)) === 'other') throw nameTaken();
    await unit.dropHold(key);
  }

  /** Keeps a released name reserved for its holder through the reuse window (impersonation). */
  async function releaseName(unit: PersonWork, key: string, now: Date, policy: Policies): Promise<void> {
    if (policy.display_name_reuse_window_days > 0) await unit.holdName(key, addDays(now, policy.display_name_reuse_window_days));
  }

  /**
   * Anonymizes a persona and schedules its purge (a retired one keeps the purge date it has). Its
   * name stays reserved through the reuse window, so nobody else can pose as it at once.
   */
  async function erase(unit: PersonWork, persona: PersonaRecord, policy: Policies, now: Date): Promise<Date> {
    const anonymized = anonymizedName();
    const purgeAfter = persona.deletedAt && persona.purgeAfter ? persona.purgeAfter : addDays(now, policy.deletion_purge_days);
    await unit.updatePersona(persona.id, {
      displayName: anonymized, displayNameKey: anonymized, avatarUrl: null, isActive: false, deletedAt: persona.deletedAt ?? now, purgeAfter,
    });
    // A retired persona's name was released (and held) when it was retired.
    if (!persona.deletedAt) await releaseName(unit, persona.displayNameKey, now, policy);
    await unit.appendEvent({ type: 'PersonaDeleted', payload: { personaId: persona.id, purgeAfter: purgeAfter.toISOString() } });
    return purgeAfter;
  }

  async function decide(unit: PersonWork, action: string, trustLevel: TrustLevel | null, policy: Policies, now: Date) {
    const counts = await unit.counts(creationWindowStart(policy, now));
    enforce(evaluate(subjectOf(unit.person, trustLevel), action, policy, { now, ...counts }));
  }

  return {
    async list(caller) {
      const rows = await personas.listForAccount(caller.accountId);
      return rows.map(({ persona, verified, handle }) => ({ ...toPublicPersona(persona, verified), handle }));
    },

    async create(caller, input) {
      const { name, key } = validDisplayName(input.displayName);
      const avatarUrl = input.avatarUrl ?? null;
      const problem = avatarUrl === null ? null : avatarUrlProblem(avatarUrl);
      if (problem) throw new AppError('VALIDATION_FAILED', problem);
      const [policy, now] = [await policies.current(), clock.now()];
      const created = await personas.withPerson(caller.accountabilityProfileId, async (unit) => {
        await decide(unit, PERSONA_ACTIONS.create, caller.persona?.trustLevel ?? null, policy, now);
        await unit.lockNames([key]);
        await claimName(unit, key, now);
        const id = randomUUID();
        const persona = await unit.insertPersona({
          id, displayName: name, displayNameKey: key, avatarUrl, authorId: authorIdOf(id), origin: 'created', rotatedFrom: null, createdAt: now,
          ownerAccountId: caller.accountId,
        });
        await unit.refreshAccess();
        await unit.activateIfNone(caller.sessionId, id);
        await unit.appendEvent({
          type: 'PersonaCreated',
          payload: { personaId: id, accountabilityProfileId: unit.person.id, trustLevel: persona.trustLevel },
        });
        return toPublicPersona(persona, unit.person.verified);
      });
      await evict(caller.accountabilityProfileId);
      return created;
    },

    async rotate(caller, personaId, newDisplayName) {
      const { name, key } = validDisplayName(newDisplayName);
      const [policy, now] = [await policies.current(), clock.now()];
      return onPersona(caller, personaId, async (unit, old) => {
        if (personaState(old) !== 'live') throw new AppError('PERSONA_INACTIVE', 'Only an active persona can be rotated.');
        await decide(unit, PERSONA_ACTIONS.rotate, old.trustLevel, policy, now);
        await unit.lockNames([old.displayNameKey, key]);
        // The old persona goes first, so its name is free (and reserved for this person) before the new one claims one.
        await unit.updatePersona(old.id, { isActive: false, deletedAt: now, purgeAfter: addDays(now, policy.deletion_purge_days) });
        await releaseName(unit, old.displayNameKey, now, policy);
        await claimName(unit, key, now);
        const id = randomUUID();
        // A fresh face: trust starts at NEW and the avatar is not carried over. Accountability is the
        // person's, not the persona's, so score, risk and verification follow unchanged.
        const successor = await unit.insertPersona({
          id, displayName: name, displayNameKey: key, avatarUrl: null, authorId: authorIdOf(id), origin: 'rotated', rotatedFrom: old.id, createdAt: now,
          ownerAccountId: old.ownerAccountId,
        });
        await unit.refreshAccess();
        await unit.moveSessions(old.id, id);
        await unit.appendEvent({
          type: 'PersonaRotated',
          payload: { oldPersonaId: old.id, newPersonaId: id, accountabilityProfileId: unit.person.id },
        });
        await unit.appendEvent({ type: 'PersonaDeactivated', payload: { personaId: old.id, reason: 'rotation' } });
        return toPublicPersona(successor, unit.person.verified);
      });
    },

    async deactivate(caller, personaId) {
      const [policy, now] = [await policies.current(), clock.now()];
      return onPersona(caller, personaId, async (unit, persona) => {
        if (personaState(persona) !== 'live') throw new AppError('PERSONA_INACTIVE', 'The persona is already deactivated.');
        await unit.lockNames([persona.displayNameKey]);
        const deactivated = await unit.updatePersona(persona.id, {
          isActive: false, deactivatedAt: now, purgeAfter: addDays(now, policy.deactivation_grace_days),
        });
        await releaseName(unit, persona.displayNameKey, now, policy);
        await unit.appendEvent({ type: 'PersonaDeactivated', payload: { personaId: persona.id, reason: 'user' } });
        return toPublicPersona(deactivated, unit.person.verified);
      });
    },

    async reactivate(caller, personaId) {
      const [policy, now] = [await policies.current(), clock.now()];
      return onPersona(caller, personaId, async (unit, persona) => {
        if (personaState(persona) === 'live') return toPublicPersona(persona, unit.person.verified);
        if (persona.purgeAfter && persona.purgeAfter <= now) {
          throw new AppError('GRACE_PERIOD_OVER', 'The grace period is over: this persona can no longer be restored.');
        }
        await decide(unit, PERSONA_ACTIONS.reactivate, persona.trustLevel, policy, now);
        await unit.lockNames([persona.displayNameKey]);
        await claimName(unit, persona.displayNameKey, now);
        const restored = await unit.updatePersona(persona.id, { isActive: true, deactivatedAt: null, purgeAfter: null });
        await unit.appendEvent({ type: 'PersonaReactivated', payload: { personaId: persona.id } });
        return toPublicPersona(restored, unit.person.verified);
      });
    },

    async deletePermanently(caller, personaId) {
      const [policy, now] = [await policies.current(), clock.now()];
      return onPersona(caller, personaId, async (unit, persona) => {
        refuseUnderLegalHold(unit, 'This persona');
        await unit.lockNames([persona.displayNameKey]);
        return { purgeAfter: (await erase(unit, persona, policy, now)).toISOString() };
      });
    },

    async eraseIdentity(caller) {
      const [policy, now] = [await policies.current(), clock.now()];
      const profileId = caller.accountabilityProfileId;
      const purgeAfter = await personas.withPerson(profileId, async (unit) => {
        refuseUnderLegalHold(unit, 'This identity');
        const all = await unit.allPersonas();
        await unit.lockNames(all.map((persona) => persona.displayNameKey));
        for (const persona of all) await erase(unit, persona, policy, now);
        await unit.eraseSignInMethods();
        const purgeAfter = addDays(now, policy.deletion_purge_days);
        await unit.appendEvent({ type: 'IdentityDeleted', payload: { accountabilityProfileId: profileId, purgeAfter: purgeAfter.toISOString() } });
        return purgeAfter;
      });
      await evict(profileId);
      return { purgeAfter: purgeAfter.toISOString() };
    },

    async switchActive(caller, personaId) {
      const found = await personas.findAccessible(personaId, caller.accountId);
      if (!found || personaState(found.persona) === 'retired') throw notFound();
      if (personaState(found.persona) !== 'live') throw new AppError('PERSONA_INACTIVE', 'Reactivate the persona before acting as it.');
      await personas.setActivePersona(caller.sessionId, personaId);
      await evict(found.persona.accountabilityProfileId);
      return toPublicPersona(found.persona, found.verified);
    },

    async check(caller, action, personaId) {
      let profileId = caller.accountabilityProfileId;
      let trustLevel = caller.persona?.trustLevel ?? null;
      if (personaId !== undefined) {
        const found = await personas.findAccessible(personaId, caller.accountId);
        if (!found || personaState(found.persona) === 'retired') throw notFound();
        [profileId, trustLevel] = [found.persona.accountabilityProfileId, found.persona.trustLevel];
      }
      const [policy, now] = [await policies.current(), clock.now()];
      const known = await personas.person(profileId, creationWindowStart(policy, now));
      if (!known) throw notFound();
      return evaluate(subjectOf(known.person, trustLevel), action, policy, { now, ...known.counts });
    },

    async setTrustLevel(personaId, level, admin) {
      const at = clock.now();
      const persona = await personas.setTrustLevel(personaId, level, at, {
        ...admin, action: 'persona.trust-level', target: `persona:${personaId}`, detail: { trustLevel: level },
      });
      if (!persona) throw new AppError('PERSONA_NOT_FOUND', 'No active or deactivated persona has that id.');
      await evict(persona.accountabilityProfileId);
      return { id: persona.id, trustLevel: persona.trustLevel, trustGrantedAt: persona.trustGrantedAt.toISOString() };
    },
  };
}
