import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import { DOMAIN_PATTERN, TERRITORY_CODE_PATTERN, type Territory } from './territory.js';
import type { TerritoryService } from './territory-service.js';

const Domain = Type.String({ pattern: DOMAIN_PATTERN, maxLength: 253, description: 'A DNS name, lowercase (e.g. dk.example.org).' });
const TerritoryCode = Type.String({ pattern: TERRITORY_CODE_PATTERN, description: 'A letter, then letters or digits; 2–16 in all (e.g. dk).' });

const PublicTerritory = Type.Object(
  {
    code: Type.String(),
    name: Type.String(),
    federationDomain: Type.String(),
    matrixDomain: Type.String(),
    inviteOnly: Type.Boolean(),
    isDefault: Type.Boolean(),
  },
  { additionalProperties: false },
);
const AdminTerritory = Type.Object(
  {
    ...PublicTerritory.properties,
    status: Type.Union([Type.Literal('active'), Type.Literal('closed')]),
    remote: Type.Boolean({ description: 'Its schema lives on its own PostgreSQL server (TERRITORY_DATABASE_URLS).' }),
    schema: Type.String({ description: 'The PostgreSQL schema holding its personal data.' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

const publicView = (territory: Territory) => ({
  code: territory.code,
  name: territory.name,
  federationDomain: territory.federationDomain,
  matrixDomain: territory.matrixDomain,
  inviteOnly: territory.inviteOnly,
  isDefault: territory.isDefault,
});
const adminView = (territory: Territory) => ({
  ...publicView(territory),
  status: territory.status,
  remote: territory.remote,
  schema: `territory_${territory.code}`,
  createdAt: territory.createdAt.toISOString(),
});

/** `GET /territories`: where a person may live (visitor scope, no identity needed). */
export const territoryRoutes: FastifyPluginAsyncTypebox<{ territories: TerritoryService }> = async (app, { territories }) => {
  app.get(
    '/territories',
    {
      schema: {
        tags: ['federation'],
        summary: 'The open territories',
        description: 'Data-residency regions a person may register in or move to; invite-only ones need an invitation.',
        response: { 200: body({ territories: Type.Array(PublicTerritory) }) },
      },
    },
    async (request) => ({
      territories: (await territories.list()).filter((territory) => territory.status === 'active').map(publicView),
      correlationId: request.id,
    }),
  );
};

/** Operators manage territories; creating one creates its schema where it lives, with its migrations. */
export const territoryAdminRoutes: FastifyPluginAsyncTypebox<{ territories: TerritoryService }> = async (app, { territories }) => {
  app.get(
    '/admin/territories',
    {
      schema: {
        tags: ['admin', 'federation'],
        summary: 'Every territory',
        security: [{ adminToken: [] }],
        response: { 200: body({ territories: Type.Array(AdminTerritory) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ territories: (await territories.list()).map(adminView), correlationId: request.id }),
  );

  app.post(
    '/admin/territories',
    {
      config: { changesPublicIdentity: true, adminRole: 'admin' },
      schema: {
        tags: ['admin', 'federation'],
        summary: 'Create a territory',
        description:
          'Creates the territory and its PostgreSQL schema `territory_<code>` with its migrations: in the global database, ' +
          'or on the server TERRITORY_DATABASE_URLS names for this code. Without a federation domain it answers on the ' +
          'service\'s own host; without a Matrix domain, on its federation domain. Audited.',
        security: [{ adminToken: [] }],
        body: Type.Object(
          {
            code: TerritoryCode,
            name: Type.String({ minLength: 1, maxLength: 100 }),
            federationDomain: Type.Optional(Domain),
            matrixDomain: Type.Optional(Domain),
            inviteOnly: Type.Optional(Type.Boolean({ default: false })),
          },
          { additionalProperties: false },
        ),
        response: { 201: body({ territory: AdminTerritory }), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { code, name, federationDomain = null, matrixDomain = null, inviteOnly = false } = request.body;
      const territory = await territories.create({ code, name, federationDomain, matrixDomain, inviteOnly }, adminActor(request));
      return reply.code(201).send({ territory: adminView(territory), correlationId: request.id });
    },
  );

  app.patch(
    '/admin/territories/:code',
    {
      config: { changesPublicIdentity: true, adminRole: 'admin' },
      schema: {
        tags: ['admin', 'federation'],
        summary: 'Change a territory',
        description: 'Name, domains, invite-only, status (`closed`: no one may register in it or move to it). Audited.',
        security: [{ adminToken: [] }],
        params: Type.Object({ code: TerritoryCode }, { additionalProperties: false }),
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            federationDomain: Type.Optional(Type.Union([Domain, Type.Null()])),
            matrixDomain: Type.Optional(Type.Union([Domain, Type.Null()])),
            inviteOnly: Type.Optional(Type.Boolean()),
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('closed')])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: body({ territory: AdminTerritory }), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => ({
      territory: adminView(await territories.update(request.params.code, request.body, adminActor(request))),
      correlationId: request.id,
    }),
  );
};
