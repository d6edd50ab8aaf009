import { createHash, randomUUID } from 'node:crypto';
import type { TokenHasher } from '../../crypto/tokens.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { AppError } from '../../errors.js';
import { displayNameKey } from '../personas/display-name.js';
import { generateGuestName } from '../personas/guest-names.js';
import type { SessionCache } from './session-cache.js';
import type { SessionRepository } from './session-repository.js';
import type { SessionContext } from './session.js';

/** How many generated names to try before giving up (see guest-names.ts for the odds). */
const NAME_ATTEMPTS = 8;

export interface SessionService {
  /**
   * The caller behind an anonymous token, or null before the visitor has started. `fresh` skips the
   * node-local cache: every state-changing request and every app lookup asks the database, so a ban
   * applies to them on the very next request on every node.
   */
  resolve(token: string, options?: { readonly fresh?: boolean }): Promise<SessionContext | null>;
  /** The same, fresh, for a caller that holds only the token's keyed hash (an app ticket). */
  resolveByHash(tokenHash: Buffer): Promise<SessionContext | null>;
  /** Starts a guest identity for the token; idempotent, and safe when called twice at once. */
  startGuest(token: string): Promise<GuestStart>;
  startGuestByHash(tokenHash: Buffer): Promise<GuestStart>;
}

export interface GuestStart {
  readonly created: boolean;
  readonly context: SessionContext;
}

export interface SessionServiceDeps {
  readonly sessions: SessionRepository;
  readonly cache: SessionCache;
  readonly hasher: TokenHasher;
  readonly pseudonyms: Pseudonyms;
  /** Told of each guest identity created (metrics). */
  readonly onGuestStarted?: () => void;
}

export function createSessionService({ sessions, cache, hasher, pseudonyms, onGuestStarted }: SessionServiceDeps): SessionService {
  async function resolve(token: string, options?: { readonly fresh?: boolean }): Promise<SessionContext | null> {
    // The in-memory key needs no server key: the token has 256 bits of entropy, so its SHA-256
    // cannot be reversed, and it is cheaper than the keyed HMAC the database lookup needs.
    const cacheKey = createHash('sha256').update(token).digest('base64');
    if (!options?.fresh) {
      const cached = cache.get(cacheKey);
      if (cached) return cached;
    }
    // A read that raced an eviction (a ban committed meanwhile) must not put stale state back.
    const generation = cache.generation;
    const context = await sessions.findByTokenHash(hasher.hash('anonymous', token));
    if (context) cache.set(cacheKey, context, generation);
    return context;
  }

  async function startGuestByHash(tokenHash: Buffer): Promise<GuestStart> {
    const existing = await sessions.findByTokenHash(tokenHash);
    if (existing) return { created: false, context: existing };

    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const personaId = randomUUID();
      const displayName = generateGuestName();
      const result = await sessions.createGuest({
        tokenHash,
        personaId,
        displayName,
        displayNameKey: displayNameKey(displayName),
        authorId: pseudonyms.authorId(personaId),
      });
      if (result.created) onGuestStarted?.();
      if (result.created || result.reason === 'token-exists') {
        // 'token-exists': a concurrent request with the same token won the race; answer with its guest.
        const context = await sessions.findByTokenHash(tokenHash);
        if (context) return { created: result.created, context };
      }
    }
    throw new AppError('GUEST_START_FAILED', 'Could not start a guest identity; please try again.');
  }

  return {
    resolve,
    resolveByHash: (tokenHash) => sessions.findByTokenHash(tokenHash),
    startGuest: (token) => startGuestByHash(hasher.hash('anonymous', token)),
    startGuestByHash,
  };
}
