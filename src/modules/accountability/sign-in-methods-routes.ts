import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { SignInMethodsRepository } from './sign-in-methods-repository.js';

const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const PrivacyMode = Type.Union([Type.Literal('linked'), Type.Literal('partial'), Type.Literal('isolated')]);

const SignInMethod = Type.Object(
  {
    accountId: Uuid,
    type: Type.String({ description: 'guest, email, handle, wallet, social, passkey or key. The identifier itself is never shown.' }),
    provider: Type.Union([Type.String(), Type.Null()]),
    verified: Type.Boolean(),
    privacyMode: PrivacyMode,
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);

const DirectLink = Type.Object(
  { fromAccountId: Uuid, toAccountId: Uuid, privacyMode: Type.Union([PrivacyMode, Type.Null()]), createdAt: Timestamp },
  { additionalProperties: false },
);

/** `GET /admin/people/{profileId}/sign-in-methods` (moderator): how a person signs in, and the links they made. */
export const signInMethodsRoutes: FastifyPluginAsyncTypebox<{ methods: SignInMethodsRepository }> = async (app, { methods }) => {
  app.get(
    '/admin/people/:profileId/sign-in-methods',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'A person\'s sign-in methods and direct links',
        description:
          'The kinds of sign-in method the person holds (never an identifier: no email, no wallet address) and the direct ' +
          'links they made between them, with each link\'s privacy mode. Inferred links are on the person view. Audited as a look-up.',
        security: [{ adminToken: [] }],
        params: Type.Object({ profileId: Uuid }, { additionalProperties: false }),
        response: { 200: body({ methods: Type.Array(SignInMethod), directLinks: Type.Array(DirectLink) }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const { profileId } = request.params;
      const found = await methods.read(profileId, { ...adminActor(request), action: 'person.lookup', target: `person:${profileId}`, detail: { view: 'sign-in-methods' } });
      if (!found) throw new AppError('PERSON_NOT_FOUND', 'No person has that accountability profile id.');
      return { ...found, correlationId: request.id };
    },
  );
};
