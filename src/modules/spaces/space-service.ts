import { AppError } from '../../errors.js';
import { notAMember, type SpaceCaller, type SpaceMembership } from './space.js';
import type { SpaceRepository } from './space-repository.js';

export interface SpaceService {
  /** Joins with the caller's active persona; ALREADY_MEMBER when any persona of the person is a member. */
  join(caller: SpaceCaller, spaceId: string): Promise<SpaceMembership>;
  /** Leaves; NOT_MEMBER unless a persona the caller may act as holds the person's membership. */
  leave(caller: SpaceCaller, spaceId: string): Promise<void>;
  membership(caller: SpaceCaller, spaceId: string): Promise<SpaceMembership>;
}

export function createSpaceService(spaces: SpaceRepository): SpaceService {
  const inactive = () => new AppError('PERSONA_INACTIVE', 'Your active persona is deactivated or deleted; switch to another one first.');

  return {
    async join(caller, spaceId) {
      if (!caller.persona) throw inactive();
      const result = await spaces.join(spaceId, caller.persona.id);
      if (!result.joined) {
        // The message names no persona: the member may be one this sign-in is not to see.
        if (result.reason === 'already-member') throw new AppError('ALREADY_MEMBER', 'You are a member of this space already, with one of your personas.');
        throw inactive();
      }
      const { id, displayName } = caller.persona;
      return { spaceId, member: true, persona: { id, displayName }, joinedAt: result.joinedAt.toISOString() };
    },

    async leave(caller, spaceId) {
      if (!(await spaces.leave(spaceId, caller.accountabilityProfileId, caller.accountId))) {
        throw new AppError('NOT_MEMBER', 'None of the personas you act as is a member of this space.');
      }
    },

    async membership(caller, spaceId) {
      const found = await spaces.find(spaceId, caller.accountabilityProfileId, caller.accountId);
      if (!found) return notAMember(spaceId);
      return {
        spaceId,
        member: true,
        persona: found.visible ? { id: found.personaId, displayName: found.displayName } : null,
        joinedAt: found.joinedAt.toISOString(),
      };
    },
  };
}
