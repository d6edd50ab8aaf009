import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { PersonaService } from '../personas/persona-service.js';
import { ActionName } from './policy.js';
import type { PolicyService } from './policy-service.js';

/** `POST /policy/check` (visitor scope): may the caller do this now? */
export const policyCheckRoutes: FastifyPluginAsyncTypebox<{ personas: Pick<PersonaService, 'check'> }> = async (app, { personas }) => {
  app.post(
    '/policy/check',
    {
      // Changes nothing, and a banned caller is owed the answer (BANNED) rather than an error.
      config: { allowWhenBanned: true },
      schema: {
        tags: ['policy'],
        summary: 'May I do this?',
        description:
          'Evaluates the policies for the caller acting as `personaId` (default: the session\'s active persona). ' +
          '`code` is stable (e.g. PERSONA_LIMIT_REACHED, ACCOUNT_SUSPENDED); `reason` is for people.',
        body: Type.Object(
          { action: ActionName, personaId: Type.Optional(Type.String({ format: 'uuid' })) },
          { additionalProperties: false },
        ),
        response: {
          200: body({
            allowed: Type.Boolean(),
            code: Type.Optional(Type.String()),
            reason: Type.Optional(Type.String()),
            retryAfter: Type.Optional(Type.String({ format: 'date-time' })),
          }),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => {
      const decision = await personas.check(await request.caller(), request.body.action, request.body.personaId);
      if (decision.allowed) return { allowed: true, correlationId: request.id };
      return {
        allowed: false,
        code: decision.code,
        reason: decision.reason,
        ...(decision.retryAfter ? { retryAfter: decision.retryAfter.toISOString() } : {}),
        correlationId: request.id,
      };
    },
  );
};

const PolicyView = Type.Object(
  {
    name: Type.String(),
    value: Type.Unknown(),
    defaultValue: Type.Unknown(),
    overridden: Type.Boolean(),
    updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    description: Type.String(),
  },
  { additionalProperties: false },
);
const PolicyParams = Type.Object({ name: Type.String({ pattern: '^[a-z_]{1,64}$' }) }, { additionalProperties: false });

/** Operators read every policy; only an `admin` changes one (audited, PolicyChanged). */
export const policyAdminRoutes: FastifyPluginAsyncTypebox<{ policies: PolicyService }> = async (app, { policies }) => {
  app.get(
    '/admin/policies',
    {
      schema: {
        tags: ['admin', 'policy'],
        summary: 'The policies in force',
        security: [{ adminToken: [] }],
        response: { 200: body({ policies: Type.Array(PolicyView) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ policies: await policies.list(), correlationId: request.id }),
  );

  app.put(
    '/admin/policies/:name',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'policy'],
        summary: 'Override a policy',
        description: 'The value is checked against the policy\'s own schema (see GET /admin/policies and docs/policy.md).',
        security: [{ adminToken: [] }],
        params: PolicyParams,
        body: Type.Object({ value: Type.Unknown() }, { additionalProperties: false }),
        response: { 200: body({ policy: PolicyView }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      return { policy: await policies.set(request.params.name, request.body.value, adminActor(request)), correlationId: request.id };
    },
  );

  app.delete(
    '/admin/policies/:name',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'policy'],
        summary: 'Return a policy to its default',
        security: [{ adminToken: [] }],
        params: PolicyParams,
        response: { 200: body({ policy: PolicyView }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      return { policy: await policies.reset(request.params.name, adminActor(request)), correlationId: request.id };
    },
  );
};
