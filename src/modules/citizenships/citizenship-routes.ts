import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import { signedInCaller } from '../../http/visitor.js';
import type { IdentificationService } from '../identification/identification-service.js';
import type { StepUpService } from '../step-up/step-up-service.js';
import { TERRITORY_CODE_PATTERN } from '../territories/territory.js';
import type { Citizenship, MoveRecord } from './citizenship.js';
import type { CitizenshipService } from './citizenship-service.js';
import type { MoveService } from './move-service.js';

const TerritoryCode = Type.String({ pattern: TERRITORY_CODE_PATTERN, description: 'A territory code (e.g. dk).' });

const PublicCitizenship = Type.Object(
  {
    territory: Type.Object({ code: Type.String(), name: Type.String() }, { additionalProperties: false }),
    primary: Type.Boolean({ description: 'Where the person lives now; the others are dual citizenships.' }),
    since: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
const PublicMove = Type.Object(
  {
    from: Type.String({ description: 'The territory left.' }),
    to: Type.String({ description: 'The territory moved to.' }),
    dualCitizenship: Type.Boolean({ description: 'The old citizenship stays, as a secondary one.' }),
    step: Type.Union([Type.Literal('started'), Type.Literal('copied'), Type.Literal('switched'), Type.Literal('done')]),
    startedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { additionalProperties: false },
);

const citizenshipView = (citizenship: Citizenship) => ({ territory: { ...citizenship.territory }, primary: citizenship.primary, since: citizenship.since.toISOString() });
// The migration record's id and resident ids are internal: a person sees where from, where to, and when.
const moveView = (move: MoveRecord) => ({
  from: move.from,
  to: move.to,
  dualCitizenship: move.dualCitizenship,
  step: move.step,
  startedAt: move.startedAt.toISOString(),
  finishedAt: move.finishedAt?.toISOString() ?? null,
});

export interface CitizenshipRoutesDeps {
  readonly citizenships: CitizenshipService;
  readonly moves: MoveService;
  readonly stepUp: StepUpService;
  /** The browser's voluntary identification follows a finished move from that browser. */
  readonly identification: Pick<IdentificationService, 'follow'>;
}

/** Citizenships (where a person lives, and where else they hold residency) and moves between territories. */
export const citizenshipRoutes: FastifyPluginAsyncTypebox<CitizenshipRoutesDeps> = async (app, { citizenships, moves, stepUp, identification }) => {
  const listOf = async (profileId: string) => (await citizenships.list(profileId)).map(citizenshipView);

  app.get(
    '/api/v2/federation/citizenships',
    {
      schema: {
        tags: ['federation'],
        summary: 'My citizenships',
        description: 'Where I live (primary) and where else I hold residency (dual citizenship). A person who never moved lives in the default territory.',
        response: { 200: body({ citizenships: Type.Array(PublicCitizenship) }), ...errorResponses(401) },
      },
    },
    async (request) => ({ citizenships: await listOf((await request.caller()).accountabilityProfileId), correlationId: request.id }),
  );

  app.delete(
    '/api/v2/federation/citizenships/:code',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['federation'],
        summary: 'End one of my secondary citizenships',
        description:
          'Deactivates my resident record there and removes my personal rows from that territory. The primary one cannot be ' +
          'ended (409 PRIMARY_CITIZENSHIP: move elsewhere first). Needs a fresh sign-in (403 STEP_UP_REQUIRED). Audited, event CitizenshipEnded.',
        params: Type.Object({ code: TerritoryCode }, { additionalProperties: false }),
        response: { 200: body({ citizenships: Type.Array(PublicCitizenship) }), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const caller = await request.caller();
      await stepUp.require(caller);
      await citizenships.end(caller.accountabilityProfileId, request.params.code, request.id);
      return { citizenships: await listOf(caller.accountabilityProfileId), correlationId: request.id };
    },
  );

  app.post(
    '/api/v2/federation/moves',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['federation'],
        summary: 'Move to another territory',
        description:
          'Copies my personal data into the territory, makes it my primary citizenship, and (unless `dualCitizenship`) retires ' +
          'my data in the old one. My handles keep their public key hash; their old addresses stay as aliases. Needs a signed-in ' +
          'person with a fresh sign-in (403 STEP_UP_REQUIRED); one move per cooldown (429 MOVE_COOLDOWN with Retry-After); ' +
          'a closed territory refuses (409 TERRITORY_CLOSED), an invite-only one needs an invitation (403 INVITATION_REQUIRED). ' +
          'A move interrupted by a crash is finished by the next request (or POST /api/v2/federation/moves/resume).',
        body: Type.Object(
          {
            to: TerritoryCode,
            dualCitizenship: Type.Optional(Type.Boolean({ default: false, description: 'Keep the old citizenship as a secondary one.' })),
            invitation: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The invitation token (invite-only territories).' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: body({ move: PublicMove, citizenships: Type.Array(PublicCitizenship) }),
          ...errorResponses(400, 401, 403, 404, 409, 410, 429),
        },
      },
    },
    async (request, reply) => {
      const caller = await signedInCaller(request);
      if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in to move: a move belongs to a signed-in person.');
      await stepUp.require(caller);
      const { to, dualCitizenship = false, invitation } = request.body;
      const move = await moves.move(caller.accountabilityProfileId, { to, dualCitizenship, invitation }, request.id);
      // The saga cannot carry identification (it names no owner, spec 000); this browser's can follow now.
      if (move.step === 'done' && !request.anon.isNew) await identification.follow(request.anon.token, caller.accountabilityProfileId);
      return reply.code(201).send({ move: moveView(move), citizenships: await listOf(caller.accountabilityProfileId), correlationId: request.id });
    },
  );

  app.post(
    '/api/v2/federation/moves/resume',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['federation'],
        summary: 'Finish my interrupted move',
        description: 'Finishes a move that a crash interrupted, from the step it had reached; `move` is null when none was open.',
        response: { 200: body({ move: Type.Union([PublicMove, Type.Null()]), citizenships: Type.Array(PublicCitizenship) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const caller = await request.caller();
      const move = await moves.resume(caller.accountabilityProfileId);
      return { move: move ? moveView(move) : null, citizenships: await listOf(caller.accountabilityProfileId), correlationId: request.id };
    },
  );
};
