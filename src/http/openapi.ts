import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** OpenAPI 3.1 generated from the same schemas that validate and serialize; docs page at /docs. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    // Shared schemas keep their own names ($id) in components, not def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'personae',
        version: '0.1.0',
        description:
          'A privacy-first identity service: know that it is the same person without knowing who. ' +
          'Every JSON response carries `correlationId`; every error is `{code, message, correlationId}`.',
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'The operator\'s ADMIN_TOKEN (role admin), or a role token (pk_admin_…) made with POST /admin/tokens. Routes marked admin need the admin role; the others accept moderator tokens too.' },
          appKey: { type: 'http', scheme: 'bearer', description: 'A registered app\'s API key (pk_app_…).' },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
}
