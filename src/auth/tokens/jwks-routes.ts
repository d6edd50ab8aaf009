import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { SigningKeyring } from './signing-keyring.js';

/** The public keys that verify access tokens, for resource servers (RFC 7517). */
export const jwksRoutes: FastifyPluginAsyncTypebox<{ readonly keyring: SigningKeyring }> = async (app, { keyring }) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['auth'],
        summary: 'JSON Web Key Set of the access-token signing keys',
        description: 'Ed25519 keys (`OKP`, `EdDSA`). Keys rotate; a retired key stays listed until every token it signed has expired.',
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object({
                kty: Type.String(),
                crv: Type.String(),
                x: Type.String(),
                kid: Type.String(),
                alg: Type.String(),
                use: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (_request, reply) => {
      // Public and identical for everyone: caches may keep it for a few minutes (overrides no-store).
      reply.header('cache-control', 'public, max-age=300');
      return (await keyring.jwks()) as { keys: Array<{ kty: string; crv: string; x: string; kid: string; alg: string; use: string }> };
    },
  );
};
