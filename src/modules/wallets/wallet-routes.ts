import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import type { WalletService } from './wallet-service.js';

const ProfileParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const Address = Type.String({ pattern: '^0x[0-9a-f]{40}$', description: 'The wallet\'s Ethereum address, lowercase.' });
const WalletBody = body({ address: Address });

/** SmartProfile session wallets (spec 003), for the personas the caller may act as (visitor scope). */
export const walletRoutes: FastifyPluginAsyncTypebox<{ wallets: WalletService }> = async (app, { wallets }) => {
  app.post(
    '/api/v2/profiles/:id/session-wallet',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Give a persona its session wallet',
        description:
          'Makes an Ethereum key for the persona (201), or answers the one it has (200): a persona has at most one. ' +
          'The private key is sealed on the server and never returned.',
        params: ProfileParams,
        response: { 200: WalletBody, 201: WalletBody, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { address, created } = await wallets.create(await request.caller(), request.params.id);
      return reply.code(created ? 201 : 200).send({ address, correlationId: request.id });
    },
  );

  app.get(
    '/api/v2/profiles/:id/session-wallet',
    {
      schema: {
        tags: ['profiles'],
        summary: 'A persona\'s session wallet address',
        params: ProfileParams,
        response: { 200: WalletBody, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({ address: await wallets.read(await request.caller(), request.params.id), correlationId: request.id }),
  );
};
