import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Citizenship } from './citizenship.js';
import type { CitizenshipRepository } from './citizenship-repository.js';
import type { MoveService } from './move-service.js';
import type { TerritoryRowsRepository } from './territory-rows-repository.js';

export interface CitizenshipService {
  /** The person's live citizenships, primary first (the default territory when they never moved). */
  list(accountabilityProfileId: string): Promise<Citizenship[]>;
  /** Ends a secondary citizenship and clears the person's rows there (404 CITIZENSHIP_NOT_FOUND, 409 PRIMARY_CITIZENSHIP). */
  end(accountabilityProfileId: string, code: string, correlationId: string): Promise<void>;
}

export interface CitizenshipServiceDeps {
  readonly citizenships: CitizenshipRepository;
  readonly rows: TerritoryRowsRepository;
  readonly moves: MoveService;
  readonly clock: Clock;
}

export function createCitizenshipService({ citizenships, rows, moves, clock }: CitizenshipServiceDeps): CitizenshipService {
  return {
    list: (accountabilityProfileId) => citizenships.list(accountabilityProfileId),

    async end(accountabilityProfileId, code, correlationId) {
      // An unfinished move decides which citizenship is primary: finish it before judging.
      await moves.resume(accountabilityProfileId);
      const person = await rows.personOf(accountabilityProfileId);
      const result = await citizenships.end(accountabilityProfileId, code, correlationId, clock.now(), (trx, userId) => rows.retire(code, person, userId, trx));
      if (result === 'not-found') throw new AppError('CITIZENSHIP_NOT_FOUND', 'You hold no citizenship in this territory.');
      if (result === 'primary') throw new AppError('PRIMARY_CITIZENSHIP', 'This is where you live: move elsewhere first, then end it.');
    },
  };
}
