import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { InvalidationBus } from './cache/invalidation-bus.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { AppTickets } from './crypto/app-tickets.js';
import { Pseudonyms } from './crypto/pseudonyms.js';
import { TokenHasher } from './crypto/tokens.js';
import { EmailBox } from './crypto/email-box.js';
import { Argon2PasswordHasher, defaultHashingConcurrency } from './crypto/passwords.js';
import { openAttemptLimiter } from './rate-limit/open-attempt-limiter.js';
import { openLookupGate } from './rate-limit/open-lookup-gate.js';
import { bumpIdentityGenerationAfterChanges } from './http/public-identity-changes.js';
import { passwordHashingTimer } from './modules/accounts/account-metrics.js';
import { createAccountRepository } from './modules/accounts/account-repository.js';
import { accountRoutes } from './modules/accounts/account-routes.js';
import { createAccountService } from './modules/accounts/account-service.js';
import { createLoginThrottle } from './modules/accounts/login-throttle.js';
import { createRecoveryRepository } from './modules/accounts/recovery-repository.js';
import { recoveryRoutes } from './modules/accounts/recovery-routes.js';
import { createRecoveryService } from './modules/accounts/recovery-service.js';
import type { DatabaseHandle } from './db/database.js';
import { createEventDelivery, type EventDelivery } from './events/event-delivery.js';
import { requireAdminToken } from './http/admin-auth.js';
import { correlationIdOf, markEveryAnswer } from './http/correlation.js';
import { installSessionFastLane } from './http/session-fast-lane.js';
import { registerCrossSiteProtection } from './http/cross-site.js';
import { answerMalformedRequest, registerErrorHandling } from './http/error-handler.js';
import { refuseUnstorableText } from './http/unstorable-text.js';
import { createMetrics, requestDurationObserver } from './http/metrics.js';
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
import { identificationRoutes } from './modules/identification/identification-routes.js';
import { createIdentificationService } from './modules/identification/identification-service.js';
import { openNodeSessionCache } from './modules/sessions/session-cache.js';
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
import { scheduleHousekeeping } from './jobs/housekeeping.js';
import { personaAdminRoutes } from './modules/personas/persona-admin-routes.js';
import { createPersonaRepository } from './modules/personas/persona-repository.js';
import { identityErasureRoutes } from './modules/personas/identity-erasure-routes.js';
import { personaRoutes } from './modules/personas/persona-routes.js';
import { createPersonaService } from './modules/personas/persona-service.js';
import { createPolicyRepository } from './modules/policy/policy-repository.js';
import { policyAdminRoutes, policyCheckRoutes } from './modules/policy/policy-routes.js';
import { createPolicyService } from './modules/policy/policy-service.js';
import { composeFederation } from './federation-composition.js';
import { webAppRoutes } from './http/web-app.js';
import { createReviewQueueRepository } from './modules/accountability/review-queue-repository.js';
import { reviewQueueRoutes } from './modules/accountability/review-queue-routes.js';
import { createSignInMethodsRepository } from './modules/accountability/sign-in-methods-repository.js';
import { signInMethodsRoutes } from './modules/accountability/sign-in-methods-routes.js';
import { adminIdentityRoutes } from './modules/admins/admin-identity-routes.js';
import { createAuditSearchRepository } from './modules/audit/audit-search-repository.js';
import { auditRoutes } from './modules/audit/audit-routes.js';
import { closeConnectionsWhenClosing } from './http/close-connections.js';
import { wakeRelayAfterWrites } from './http/relay-wakeup.js';

export interface AppDeps {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly logger: FastifyBaseLogger;
  readonly invalidation: InvalidationBus;
  readonly clock?: Clock;
  /** Instead of Fastify's compilers: the tests reuse what earlier apps of the process compiled (test/support). */
  readonly schemaController?: FastifyServerOptions['schemaController'];
}

/** The composition root: wires services to their ports and routes to services. No listen, no env. */
export async function buildApp({ config, database, logger, invalidation, clock = systemClock, schemaController }: AppDeps): Promise<FastifyInstance> {
  const metrics = createMetrics();
  const logging = new RequestLogging(config.accessLog, requestDurationObserver(metrics));
  const app = Fastify({
    loggerInstance: logger,
    genReqId: correlationIdOf,
    logController: logging,
    bodyLimit: config.bodyLimitBytes,
    forceCloseConnections: 'idle',
    // Unknown properties are refused, not dropped, and nothing is coerced (consent is `true`, not "true" or 1).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    frameworkErrors: answerMalformedRequest,
    // request.ip (the per-client sign-in limit) believes X-Forwarded-For only from these proxies.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    ...(schemaController ? { schemaController } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const events = createEventDelivery({
    config,
    db: database.db,
    clock,
    log: logger.child({ module: 'events' }),
    registry: metrics.registry,
  });
  app.decorate('events', events);
  app.addHook('onReady', async () => events.start());
  wakeRelayAfterWrites(app, events.relay);
  // After in-flight requests answered: the batch in flight commits (or rolls back) before the database closes.
  app.addHook('onClose', async () => events.stop());
  const attemptLimiter = await openAttemptLimiter(config.redisUrl, clock);
  app.addHook('onClose', () => attemptLimiter.close());
  const lookups = openLookupGate(attemptLimiter, invalidation, database.kind === 'embedded');
  const federation = composeFederation({ config, db: database.db, clock, lookups, logger: logger.child({ module: 'federation' }) });
  app.addHook('onClose', () => federation.close());
  app.addHook('onReady', () => federation.ready());
  const hasher = new TokenHasher(config.secrets.tokenHashKey);
  const pseudonyms = new Pseudonyms(config.secrets.pseudonymKeys);
  const { cache, close: closeCache } = openNodeSessionCache(config.sessionCache, invalidation);
  app.addHook('onClose', async () => closeCache());

  // An eviction some node did not confirm is logged by the bus and the change answered anyway (docs/operations.md).
  const evictProfile = async (id: string) => void (await invalidation.publish({ kind: 'profile', id }));
  const sessions = createSessionService({
    // Lookups that miss the cache together share a statement; on PostgreSQL a few overlap (pool of 10).
    sessions: createSessionRepository(database.db, { lookupBatch: { maxBatch: 64, concurrency: database.kind === 'embedded' ? 1 : 4 } }),
    cache,
    hasher,
    pseudonyms,
    evictProfile,
    onGuestStarted: () => metrics.guestsStarted.inc(),
    // PGlite has one connection; on PostgreSQL a second statement overlaps the first one's commit.
    guestBatch: { maxBatch: 64, concurrency: database.kind === 'embedded' ? 1 : 2 },
  });
  const identification = createIdentificationService(federation.identification, clock);
  const apps = createAppService({
    apps: createAppRepository(database.db),
    sessions,
    hasher,
    pseudonyms,
    tickets: new AppTickets(config.secrets.tokenHashKey),
    clock,
  });
  const bans = createBanService({ bans: createBanRepository(database.db), invalidation, clock });
  const passwords = new Argon2PasswordHasher(
    config.passwordHashing,
    passwordHashingTimer(metrics.registry),
    config.passwordHashing.concurrency || defaultHashingConcurrency(),
  );
  app.addHook('onReady', () => passwords.warmUp());
  const emails = new EmailBox(config.secrets.emailKeys, hasher);
  // Handle sign-up and recovery codes (spec 004) take their federation ports from composeFederation.
  const accountRepository = createAccountRepository(database.db, federation.recoveryCodes, federation.accountSecrets, federation.sessionLabels);
  const loginThrottle = createLoginThrottle(attemptLimiter, hasher, config.loginLimits);
  const accounts = createAccountService({
    accounts: accountRepository,
    passwords,
    emails,
    throttle: loginThrottle,
    hasher,
    pseudonyms,
    sessions: config.sessions,
    evictProfile,
    handles: federation.handleAccounts,
    residence: federation.residence,
    identification: federation.identification,
  });
  const recovery = createRecoveryService({
    recovery: createRecoveryRepository(database.db, federation.recoveryCodes, federation.accountSecrets, federation.sessionLabels),
    accounts: accountRepository,
    passwords,
    throttle: loginThrottle,
    hasher,
    sessions: config.sessions,
    evictProfile,
    identification: federation.identification,
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
    accountSecrets: federation.accountSecrets,
    territories: federation.territoryDatabases,
    sessionLabels: federation.sessionLabels,
    identification: federation.identification,
    appealStatements: federation.appealStatements,
    passwords: accounts,
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
  const accountability = createAccountabilityService({ accountability: createAccountabilityRepository(database.db, federation.appealStatements), invalidation, riskThresholds });
  const appeals = createAppealService({ appeals: createAppealRepository(database.db, federation.appealStatements), invalidation, clock, riskThresholds });
  const personas = createPersonaService({
    personas: createPersonaRepository(database.db, federation.eraseTerritoryRows),
    policies,
    authorIdOf: (personaId) => pseudonyms.authorId(personaId),
    invalidation,
    clock,
  });
  const housekeeping = scheduleHousekeeping({
    config, db: database.db, databaseKind: database.kind, clock, logger, accountSecrets: federation.accountSecrets,
    territoryDatabases: federation.territoryDatabases, registry: metrics.registry,
    bumpIdentityGeneration: () => lookups.generation.bump(),
  });
  app.addHook('onClose', () => Promise.all(housekeeping.map((task) => task.stop())).then(() => undefined));

  markEveryAnswer(app);
  closeConnectionsWhenClosing(app);
  bumpIdentityGenerationAfterChanges(app, lookups.generation, config.federation.identityCacheTtlSeconds);
  registerErrorHandling(app);
  refuseUnstorableText(app);
  await registerCrossSiteProtection(app, config.allowedOrigins);
  await app.register(fastifyCookie, { secret: [...config.secrets.cookieSecrets] });
  installSessionFastLane(app, { sessions, clock, logging, registry: metrics.registry, corsEnabled: config.allowedOrigins.length > 0 });
  await registerOpenApi(app);
  for (const schema of [ErrorBody, ...appSchemas, ...adminTokenSchemas, ...trustSafetySchemas]) app.addSchema(schema);

  await app.register(opsRoutes, { ping: database.ping, registry: metrics.registry });
  await app.register(jwksRoutes, { keyring: signIn.keyring });
  await app.register(federation.publicRoutes);
  // Development only, and only without SMTP: the mails the service would have sent.
  if (devInboxEnabled(config)) await app.register(devInboxRoutes, { dataDir: config.dataDir });
  await app.register(async (visitor) => {
    registerVisitorScope(visitor, sessions, signIn.keyring, clock);
    await visitor.register(sessionRoutes, { sessions });
    await visitor.register(accountRoutes, { accounts, sessions, clock, sessionMaxAgeSeconds: config.sessions.absoluteSeconds, stepUp: signIn.stepUp });
    await visitor.register(recoveryRoutes, { recovery, clock, sessionMaxAgeSeconds: config.sessions.absoluteSeconds, stepUp: signIn.stepUp });
    await visitor.register(identificationRoutes, { identification });
    await visitor.register(appTicketRoutes, { apps });
    await visitor.register(spaceRoutes, { spaces });
    await visitor.register(personaRoutes, { personas, stepUp: signIn.stepUp });
    await visitor.register(identityErasureRoutes, { personas, stepUp: signIn.stepUp });
    await visitor.register(policyCheckRoutes, { personas });
    await visitor.register(signIn.routes);
    await visitor.register(federation.routes);
    await visitor.register(federation.movesRoutes, { stepUp: signIn.stepUp });
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
    await admin.register(federation.adminRoutes);
    // The staff console's reads: who am I, the work lists, the audit log.
    await admin.register(adminIdentityRoutes);
    await admin.register(reviewQueueRoutes, { queues: createReviewQueueRepository(database.db) });
    await admin.register(auditRoutes, { audit: createAuditSearchRepository(database.db) });
    await admin.register(signInMethodsRoutes, { methods: createSignInMethodsRepository(database.db) });
  });
  // The web app (web/, built to web/dist) at `/`, on the API's own origin.
  await app.register(webAppRoutes);

  return app;
}
