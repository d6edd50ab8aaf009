import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { StepUpService } from '../step-up/step-up-service.js';
import type { PersonaService } from './persona-service.js';

const Uuid = Type.String({ format: 'uuid' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const TrustLevelSchema = Type.Union([Type.Literal('NEW'), Type.Literal('REGULAR'), Type.Literal('TRUSTED')]);

/** A persona as the public sees it: never the person behind it, their score or their risk. */
export const PublicPersonaSchema = Type.Object(
  {
    id: Uuid,
    displayName: Type.String(),
    avatarUrl: Nullable(Type.String()),
    trustLevel: TrustLevelSchema,
    createdAt: Type.String({ format: 'date-time' }),
    verified: Type.Boolean({ description: 'The person is verified; shown on each of their personas.' }),
    active: Type.Boolean({ description: 'False for a deactivated persona (listed only to its owner, to restore it).' }),
    authorId: Type.String({ description: 'The persona\'s stable public pseudonym.' }),
    restorableUntil: Nullable(Type.String({ format: 'date-time', description: 'Deactivated: the end of the grace period.' })),
  },
  { additionalProperties: false },
);

/** A persona in its owner's list: the public fields and its handle (public too: its address), or null. */
export const ListedPersonaSchema = Type.Object(
  {
    ...PublicPersonaSchema.properties,
    handle: Nullable(Type.String({ description: 'The persona\'s handle (its address is handle@territory), or null before one is claimed.' })),
  },
  { additionalProperties: false },
);

// Schemas allow room for white space that is trimmed; the service checks the normalized name (1–64 characters).
const DisplayName = Type.String({ minLength: 1, maxLength: 128 });
const AvatarUrl = Type.String({ minLength: 9, maxLength: 500, pattern: '^https://', description: 'An https URL.' });
const PersonaParams = Type.Object({ id: Uuid }, { additionalProperties: false });
const PersonaBody = body({ persona: PublicPersonaSchema });

/** The caller's persona routes (visitor scope: `request.caller()` is the person acting). */
export interface PersonaRoutesDeps {
  readonly personas: PersonaService;
  /** Permanent deletion is a sensitive change: a signed-in session must be fresh (guests need not). */
  readonly stepUp: StepUpService;
}

export const personaRoutes: FastifyPluginAsyncTypebox<PersonaRoutesDeps> = async (app, { personas, stepUp }) => {
  app.get(
    '/personas',
    {
      schema: {
        tags: ['personas'],
        summary: 'The personas I may act as',
        description: 'Live personas and deactivated ones still restorable (`active: false`), each with its handle (or null); never rotated-away or deleted ones.',
        response: { 200: body({ personas: Type.Array(ListedPersonaSchema) }) },
      },
    },
    async (request) => {
      // A visitor who has not started has no personas yet: an empty list, not an error.
      const caller = await request.caller().catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'SESSION_REQUIRED') return null;
        throw error;
      });
      return { personas: caller ? await personas.list(caller) : [], correlationId: request.id };
    },
  );

  app.post(
    '/personas',
    {
      schema: {
        tags: ['personas'],
        summary: 'Create a persona',
        description: 'Limited by policy: live personas per person, creations per window, display names unique and held after release.',
        body: Type.Object({ displayName: DisplayName, avatarUrl: Type.Optional(AvatarUrl) }, { additionalProperties: false }),
        response: { 201: PersonaBody, ...errorResponses(400, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const caller = await request.caller({ start: true });
      const persona = await personas.create(caller, request.body);
      return reply.code(201).send({ persona, correlationId: request.id });
    },
  );

  app.post(
    '/personas/:id/rotate',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['personas'],
        summary: 'Rotate a persona',
        description: 'Retires the persona and answers its successor: a new name, trust level NEW, the same person behind it.',
        params: PersonaParams,
        body: Type.Object({ newDisplayName: DisplayName }, { additionalProperties: false }),
        response: { 200: PersonaBody, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const persona = await personas.rotate(await request.caller(), request.params.id, request.body.newDisplayName);
      return { persona, correlationId: request.id };
    },
  );

  app.post(
    '/personas/:id/deactivate',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['personas'],
        summary: 'Deactivate a persona',
        description: 'Hidden from everyone at once; restorable by its owner during the grace period, then purged.',
        params: PersonaParams,
        response: { 200: PersonaBody, ...errorResponses(401, 404, 409) },
      },
    },
    async (request) => ({ persona: await personas.deactivate(await request.caller(), request.params.id), correlationId: request.id }),
  );

  app.post(
    '/personas/:id/reactivate',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['personas'],
        summary: 'Restore a deactivated persona',
        description: 'Within the grace period (else GRACE_PERIOD_OVER), if its display name is still free.',
        params: PersonaParams,
        response: { 200: PersonaBody, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request) => ({ persona: await personas.reactivate(await request.caller(), request.params.id), correlationId: request.id }),
  );

  app.post(
    '/personas/:id/delete-permanent',
    {
      // Erasure is a right a ban does not take away; the legal hold is what keeps evidence.
      config: { allowWhenBanned: true, changesPublicIdentity: true },
      schema: {
        tags: ['personas'],
        summary: 'Delete a persona permanently',
        description:
          'Anonymized at once; the row is purged after the purge period. Refused with LEGAL_HOLD under a legal hold. A ' +
          'signed-in session needs a fresh sign-in (403 STEP_UP_REQUIRED, see POST /api/v2/auth/step-up).',
        params: PersonaParams,
        response: {
          200: body({ deleted: Type.Literal(true), purgeAfter: Type.String({ format: 'date-time' }) }),
          ...errorResponses(401, 403, 404, 409),
        },
      },
    },
    async (request) => {
      const caller = await request.caller();
      await stepUp.require(caller);
      const { purgeAfter } = await personas.deletePermanently(caller, request.params.id);
      return { deleted: true as const, purgeAfter, correlationId: request.id };
    },
  );

  app.put(
    '/session/active-persona',
    {
      schema: {
        tags: ['session', 'personas'],
        summary: 'Act as another of my personas',
        body: Type.Object({ personaId: Uuid }, { additionalProperties: false }),
        response: { 200: PersonaBody, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => ({ persona: await personas.switchActive(await request.caller(), request.body.personaId), correlationId: request.id }),
  );
};
