import { hash, randomUUID } from 'node:crypto';
import type { TokenHasher } from '../../crypto/tokens.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { AppError } from '../../errors.js';
import { displayNameKey } from '../personas/display-name.js';
import { generateGuestName } from '../personas/guest-names.js';
import { createGuestBatcher, type GuestBatchOptions } from './guest-batch.js';
import type { SessionCache } from './session-cache.js';
import type { FoundSession, NewGuest, SessionRepository } from './session-repository.js';
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
  /**
   * The guest behind an anonymous token if this node's cache holds it, else undefined (then ask
   * `resolve`): synchronous, so the hot path's cache hit costs no promise.
   */
  cachedGuest(token: string): SessionContext | undefined;
  /** The caller behind a signed-in session token, or null when it is unknown, expired or revoked. */
  resolveSignedIn(token: string, options?: { readonly fresh?: boolean }): Promise<SessionContext | null>;
  /** The caller behind a verified access token's `sid` (API clients), or null when the session ended. */
  resolveByPublicId(publicId: string, options?: { readonly fresh?: boolean }): Promise<SessionContext | null>;
  /** The same, fresh, for a caller that holds only the token's keyed hash (an app ticket). */
  resolveByHash(tokenHash: Buffer): Promise<SessionContext | null>;
  /**
   * Starts a guest identity for the token; idempotent, and safe when called twice at once. `client`
   * marks an API client's guest (its session is then listed, and ended, as an API session).
   */
  startGuest(token: string, client?: 'browser' | 'api', options?: GuestStartOptions): Promise<GuestStart>;
  startGuestByHash(tokenHash: Buffer, client?: 'browser' | 'api', options?: GuestStartOptions): Promise<GuestStart>;
  /** Ends a signed-in session on the server (every node stops resolving it). True if one ended. */
  signOut(token: string): Promise<boolean>;
}

export interface GuestStartOptions {
  /**
   * The token was minted by this server for this very request (a visitor without a cookie), so no
   * guest can hold it yet: the lookup for an existing guest is skipped. A wrong `true` is still safe:
   * the unique token index refuses a second guest, and the existing one is answered.
   */
  readonly newToken?: boolean;
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
  /** How concurrent guest starts are grouped into statements (see guest-batch.ts). */
  readonly guestBatch?: GuestBatchOptions;
}

/** One guest's fresh ids and default persona (a new name on each attempt). */
function newGuest(tokenHash: Buffer, client: 'browser' | 'api', pseudonyms: Pseudonyms): NewGuest {
  const personaId = randomUUID();
  const displayName = generateGuestName();
  return {
    tokenHash,
    client,
    profileId: randomUUID(),
    accountId: randomUUID(),
    sessionId: randomUUID(),
    personaId,
    displayName,
    displayNameKey: displayNameKey(displayName),
    authorId: pseudonyms.authorId(personaId),
  };
}

/** The context of a guest just written: everything is known, so nothing is read back. */
function startedGuestContext(guest: NewGuest, sessionPublicId: string): SessionContext {
  return {
    sessionId: guest.sessionId,
    sessionPublicId,
    accountId: guest.accountId,
    accountType: 'guest',
    accountabilityProfileId: guest.profileId,
    banned: false,
    persona: { id: guest.personaId, displayName: guest.displayName, trustLevel: 'NEW', authorId: guest.authorId, verified: false },
  };
}

export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { sessions, cache, hasher, pseudonyms, evictProfile, onGuestStarted } = deps;
  const createGuest = createGuestBatcher((guests) => sessions.createGuests(guests), deps.guestBatch ?? { maxBatch: 64, concurrency: 1 });

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

  async function startGuestByHash(
    tokenHash: Buffer,
    client: 'browser' | 'api' = 'browser',
    options?: GuestStartOptions,
  ): Promise<GuestStart> {
    if (!options?.newToken) {
      const existing = await sessions.findByTokenHash(tokenHash);
      if (existing) return { created: false, context: existing };
    }
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const guest = newGuest(tokenHash, client, pseudonyms);
      const result = await createGuest(guest);
      if (result.created) {
        onGuestStarted?.();
        return { created: true, context: startedGuestContext(guest, result.sessionPublicId) };
      }
      if (result.reason === 'token-exists') {
        // A concurrent request with the same token won the race; answer with its guest.
        const context = await sessions.findByTokenHash(tokenHash);
        if (context) return { created: false, context };
      }
    }
    throw new AppError('GUEST_START_FAILED', 'Could not start a guest identity; please try again.');
  }

  const guestCacheKey = (token: string) => hash('sha256', token, 'base64');
  return {
    // The in-memory key needs no server key: the token has 256 bits of entropy, so its SHA-256
    // cannot be reversed, and it is cheaper than the keyed HMAC the database lookup needs.
    resolve: (token, options) => lookup(guestCacheKey(token), () => sessions.find(hasher.hash('anonymous', token)), options),
    cachedGuest: (token) => cache.get(guestCacheKey(token)),
    // Signed-in keys carry a prefix, so the kinds of credential can never share a cache entry.
    resolveSignedIn: (token, options) =>
      lookup(hash('sha256', `session:${token}`, 'base64'), () => sessions.find(hasher.hash('session', token)), options),
    resolveByPublicId: (publicId, options) => lookup(`sid:${publicId}`, () => sessions.findByPublicId(publicId), options),
    resolveByHash: (tokenHash) => sessions.findByTokenHash(tokenHash),
    startGuest: (token, client, options) => startGuestByHash(hasher.hash('anonymous', token), client, options),
    startGuestByHash,
    async signOut(token) {
      const profileId = await sessions.deleteSignedIn(hasher.hash('session', token));
      if (profileId) await evictProfile(profileId);
      return profileId !== null;
    },
  };
}
