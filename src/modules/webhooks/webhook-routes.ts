import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { EVENT_TYPES } from '../../events/event.js';
import { body, errorResponses } from '../../http/schemas.js';
import { MAX_WEBHOOK_URL_LENGTH } from './webhook.js';
import type { WebhookService } from './webhook-service.js';

const EventTypeName = Type.Enum(EVENT_TYPES, { description: 'An event type (docs/events.md lists them).' });

const WebhookSummary = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    url: Type.String(),
    eventTypes: Type.Array(EventTypeName, { description: 'The event types delivered; empty means all.' }),
    createdAt: Type.String({ format: 'date-time' }),
    revoked: Type.Boolean(),
  },
  { additionalProperties: false },
);

const WebhookDelivery = Type.Object(
  {
    eventId: Type.String({ format: 'uuid', description: 'Also the `webhook-id` header the receiver saw.' }),
    eventType: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    attempts: Type.Integer(),
    nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

const WebhookId = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** The operator registers, lists and revokes webhooks (role `admin`: they receive every event's ids). */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  const actor = (request: { admin: { actor: string }; id: string }) => ({ actor: request.admin.actor, correlationId: request.id });

  app.post(
    '/admin/webhooks',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'events'],
        summary: 'Register a webhook',
        description:
          'Events are POSTed to the URL as JSON, signed with the Standard Webhooks scheme (docs/events.md). ' +
          'The answer carries the signing secret once; only a sealed copy is kept.',
        security: [{ adminToken: [] }],
        body: Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH, description: 'An http(s) URL without credentials.' }),
            eventTypes: Type.Optional(
              Type.Array(EventTypeName, { uniqueItems: true, maxItems: EVENT_TYPES.length, description: 'Omitted or empty: all.' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: body({ webhook: WebhookSummary, secret: Type.String({ description: 'whsec_…; shown only now.' }) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const created = await webhooks.create({ url: request.body.url, eventTypes: request.body.eventTypes ?? [] }, actor(request));
      return reply.code(201).send({ ...created, correlationId: request.id });
    },
  );

  app.get(
    '/admin/webhooks',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'events'],
        summary: 'List webhooks',
        security: [{ adminToken: [] }],
        response: { 200: body({ webhooks: Type.Array(WebhookSummary) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ webhooks: await webhooks.list(), correlationId: request.id }),
  );

  app.get(
    '/admin/webhooks/:id/deliveries',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'events'],
        summary: 'A webhook\'s latest deliveries',
        description: 'The 50 most recent events queued for the webhook, with attempts and the last error.',
        security: [{ adminToken: [] }],
        params: WebhookId,
        response: { 200: body({ deliveries: Type.Array(WebhookDelivery) }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => ({ deliveries: await webhooks.deliveries(request.params.id), correlationId: request.id }),
  );

  app.delete(
    '/admin/webhooks/:id',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'events'],
        summary: 'Revoke a webhook',
        description: 'Nothing more is sent to it, pending retries included.',
        security: [{ adminToken: [] }],
        params: WebhookId,
        response: { 200: body({ revoked: Type.Literal(true) }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      await webhooks.revoke(request.params.id, actor(request));
      return { revoked: true as const, correlationId: request.id };
    },
  );
};
