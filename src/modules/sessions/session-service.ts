import { createHash, randomUUID } from 'node:crypto';
import type { TokenHasher } from '../../crypto/tokens.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { AppError } from '../../errors.js';
import { displayNameKey } from '../personas/display-name.js';
import { generateGuestName } from '../personas/guest-names.js';
import type { SessionCache } from './session-cache.js';
import type { FoundSession, SessionRepository } from './session-repository.js';
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
  /** The caller behind a signed-in session token, or null when it is unknown, expired or revoked. */
  resolveSignedIn(token: string, options?: { readonly fresh?: boolean }): Promise<SessionContext | null>;
  /** The caller behind a verified access token's `sid` (API clients), or null when the session ended. */
  resolveByPublicId(publicId: string, options?: { readonly fresh?: boolean }): Promise<SessionContext | null>;
  /** The same, fresh, for a caller that holds only the token's keyed hash (an app ticket). */
  resolveByHash(tokenHash: Buffer): Promise<SessionContext | null>;
  /** Starts a guest identity for the token; idempotent, and safe when called twice at once. */
  startGuest(token: string): Promise<GuestStart>;
  startGuestByHash(tokenHash: Buffer): Promise<GuestStart>;
  /** Ends a signed-in session on the server (every node stops resolving it). True if one ended. */
  signOut(token: string): Promise<boolean>;
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
  /** Drops a person's cached sessions on every node (after a commit that changed them). */
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
  /** Told of each guest identity created (metrics). */
  readonly onGuestStarted?: () => void;
}

export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { sessions, cache, hasher, pseudonyms, evictProfile, onGuestStarted } = deps;

  async function lookup(
    cacheKey: string,
    read: () => Promise<FoundSession | null>,
    options: { readonly fresh?: boolean } | undefined,
  ): Promise<SessionContext | null> {
    if (!options?.fresh) {
      const cached = cache.get(cacheKey);
      if (cached) return cached;
    }
    // A read that raced an eviction (a ban committed meanwhile) must not put stale state back.
    const generation = cache.generation;
    const found = await read();
    if (!found) return null;
    // At most once a minute per session, and only on a cache miss: cached reads never write.
    if (found.touchDue) await sessions.touch(found.context.sessionId);
    cache.set(cacheKey, found.context, generation);
    return found.context;
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
    // The in-memory key needs no server key: the token has 256 bits of entropy, so its SHA-256
    // cannot be reversed, and it is cheaper than the keyed HMAC the database lookup needs.
    resolve: (token, options) =>
      lookup(createHash('sha256').update(token).digest('base64'), () => sessions.find(hasher.hash('anonymous', token)), options),
    // Signed-in keys carry a prefix, so the kinds of credential can never share a cache entry.
    resolveSignedIn: (token, options) =>
      lookup(createHash('sha256').update(`session:${token}`).digest('base64'), () => sessions.find(hasher.hash('session', token)), options),
    resolveByPublicId: (publicId, options) => lookup(`sid:${publicId}`, () => sessions.findByPublicId(publicId), options),
    resolveByHash: (tokenHash) => sessions.findByTokenHash(tokenHash),
    startGuest: (token) => startGuestByHash(hasher.hash('anonymous', token)),
    startGuestByHash,
    async signOut(token) {
      const profileId = await sessions.deleteSignedIn(hasher.hash('session', token));
      if (profileId) await evictProfile(profileId);
      return profileId !== null;
    },
  };
}
