import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import type { HandleService } from './handle-service.js';

const Uuid = Type.String({ format: 'uuid' });
const HandleInput = Type.String({ minLength: 1, maxLength: 100, description: 'Lowercase letters, digits and _, 3–50 (case is folded).' });

const Claimed = body({
  handle: Type.String(),
  address: Type.String({ description: 'handle@territory' }),
  publicKeyHash: Type.String({ description: 'SHA-256(handle::territory::uuid), fixed at claim (spec 004).' }),
});

/** Handles: check one (anyone), claim one for a persona, move one between my personas. */
export const handleRoutes: FastifyPluginAsyncTypebox<{ handles: HandleService }> = async (app, { handles }) => {
  app.get(
    '/handles/:handle',
    {
      schema: {
        tags: ['federation'],
        summary: 'Is this handle available?',
        description:
          '`available`, `taken` (a live persona holds it, or one that looks like it), `retired` (issued once: never issued ' +
          'again), `reserved` (staff and service names, territory codes, and their look-alikes such as `4dm1n`) or `invalid`. ' +
          'Taken, retired and reserved answers carry a few available suggestions.',
        params: Type.Object({ handle: HandleInput }, { additionalProperties: false }),
        response: {
          200: body({
            handle: Type.String(),
            status: Type.Union([Type.Literal('available'), Type.Literal('taken'), Type.Literal('reserved'), Type.Literal('invalid'), Type.Literal('retired')]),
            suggestions: Type.Array(Type.String()),
          }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => {
      const availability = await handles.check(request.params.handle);
      return { ...availability, suggestions: [...availability.suggestions], correlationId: request.id };
    },
  );

  app.put(
    '/personas/:id/handle',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['federation', 'personas'],
        summary: 'Claim a handle for my persona',
        description:
          'A live persona holds at most one handle, unique case-insensitively and by look-alike skeleton; of many claims of one ' +
          'handle at once exactly one wins (409 HANDLE_TAKEN for the others). A handle is never released: rotating the persona ' +
          'leaves it on the old one (retired), and only an explicit move gives it to another of my personas.',
        params: Type.Object({ id: Uuid }, { additionalProperties: false }),
        body: Type.Object({ handle: HandleInput }, { additionalProperties: false }),
        response: { 200: Claimed, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const claimed = await handles.claim(await request.caller(), request.params.id, request.body.handle, request.id);
      return { handle: claimed.handle, address: `${claimed.handle}@${claimed.territoryCode}`, publicKeyHash: claimed.publicKeyHash, correlationId: request.id };
    },
  );

  app.post(
    '/personas/:id/handle/move',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['federation', 'personas'],
        summary: 'Give my persona\'s handle to another of my personas',
        description:
          'Both personas must be ones this account may act as (its privacy mode decides: an isolated account\'s personas are ' +
          'nobody else\'s). The source may be retired (deactivated, or rotated away: then acting ' +
          'as its successor is enough) but not deleted; the target must be live and hold no handle. The address and public key hash travel ' +
          'with the handle. Audited (`handle.move`), event HandleMoved.',
        params: Type.Object({ id: Uuid }, { additionalProperties: false }),
        body: Type.Object({ toPersonaId: Uuid }, { additionalProperties: false }),
        response: { 200: body({ handle: Type.String(), personaId: Uuid }), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const moved = await handles.move(await request.caller(), request.params.id, request.body.toPersonaId, request.id);
      return { handle: moved.handle, personaId: request.body.toPersonaId, correlationId: request.id };
    },
  );
};
