import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { InvalidationBus } from './cache/invalidation-bus.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { AppTickets } from './crypto/app-tickets.js';
import { Pseudonyms } from './crypto/pseudonyms.js';
import { TokenHasher } from './crypto/tokens.js';
import type { DatabaseHandle } from './db/database.js';
import { requireAdminToken } from './http/admin-auth.js';
import { CORRELATION_HEADER, correlationIdOf } from './http/correlation.js';
import { registerCrossSiteProtection } from './http/cross-site.js';
import { answerMalformedRequest, registerErrorHandling } from './http/error-handler.js';
import { createMetrics, registerRequestMetrics } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { RequestLogging } from './http/request-logging.js';
import { opsRoutes } from './http/ops-routes.js';
import { ErrorBody } from './http/schemas.js';
import { registerVisitorScope } from './http/visitor.js';
import { createBanRepository } from './modules/accountability/ban-repository.js';
import { banRoutes } from './modules/accountability/ban-routes.js';
import { createBanService } from './modules/accountability/ban-service.js';
import { createAppRepository } from './modules/apps/app-repository.js';
import { appAdminRoutes, appRoutes, appSchemas, appTicketRoutes } from './modules/apps/app-routes.js';
import { createAppService } from './modules/apps/app-service.js';
import { createIdentificationRepository } from './modules/identification/identification-repository.js';
import { identificationRoutes } from './modules/identification/identification-routes.js';
import { createIdentificationService } from './modules/identification/identification-service.js';
import { SessionCache } from './modules/sessions/session-cache.js';
import { createSessionRepository } from './modules/sessions/session-repository.js';
import { sessionRoutes } from './modules/sessions/session-routes.js';
import { createSessionService } from './modules/sessions/session-service.js';

/**
 * While closing, keep-alive connections are closed as soon as they fall idle: one whose request was
 * in flight when shutdown began would otherwise hold the server open until its idle timeout.
 * (Polling costs nothing per request, unlike a hook that marks every answer.)
 */
function closeConnectionsWhenClosing(app: FastifyInstance): void {
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(sweeper);
    done();
  });
}

export interface AppDeps {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly logger: FastifyBaseLogger;
  readonly invalidation: InvalidationBus;
  readonly clock?: Clock;
}

/** The composition root: wires services to their ports and routes to services. No listen, no env. */
export async function buildApp({ config, database, logger, invalidation, clock = systemClock }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    genReqId: correlationIdOf,
    logController: new RequestLogging(),
    bodyLimit: config.bodyLimitBytes,
    forceCloseConnections: 'idle',
    // Unknown properties are refused, not silently dropped, and nothing is coerced: consent is
    // `true`, not "true" or 1. Bad input gets a clear error.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    frameworkErrors: answerMalformedRequest,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = createMetrics();
  const hasher = new TokenHasher(config.secrets.tokenHashKey);
  const pseudonyms = new Pseudonyms(config.secrets.pseudonymKeys);
  const cache = new SessionCache(config.sessionCache);
  invalidation.subscribe((message) => (message.kind === 'all' ? cache.clear() : cache.evictProfile(message.id)));

  const sessions = createSessionService({
    sessions: createSessionRepository(database.db),
    cache,
    hasher,
    pseudonyms,
    onGuestStarted: () => metrics.guestsStarted.inc(),
  });
  const identification = createIdentificationService(createIdentificationRepository(database.db), clock);
  const apps = createAppService({
    apps: createAppRepository(database.db),
    sessions,
    hasher,
    pseudonyms,
    tickets: new AppTickets(config.secrets.tokenHashKey),
    clock,
  });
  const bans = createBanService({ bans: createBanRepository(database.db), invalidation, clock });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header(CORRELATION_HEADER, request.id);
    // Responses here describe a person or an operator's data; no shared cache may keep them.
    reply.header('cache-control', 'no-store');
    done();
  });
  closeConnectionsWhenClosing(app);
  registerErrorHandling(app);
  await registerCrossSiteProtection(app, config.allowedOrigins);
  registerRequestMetrics(app, metrics);
  await app.register(fastifyCookie, { secret: [...config.secrets.cookieSecrets] });
  await registerOpenApi(app);
  for (const schema of [ErrorBody, ...appSchemas]) app.addSchema(schema);

  await app.register(opsRoutes, { ping: database.ping, registry: metrics.registry });
  await app.register(async (visitor) => {
    registerVisitorScope(visitor, sessions, clock);
    await visitor.register(sessionRoutes, { sessions });
    await visitor.register(identificationRoutes, { identification });
    await visitor.register(appTicketRoutes, { apps });
  });
  await app.register(appRoutes, { apps });
  await app.register(async (admin) => {
    requireAdminToken(admin, config.secrets.adminToken);
    await admin.register(appAdminRoutes, { apps });
    await admin.register(banRoutes, { bans });
  });

  return app;
}
