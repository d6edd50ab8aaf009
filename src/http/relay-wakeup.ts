import type { FastifyInstance } from 'fastify';

/**
 * What a request wrote to the outbox is delivered as it answers, not at the relay's next poll: the
 * poll (5 s by default) is then only for events written elsewhere (background jobs, the CLI, a node
 * that died). Reads and preflights never write events, so the hot path only pays the method check.
 */
export function wakeRelayAfterWrites(app: FastifyInstance, relay: { nudge(): void }): void {
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS') relay.nudge();
    done();
  });
}
