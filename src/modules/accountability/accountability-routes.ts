import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { AccountabilityService } from './accountability-service.js';

const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const RiskLevel = Type.Union([Type.Literal('LOW'), Type.Literal('MEDIUM'), Type.Literal('HIGH')]);
const AbuseScore = Type.Number({ minimum: 0, maximum: 1 });

const Accountability = Type.Object(
  {
    accountabilityProfileId: Uuid,
    abuseScore: AbuseScore,
    riskLevel: RiskLevel,
    verified: Type.Boolean(),
    legalHold: Type.Boolean(),
    banned: Type.Boolean(),
    bannedAt: NullableTimestamp,
    banReason: Type.Union([Type.String(), Type.Null()]),
    createdAt: Timestamp,
  },
  { $id: 'Accountability', additionalProperties: false, description: 'A person as trust & safety sees them. Admin API only.' },
);

const AdminPersona = Type.Object(
  {
    id: Uuid,
    accountabilityProfileId: Uuid,
    displayName: Type.String(),
    avatarUrl: Type.Union([Type.String(), Type.Null()]),
    authorId: Type.String(),
    trustLevel: Type.String(),
    active: Type.Boolean({ description: 'False once deactivated or deleted.' }),
    createdAt: Timestamp,
    deactivatedAt: NullableTimestamp,
    deletedAt: NullableTimestamp,
  },
  { $id: 'AdminPersona', additionalProperties: false },
);

const PersonaFlag = Type.Object(
  { id: Uuid, personaId: Uuid, reason: Type.String(), actor: Type.String(), createdAt: Timestamp },
  { $id: 'PersonaFlag', additionalProperties: false },
);

const Appeal = Type.Object(
  {
    id: Uuid,
    personaId: Type.Union([Uuid, Type.Null()]),
    accountabilityProfileId: Uuid,
    status: Type.Union([Type.Literal('open'), Type.Literal('upheld'), Type.Literal('overturned')]),
    statement: Type.Union([Type.String(), Type.Null()], {
      description: "The person's own words, kept in their territory; null once their data was erased.",
    }),
    resolution: Type.Union([Type.String(), Type.Null()]),
    openedAt: Timestamp,
    resolvedAt: NullableTimestamp,
  },
  { $id: 'Appeal', additionalProperties: false },
);

const InferredLink = Type.Object(
  {
    guestAccountabilityProfileId: Uuid,
    signedInAccountabilityProfileId: Uuid,
    confidence: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    createdAt: Timestamp,
  },
  {
    $id: 'InferredLink',
    additionalProperties: false,
    description: 'A guest cookie seen signing in as a person: an internal signal, never shown to them, never a grant of access.',
  },
);

const Person = Type.Object(
  {
    accountability: Type.Ref('Accountability'),
    personas: Type.Array(Type.Ref('AdminPersona'), { description: 'Every persona of the person, in any state, oldest first.' }),
    flags: Type.Array(Type.Ref('PersonaFlag'), { description: 'Flags on any of the person\'s personas, newest first.' }),
    openAppeals: Type.Array(Type.Ref('Appeal')),
    inferredLinks: Type.Array(Type.Ref('InferredLink'), { description: 'Newest first; confidence falls as one cookie signs into more people.' }),
  },
  { $id: 'Person', additionalProperties: false },
);

export const trustSafetySchemas = [Accountability, AdminPersona, PersonaFlag, Appeal, InferredLink, Person];

const PersonaParams = Type.Object({ id: Uuid }, { additionalProperties: false });
const PersonParams = Type.Object({ profileId: Uuid }, { additionalProperties: false });
const AccountabilityBody = body({ accountability: Type.Ref('Accountability') });
const security = [{ adminToken: [] }];

/** One setting of a person: `PUT /admin/people/{profileId}/<name>` with a one-field body. */
function personSetting<S extends Parameters<typeof Type.Object>[0]>(summary: string, description: string, properties: S) {
  return {
    config: { adminRole: 'moderator' as const },
    schema: {
      tags: ['trust & safety'],
      summary,
      description,
      security,
      params: PersonParams,
      body: Type.Object(properties, { additionalProperties: false }),
      response: { 200: AccountabilityBody, ...errorResponses(400, 401, 404) },
    },
  };
}

/** Trust & safety on people and personas (moderator role). Every change is audited and evented. */
export const accountabilityRoutes: FastifyPluginAsyncTypebox<{ accountability: AccountabilityService }> = async (app, { accountability }) => {
  app.get(
    '/admin/personas/:id',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'Look up the person behind a persona',
        description:
          'The persona in any state (deactivated and deleted ones too), with the person behind it: every persona of theirs, ' +
          'abuse score, risk level, verification, legal hold, ban, flags and open appeals. The look-up itself is audited.',
        security,
        params: PersonaParams,
        response: { 200: body({ persona: Type.Ref('AdminPersona'), person: Type.Ref('Person') }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({ ...(await accountability.lookupPersona(request.params.id, adminActor(request))), correlationId: request.id }),
  );

  app.get(
    '/admin/people/:profileId',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'Look up a person',
        description: 'The same view as GET /admin/personas/{id}, by accountability profile id. Audited.',
        security,
        params: PersonParams,
        response: { 200: body({ person: Type.Ref('Person') }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({ person: await accountability.lookupPerson(request.params.profileId, adminActor(request)), correlationId: request.id }),
  );

  app.post(
    '/admin/personas/:id/flags',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'Flag a persona',
        description: 'Records a flag on the persona (any state) for its person\'s file. Event PersonaFlagged.',
        security,
        params: PersonaParams,
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 201: body({ flag: Type.Ref('PersonaFlag') }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const flag = await accountability.flagPersona(request.params.id, request.body.reason, adminActor(request));
      return reply.code(201).send({ flag, correlationId: request.id });
    },
  );

  app.put(
    '/admin/people/:profileId/abuse-score',
    personSetting(
      'Set the abuse score',
      'Sets the score (0 clean … 1 worst). The risk level follows from it — below 0.3 LOW, below 0.7 MEDIUM, else HIGH — ' +
        'unless `riskLevel` is given too. Event AccountabilityChanged.',
      { score: AbuseScore, riskLevel: Type.Optional(RiskLevel) },
    ),
    async (request) => ({
      accountability: await accountability.setAbuseScore(request.params.profileId, request.body.score, request.body.riskLevel, adminActor(request)),
      correlationId: request.id,
    }),
  );

  app.put(
    '/admin/people/:profileId/risk-level',
    personSetting('Set the risk level', 'MEDIUM and HIGH send the person\'s posts to review; HIGH also stops new personas. Event AccountabilityChanged.', {
      riskLevel: RiskLevel,
    }),
    async (request) => ({
      accountability: await accountability.setRiskLevel(request.params.profileId, request.body.riskLevel, adminActor(request)),
      correlationId: request.id,
    }),
  );

  app.put(
    '/admin/people/:profileId/verified',
    personSetting('Verify or unverify a person', 'Verification follows the person to every persona. Event AccountabilityChanged.', {
      verified: Type.Boolean(),
    }),
    async (request) => ({
      accountability: await accountability.setVerified(request.params.profileId, request.body.verified, adminActor(request)),
      correlationId: request.id,
    }),
  );

  app.put(
    '/admin/people/:profileId/legal-hold',
    personSetting('Place or lift a legal hold', 'While held, none of the person\'s personas is purged. Event LegalHoldChanged.', {
      legalHold: Type.Boolean(),
    }),
    async (request) => ({
      accountability: await accountability.setLegalHold(request.params.profileId, request.body.legalHold, adminActor(request)),
      correlationId: request.id,
    }),
  );
};
