import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { InvitationRedeemer } from '../invitations/invitation-service.js';
import type { TerritoryService } from '../territories/territory-service.js';
import { insertPrimaryCitizenship } from './citizenship-repository.js';
import type { TerritoryRowsRepository } from './territory-rows-repository.js';

/** Where a registration settles the new person: a territory and the invitation that opens it. */
export interface Residence {
  readonly territoryCode: string;
  readonly invitation: string | null;
}

export interface RegistrationResidence {
  /**
   * Checked before any work: the territory exists and is open, and an invite-only one comes with an
   * invitation. Null: the default territory, uninvited, which needs no row (as for guests).
   */
  choose(request: { territory?: string | undefined; invitation?: string | undefined }): Promise<Residence | null>;
  /**
   * Inside the registration's transaction: the resident row, the primary citizenship, and one use of
   * the invitation (refused with a typed error that rolls the whole registration back).
   */
  settle(trx: Tx, accountabilityProfileId: string, residence: Residence, invited: { email: string | null; handle: string | null }): Promise<void>;
}

export function createRegistrationResidence(deps: {
  readonly territories: TerritoryService;
  readonly rows: TerritoryRowsRepository;
  readonly invitations: InvitationRedeemer;
}): RegistrationResidence {
  const { territories, rows, invitations } = deps;
  return {
    async choose({ territory, invitation }) {
      const target = territory === undefined ? await territories.defaultTerritory() : await territories.get(territory);
      if (target.status !== 'active') throw new AppError('TERRITORY_CLOSED', 'This territory takes no newcomers.');
      if (target.inviteOnly && invitation === undefined) throw new AppError('INVITATION_REQUIRED', 'This territory is invite-only: register with an invitation.');
      if (target.isDefault && invitation === undefined) return null;
      return { territoryCode: target.code, invitation: invitation ?? null };
    },

    async settle(trx, accountabilityProfileId, residence, invited) {
      const userId = randomUUID();
      // An invitation is spent first: a refusal leaves no resident row behind, even on a remote territory.
      if (residence.invitation !== null) {
        await invitations.redeem(trx, { token: residence.invitation, territoryCode: residence.territoryCode, accountabilityProfileId, purpose: 'registration', ...invited });
      }
      await rows.ensureResident(residence.territoryCode, { accountabilityProfileId, accountIds: [] }, userId, trx);
      await insertPrimaryCitizenship(trx, accountabilityProfileId, residence.territoryCode, userId);
    },
  };
}
