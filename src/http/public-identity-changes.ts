import type { FastifyInstance, onSendAsyncHookHandler } from 'fastify';
import type { IdentityGeneration } from '../cache/identity-generation.js';
import { replaceWithError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route can change what a public lookup (GET /identities/{handle}, WebFinger) answers: a
     * persona's liveness, name or avatar, a handle's persona, the person's territory or old
     * territories, a territory's name or domains, the key behind a handle's did. Every non-GET route
     * decides: test/integration/public-identity-routes.test.ts fails on one that is neither flagged
     * nor listed there as unable to change a public identity.
     */
    changesPublicIdentity?: boolean;
  }
}

/**
 * Bumps the identity generation after a flagged route ran, before its answer leaves (onSend: the
 * handler's transaction has committed), so the very next lookup on any node misses its cache.
 *
 * Every status bumps, 4xx and 5xx included: a 5xx may follow a commit, and some flagged routes
 * finish an interrupted territory move before refusing the request itself (ending a citizenship,
 * starting a move). A needless bump costs one cache miss per handle; a missing one a stale answer.
 *
 * If the bump fails (Redis away; without Redis, a node of the PostgreSQL bus did not confirm it), the
 * change is made but other nodes may not show it yet: a success
 * would promise what the cache cannot keep. So a success becomes 503 CHANGE_NOT_YET_PUBLIC, which
 * says the change is saved (not to be repeated: no Retry-After) and for how long public lookups may
 * still show the state before it. A refusal stays what it was (it changed nothing of its own).
 * How long: a node that lost its Redis connection too serves nothing it cached before (the
 * generation it reads carries a count of its reconnections, see RedisLookupGate), so with Redis down
 * for everyone no stale answer is served at all; a node that kept its connection to a Redis this node
 * could not reach may serve its entries until they expire (`ttlSeconds`).
 */
export function bumpIdentityGenerationAfterChanges(app: FastifyInstance, generation: IdentityGeneration, ttlSeconds: number): void {
  const bump: onSendAsyncHookHandler = async (request, reply, payload) => {
    try {
      await generation.bump();
      return payload;
    } catch (error) {
      request.log.warn({ err: error }, 'the identity generation could not be bumped');
      if (reply.statusCode >= 300) return payload;
      reply.removeHeader('retry-after');
      return replaceWithError(
        request,
        reply,
        'CHANGE_NOT_YET_PUBLIC',
        `Your change is saved; do not repeat it. The cache service did not answer, so public lookups (profiles, WebFinger) may show the previous state for up to ${ttlSeconds} seconds.`,
      );
    }
  };
  // Attached to the flagged routes only, as they are declared: every other route (GET /session, the
  // hot path, above all) runs no hook for it.
  app.addHook('onRoute', (route) => {
    if (route.config?.changesPublicIdentity !== true) return;
    const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...existing, bump];
  });
}
