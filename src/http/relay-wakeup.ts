import type { FastifyInstance } from 'fastify';
import { attachToRoutes, changesState, SAFE_METHODS } from './route-hooks.js';

/**
 * What a request wrote to the outbox is delivered as it answers, not at the relay's next poll: the
 * poll (5 s by default) is then only for events written elsewhere (background jobs, the CLI, a node
 * that died). Reads and preflights never write events, so only the routes that can change state
 * carry the hook: the hot read runs none. Call before the routes are declared.
 */
export function wakeRelayAfterWrites(app: FastifyInstance, relay: { nudge(): void }): void {
  attachToRoutes(app, 'onResponse', changesState, (request, _reply, done) => {
    if (!SAFE_METHODS.has(request.method)) relay.nudge();
    done();
  });
}
