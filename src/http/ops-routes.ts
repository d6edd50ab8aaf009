import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Registry } from 'prom-client';
import { sendError } from './error-handler.js';
import { errorResponses } from './schemas.js';

export interface OpsDeps {
  readonly ping: () => Promise<void>;
  readonly registry: Registry;
}

/** Liveness, readiness, metrics and the OpenAPI document: for the people who run the service. */
export const opsRoutes: FastifyPluginAsyncTypebox<OpsDeps> = async (app, { ping, registry }) => {
  const Status = Type.Object({ status: Type.String(), correlationId: Type.String() });

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Status } } }, async (request) => ({
    status: 'ok',
    correlationId: request.id,
  }));

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: the database answers',
        response: { 200: Status, ...errorResponses(503) },
      },
    },
    async (request, reply) => {
      try {
        await ping();
      } catch (error) {
        request.log.warn({ err: error }, 'database not ready');
        return sendError(request, reply, 'NOT_READY', 'The database is not answering.');
      }
      return { status: 'ready', correlationId: request.id };
    },
  );

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
