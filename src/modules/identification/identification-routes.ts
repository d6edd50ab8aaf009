import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { IdentificationService } from './identification-service.js';

const IdentityData = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  description: 'Whatever the person chooses to share; stored encrypted under a key only their token can derive.',
  maxProperties: 32,
  propertyNames: { maxLength: 64 },
  additionalProperties: true,
});

const LinkBody = body({ identityData: IdentityData, consentedAt: Type.String({ format: 'date-time' }) });

/** Identity data is capped well below the general body limit. */
const IDENTITY_BODY_LIMIT = 8 * 1024;

/**
 * Whom the browser acts as — its signed-in person, else its guest — whose territory keeps the row;
 * null for a visitor with neither (no state is started just for this; see IdentificationRepository).
 */
async function homeOf(request: FastifyRequest): Promise<string | null> {
  try {
    return (await request.caller()).accountabilityProfileId;
  } catch (error) {
    if (error instanceof AppError && error.code === 'SESSION_REQUIRED') return null;
    throw error;
  }
}

export const identificationRoutes: FastifyPluginAsyncTypebox<{ identification: IdentificationService }> = async (
  app,
  { identification },
) => {
  app.post(
    '/identity-link',
    {
      bodyLimit: Math.min(IDENTITY_BODY_LIMIT, app.initialConfig.bodyLimit ?? IDENTITY_BODY_LIMIT),
      schema: {
        tags: ['identification'],
        summary: 'Attach identity data, with explicit consent',
        body: Type.Object(
          { identityData: IdentityData, consent: Type.Boolean({ description: 'Must be true.' }) },
          { additionalProperties: false },
        ),
        response: { 201: LinkBody, ...errorResponses(400, 403, 413) },
      },
    },
    async (request, reply) => {
      const link = await identification.store(request.anon.token, request.body.identityData, request.body.consent, await homeOf(request));
      return reply.code(201).send({ ...link, correlationId: request.id });
    },
  );

  app.get(
    '/identity-link',
    {
      schema: {
        tags: ['identification'],
        summary: 'Read back your identity data',
        response: { 200: LinkBody, ...errorResponses(404) },
      },
    },
    async (request) => ({ ...(await identification.read(request.anon.token, await homeOf(request))), correlationId: request.id }),
  );

  app.delete(
    '/identity-link',
    {
      config: { allowWhenBanned: true },
      schema: {
        tags: ['identification'],
        summary: 'Delete your identity data (a real delete)',
        response: { 200: body({ deleted: Type.Boolean() }) },
      },
    },
    async (request) => ({ deleted: await identification.remove(request.anon.token), correlationId: request.id }),
  );
};
