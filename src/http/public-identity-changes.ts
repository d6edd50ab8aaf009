import type { FastifyInstance, onSendAsyncHookHandler } from 'fastify';
import type { IdentityGeneration } from '../cache/identity-generation.js';

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
 * If the bump fails (Redis away), the request answers 500 rather than a success whose change other
 * nodes might not show (their entries then expire with IDENTITY_CACHE_TTL_SECONDS).
 */
export function bumpIdentityGenerationAfterChanges(app: FastifyInstance, generation: IdentityGeneration): void {
  const bump: onSendAsyncHookHandler = async () => {
    await generation.bump();
  };
  // Attached to the flagged routes only, as they are declared: every other route (GET /session, the
  // hot path, above all) runs no hook for it.
  app.addHook('onRoute', (route) => {
    if (route.config?.changesPublicIdentity !== true) return;
    const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...existing, bump];
  });
}
