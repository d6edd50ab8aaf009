import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { InvalidationBus } from './cache/invalidation-bus.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { AppTickets } from './crypto/app-tickets.js';
import { Pseudonyms } from './crypto/pseudonyms.js';
import { TokenHasher } from './crypto/tokens.js';
import { EmailBox } from './crypto/email-box.js';
import { Argon2PasswordHasher, defaultHashingConcurrency } from './crypto/passwords.js';
import { openAttemptLimiter } from './rate-limit/open-attempt-limiter.js';
import { passwordHashingTimer } from './modules/accounts/account-metrics.js';
import { createAccountRepository } from './modules/accounts/account-repository.js';
import { accountRoutes } from './modules/accounts/account-routes.js';
import { createAccountService } from './modules/accounts/account-service.js';
import { createLoginThrottle } from './modules/accounts/login-throttle.js';
import type { DatabaseHandle } from './db/database.js';
import { createEventDelivery, type EventDelivery } from './events/event-delivery.js';
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
import { createAccountabilityRepository } from './modules/accountability/accountability-repository.js';
import { accountabilityRoutes, trustSafetySchemas } from './modules/accountability/accountability-routes.js';
import { createAccountabilityService } from './modules/accountability/accountability-service.js';
import { createAppealRepository } from './modules/accountability/appeal-repository.js';
import { appealRoutes } from './modules/accountability/appeal-routes.js';
import { createAppealService } from './modules/accountability/appeal-service.js';
import { createBanRepository } from './modules/accountability/ban-repository.js';
import { banRoutes } from './modules/accountability/ban-routes.js';
import { createBanService } from './modules/accountability/ban-service.js';
import { createAdminTokenRepository } from './modules/admins/admin-token-repository.js';
import { adminTokenRoutes, adminTokenSchemas } from './modules/admins/admin-token-routes.js';
import { createAdminTokenService } from './modules/admins/admin-token-service.js';
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
import { createSpaceRepository } from './modules/spaces/space-repository.js';
import { spaceRoutes } from './modules/spaces/space-routes.js';
import { createSpaceService } from './modules/spaces/space-service.js';
import { webhookRoutes } from './modules/webhooks/webhook-routes.js';
import { composeSignIn } from './auth/sign-in-composition.js';
import { jwksRoutes } from './auth/tokens/jwks-routes.js';
import { devInboxEnabled, devInboxRoutes } from './auth/email/dev-inbox-routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Event delivery: in-process subscribers (`events.bus.subscribe`), the relay, webhooks. */
    events: EventDelivery;
  }
}
import { schedulePurge } from './jobs/purge-task.js';
import { personaAdminRoutes } from './modules/personas/persona-admin-routes.js';
import { createPersonaRepository } from './modules/personas/persona-repository.js';
import { identityErasureRoutes } from './modules/personas/identity-erasure-routes.js';
import { personaRoutes } from './modules/personas/persona-routes.js';
import { createPersonaService } from './modules/personas/persona-service.js';
import { createPurgeRepository } from './modules/personas/purge-repository.js';
import { createPurgeService } from './modules/personas/purge-service.js';
import { createPolicyRepository } from './modules/policy/policy-repository.js';
import { policyAdminRoutes, policyCheckRoutes } from './modules/policy/policy-routes.js';
import { createPolicyService } from './modules/policy/policy-service.js';

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
    // request.ip (the per-client sign-in limit) believes X-Forwarded-For only from these proxies.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = createMetrics();
  const events = createEventDelivery({
    config,
    db: database.db,
    clock,
    log: logger.child({ module: 'events' }),
    registry: metrics.registry,
  });
  app.decorate('events', events);
  app.addHook('onReady', async () => events.start());
  // After in-flight requests answered: the batch in flight commits (or rolls back) before the database closes.
  app.addHook('onClose', async () => events.stop());
  const hasher = new TokenHasher(config.secrets.tokenHashKey);
  const pseudonyms = new Pseudonyms(config.secrets.pseudonymKeys);
  const cache = new SessionCache(config.sessionCache);
  invalidation.subscribe((message) => (message.kind === 'all' ? cache.clear() : cache.evictProfile(message.id)));

  const evictProfile = (id: string) => invalidation.publish({ kind: 'profile', id });
  const sessions = createSessionService({
    sessions: createSessionRepository(database.db),
    cache,
    hasher,
    pseudonyms,
    evictProfile,
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
  const attemptLimiter = await openAttemptLimiter(config.redisUrl, clock);
  app.addHook('onClose', () => attemptLimiter.close());
  const passwords = new Argon2PasswordHasher(
    config.passwordHashing,
    passwordHashingTimer(metrics.registry),
    config.passwordHashing.concurrency || defaultHashingConcurrency(),
  );
  app.addHook('onReady', () => passwords.warmUp());
  const emails = new EmailBox(config.secrets.emailKeys, hasher);
  const accounts = createAccountService({
    accounts: createAccountRepository(database.db),
    passwords,
    emails,
    throttle: createLoginThrottle(attemptLimiter, hasher, config.loginLimits),
    hasher,
    pseudonyms,
    sessions: config.sessions,
    evictProfile,
  });
  const policies = createPolicyService({ policies: createPolicyRepository(database.db), clock });
  const signIn = composeSignIn({
    config,
    db: database.db,
    clock,
    hasher,
    emails,
    pseudonyms,
    limiter: attemptLimiter,
    sessions,
    evictProfile,
    maxLivePersonas: async () => (await policies.current()).max_personas_per_user,
  });
  app.addHook('onReady', () => signIn.keyring.refresh());
  const adminTokens = createAdminTokenService({
    tokens: createAdminTokenRepository(database.db),
    hasher,
    bootstrapToken: config.secrets.adminToken,
    clock,
  });
  const spaces = createSpaceService(createSpaceRepository(database.db));
  // Trust & safety derives a risk level from a new abuse score under the thresholds in force.
  const riskThresholds = async () => (await policies.current()).risk_thresholds;
  const accountability = createAccountabilityService({ accountability: createAccountabilityRepository(database.db), invalidation, riskThresholds });
  const appeals = createAppealService({ appeals: createAppealRepository(database.db), invalidation, clock, riskThresholds });
  const personas = createPersonaService({
    personas: createPersonaRepository(database.db),
    policies,
    authorIdOf: (personaId) => pseudonyms.authorId(personaId),
    invalidation,
    clock,
  });
  if (config.purgeIntervalSeconds > 0) {
    const purge = schedulePurge(createPurgeService({ purge: createPurgeRepository(database.db), clock }), config.purgeIntervalSeconds, logger);
    app.addHook('onClose', () => purge.stop());
  }

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
  for (const schema of [ErrorBody, ...appSchemas, ...adminTokenSchemas, ...trustSafetySchemas]) app.addSchema(schema);

  await app.register(opsRoutes, { ping: database.ping, registry: metrics.registry });
  await app.register(jwksRoutes, { keyring: signIn.keyring });
  // Development only, and only without SMTP: the mails the service would have sent.
  if (devInboxEnabled(config)) await app.register(devInboxRoutes, { dataDir: config.dataDir });
  await app.register(async (visitor) => {
    registerVisitorScope(visitor, sessions, signIn.keyring, clock);
    await visitor.register(sessionRoutes, { sessions });
    await visitor.register(accountRoutes, { accounts, sessions, clock, sessionMaxAgeSeconds: config.sessions.absoluteSeconds, stepUp: signIn.stepUp });
    await visitor.register(identificationRoutes, { identification });
    await visitor.register(appTicketRoutes, { apps });
    await visitor.register(spaceRoutes, { spaces });
    await visitor.register(personaRoutes, { personas, stepUp: signIn.stepUp });
    await visitor.register(identityErasureRoutes, { personas, stepUp: signIn.stepUp });
    await visitor.register(policyCheckRoutes, { personas });
    await visitor.register(signIn.routes);
  });
  await app.register(appRoutes, { apps });
  await app.register(async (admin) => {
    requireAdminToken(admin, adminTokens.authenticate);
    await admin.register(adminTokenRoutes, { adminTokens });
    await admin.register(appAdminRoutes, { apps });
    await admin.register(banRoutes, { bans });
    await admin.register(webhookRoutes, { webhooks: events.webhooks });
    await admin.register(accountabilityRoutes, { accountability });
    await admin.register(appealRoutes, { appeals });
    await admin.register(policyAdminRoutes, { policies });
    await admin.register(personaAdminRoutes, { personas });
  });

  return app;
}
