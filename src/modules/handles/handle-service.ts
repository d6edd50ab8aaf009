import { randomInt } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { SessionContext } from '../sessions/session.js';
import { handleCandidates, handleProblem, handleSkeleton, normalizeHandle } from './handle.js';
import type { ClaimedHandle, HandleRepository } from './handle-repository.js';

export type HandleStatus = 'available' | 'taken' | 'reserved' | 'invalid' | 'retired';

export interface HandleAvailability {
  readonly handle: string;
  readonly status: HandleStatus;
  /** A few available variants, when the handle is taken or retired. */
  readonly suggestions: readonly string[];
}

type Caller = Pick<SessionContext, 'accountId'>;

export interface HandleService {
  check(input: string): Promise<HandleAvailability>;
  /** A normalized, claimable handle, or the typed error (HANDLE_INVALID, HANDLE_RESERVED). */
  validate(input: string): Promise<{ handle: string; skeleton: string }>;
  claim(caller: Caller, personaId: string, input: string, correlationId: string): Promise<ClaimedHandle>;
  move(caller: Caller, fromPersonaId: string, toPersonaId: string, correlationId: string): Promise<{ handle: string }>;
}

export interface HandleServiceDeps {
  readonly handles: HandleRepository;
  /** Territory codes are part of the namespace: no handle may imitate one. */
  readonly territoryCodes: () => Promise<readonly string[]>;
}

const SUGGESTIONS = 3;

export function createHandleService({ handles, territoryCodes }: HandleServiceDeps): HandleService {
  async function suggestionsFor(handle: string): Promise<string[]> {
    const codes = await territoryCodes();
    const candidates = handleCandidates(handle, () => String(randomInt(10, 100)))
      .filter((candidate) => handleProblem(candidate, codes) === null)
      .map((candidate) => ({ handle: candidate, skeleton: handleSkeleton(candidate) }));
    const issued = await handles.issued(candidates);
    const unique = [...new Set(candidates.map((candidate) => candidate.handle))];
    return unique.filter((candidate) => !issued.has(candidate)).slice(0, SUGGESTIONS);
  }

  async function validate(input: string) {
    const handle = normalizeHandle(input);
    const problem = handleProblem(handle, await territoryCodes());
    if (problem === 'invalid') throw new AppError('HANDLE_INVALID', 'A handle is 3–50 characters: lowercase letters, digits and _.');
    if (problem === 'reserved') throw new AppError('HANDLE_RESERVED', 'This handle is reserved; choose another.');
    return { handle, skeleton: handleSkeleton(handle) };
  }

  return {
    async check(input) {
      const handle = normalizeHandle(input);
      const problem = handleProblem(handle, await territoryCodes());
      if (problem) return { handle, status: problem, suggestions: problem === 'reserved' ? await suggestionsFor(handle) : [] };
      const record = await handles.find(handle, handleSkeleton(handle));
      if (!record) return { handle, status: 'available', suggestions: [] };
      // Once issued, never issued again: a handle whose persona is gone is retired, not free.
      return { handle, status: record.live ? 'taken' : 'retired', suggestions: await suggestionsFor(handle) };
    },

    validate,

    async claim(caller, personaId, input, correlationId) {
      const { handle, skeleton } = await validate(input);
      const result = await handles.claim(caller.accountId, personaId, handle, skeleton, correlationId);
      if (result === 'persona-not-found') throw new AppError('PERSONA_NOT_FOUND', 'You have no live persona with this id.');
      if (result === 'persona-has-handle') throw new AppError('HANDLE_TAKEN', 'This persona has a handle already; a persona holds one.');
      if (result === 'taken') throw new AppError('HANDLE_TAKEN', 'This handle (or one that looks like it) is taken; see GET /handles/{handle} for suggestions.');
      return result;
    },

    async move(caller, fromPersonaId, toPersonaId, correlationId) {
      const result = await handles.move(caller.accountId, fromPersonaId, toPersonaId, correlationId);
      if (result === 'persona-not-found') throw new AppError('PERSONA_NOT_FOUND', 'You have no live persona with this id to give the handle to.');
      if (result === 'no-handle') throw new AppError('HANDLE_NOT_FOUND', 'None of your personas with this id holds a handle.');
      if (result === 'target-has-handle') throw new AppError('HANDLE_TAKEN', 'The other persona has a handle already; a persona holds one.');
      return result;
    },
  };
}
