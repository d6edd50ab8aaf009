import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db, Tx } from './db/database.js';
import type { LookupGating } from './rate-limit/open-lookup-gate.js';
import { openTerritoryDatabases } from './db/territory-databases.js';
import { ACCOUNT_IDENTIFIER_BOX } from './auth/account-identifier.js';
import { DataBox } from './crypto/data-box.js';
import type { HandleAccountPorts } from './modules/accounts/account-service.js';
import { createRecoveryCodeStore } from './modules/accounts/recovery-code-repository.js';
import { createAccountSecretStore } from './modules/accounts/account-secret-repository.js';
import { createSessionLabelStore } from './modules/sessions/session-label-repository.js';
import { createAppealStatementStore } from './modules/accountability/appeal-statement-repository.js';
import { createIdentificationRepository } from './modules/identification/identification-repository.js';
import { createIdentificationService } from './modules/identification/identification-service.js';
import { createHandleRepository } from './modules/handles/handle-repository.js';
import { handleRoutes } from './modules/handles/handle-routes.js';
import { createHandleService } from './modules/handles/handle-service.js';
import { IdentityCache } from './modules/identities/identity-cache.js';
import { createIdentityRepository } from './modules/identities/identity-repository.js';
import { identityRoutes } from './modules/identities/identity-routes.js';
import { createIdentityService } from './modules/identities/identity-service.js';
import { checkTerritoryPlacement } from './modules/territories/territory-placement.js';
import { createTerritoryRepository } from './modules/territories/territory-repository.js';
import { territoryAdminRoutes, territoryRoutes } from './modules/territories/territory-routes.js';
import { createTerritoryService } from './modules/territories/territory-service.js';
import { PeriodicTask } from './events/periodic-task.js';
import { createCitizenshipRepository } from './modules/citizenships/citizenship-repository.js';
import { citizenshipRoutes } from './modules/citizenships/citizenship-routes.js';
import { createCitizenshipService } from './modules/citizenships/citizenship-service.js';
import { createMoveRepository } from './modules/citizenships/move-repository.js';
import { createMoveService, type InvitationRedeemer } from './modules/citizenships/move-service.js';
import { createRegistrationResidence } from './modules/citizenships/registration-residence.js';
import { createTerritoryRowsRepository } from './modules/citizenships/territory-rows-repository.js';
import type { StepUpService } from './modules/step-up/step-up-service.js';
import { openMailer } from './auth/email/mailer.js';
import { EmailBox } from './crypto/email-box.js';
import { TokenHasher } from './crypto/tokens.js';
import { createInvitationRepository } from './modules/invitations/invitation-repository.js';
import { invitationAdminRoutes, invitationRoutes } from './modules/invitations/invitation-routes.js';
import { createInvitationService } from './modules/invitations/invitation-service.js';
import { createPolicyRepository } from './modules/policy/policy-repository.js';
import { createPolicyService } from './modules/policy/policy-service.js';

export interface FederationCompositionDeps {
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  /** The public lookups' gate and the identity generation, which the move resumer bumps too. */
  readonly lookups: LookupGating;
  /** Where the move resumer reports failures. */
  readonly logger?: FastifyBaseLogger;
}

/** A move nobody advanced for this long is a crashed node's: the periodic job finishes it. */
const STALE_MOVE_MS = 2 * 60_000;

/**
 * The part of the composition root for spec 004: territories and their databases, handles,
 * addresses, invitations and moves. `buildApp` mounts `routes` in the visitor scope, `adminRoutes`
 * behind the admin token, and runs `ready` and `close` with the app.
 */
export function composeFederation({ config, db, clock, lookups, logger }: FederationCompositionDeps) {
  const territoryDatabases = openTerritoryDatabases(db, config.federation.territoryDatabaseUrls);
  const territories = createTerritoryService({
    territories: createTerritoryRepository(db),
    databases: territoryDatabases,
    publicHost: new URL(config.publicOrigin).hostname,
  });
  // Sealed emails and identifiers, password hashes, ed25519 keys, session-wallet keys: in the person's current territory.
  const accountSecrets = createAccountSecretStore(db, territoryDatabases);
  // The device labels of the session list, by session id: in the person's current territory too.
  const sessionLabels = createSessionLabelStore(db, territoryDatabases);
  // Appeal statements in the person's territory; voluntary identification in the territory of whom the browser acts as.
  const appealStatements = createAppealStatementStore(db, territoryDatabases);
  const identification = createIdentificationRepository(db, territoryDatabases);
  const handles = createHandleService({
    handles: createHandleRepository(db, accountSecrets),
    territoryCodes: async () => (await territories.list()).map((territory) => territory.code),
  });
  // The policies are read from the database on each call, so this reader agrees with the app's own.
  const policies = createPolicyService({ policies: createPolicyRepository(db), clock });
  // Invitations build their own stateless helpers from the config (the same keys as buildApp's), so
  // this file needs nothing more from app.ts. `invitations.redeemer` is the port registration and moves use.
  const hasher = new TokenHasher(config.secrets.tokenHashKey);
  const invitations = createInvitationService({
    invitations: createInvitationRepository(db, territoryDatabases),
    territories,
    handles,
    policies: () => policies.current(),
    hasher,
    emails: new EmailBox(config.secrets.emailKeys, hasher),
    mailer: openMailer(config),
    publicOrigin: config.publicOrigin,
    clock,
  });

  // Moves: a saga across databases, resumed by the person's next request, at startup and periodically.
  const rows = createTerritoryRowsRepository(db, territoryDatabases);
  const moves = createMoveService({
    moves: createMoveRepository(db),
    rows,
    cooldownDays: async () => (await policies.current()).territory_move_cooldown_days,
    clock,
    invitations: invitations.redeemer,
  });
  // Registration settles a new person in the territory they chose, redeeming its invitation.
  const residence = createRegistrationResidence({ territories, rows, invitations: invitations.redeemer });
  const citizenships = createCitizenshipService({ citizenships: createCitizenshipRepository(db), rows, moves, clock });
  let startup = true;
  const moveResumer = new PeriodicTask({
    // The first round (at startup) takes every unfinished move; later ones only those idle a while.
    round: async () => {
      const idleMs = startup ? 0 : STALE_MOVE_MS;
      startup = false;
      // A finished move changes the person's address: lookups must not answer the old one.
      if ((await moves.resumeStale(idleMs)) > 0) await lookups.generation.bump();
      return 0;
    },
    intervalMs: 60_000,
    maxBackoffMs: 15 * 60_000,
    onError: (error, failures, retryInMs) => logger?.error({ err: error, failures, retryInMs }, 'resuming territory moves failed'),
  });
  /** Mounted in the visitor scope with the step-up port (sign-in's, composed after this). */
  const movesRoutes: FastifyPluginAsync<{ stepUp: StepUpService }> = async (visitor, { stepUp }) => {
    await visitor.register(citizenshipRoutes, { citizenships, moves, stepUp, identification: createIdentificationService(identification, clock) });
  };

  // Registration with a handle (and no email): the handle rules, the box its identifier is sealed in,
  // and the recovery codes, kept in the person's territory schema.
  const handleAccounts: HandleAccountPorts = {
    validate: (input) => handles.validate(input),
    identifiers: new DataBox(config.secrets.emailKeys, ACCOUNT_IDENTIFIER_BOX),
  };
  const recoveryCodes = createRecoveryCodeStore(db, territoryDatabases);
  const routes: FastifyPluginAsync = async (visitor) => {
    await visitor.register(territoryRoutes, { territories });
    await visitor.register(handleRoutes, { handles });
    await visitor.register(invitationRoutes, { invitations });
  };
  const adminRoutes: FastifyPluginAsync = async (admin) => {
    await admin.register(territoryAdminRoutes, { territories });
    await admin.register(invitationAdminRoutes, { invitations });
  };
  // Public lookups (identities, WebFinger) are mounted outside the visitor scope: a federation
  // server resolving an address is not a visitor, gets no anon_id cookie and costs no session read.
  // The cache is strict (see IdentityCache) only where every node's generation moves before a change
  // is answered: with Redis, on the embedded database (one process), or with PostgreSQL's bus (every
  // node confirms each bump). With an in-memory bus on PostgreSQL (a PostgreSQL without LISTEN),
  // nodes cannot learn of each other's changes before answering, so there is no cache.
  const ttlSeconds = lookups.sharedByEveryNode ? config.federation.identityCacheTtlSeconds : 0;
  const identityCache = new IdentityCache({ ttlSeconds, maxEntries: 100_000 });
  const publicRoutes: FastifyPluginAsync = async (app) => {
    const identities = createIdentityService({
      identities: createIdentityRepository(db),
      cache: identityCache,
      gate: lookups.gate,
      hasher,
      limits: config.federation.lookupLimit,
      publicOrigin: config.publicOrigin,
    });
    await app.register(identityRoutes, { identities });
  };

  return {
    territoryDatabases,
    territories,
    handles,
    moves,
    citizenships,
    handleAccounts,
    recoveryCodes,
    accountSecrets,
    sessionLabels,
    appealStatements,
    identification,
    residence,
    /** Identity deletion clears the person's territory rows inside its own transaction. */
    eraseTerritoryRows: (trx: Tx, accountabilityProfileId: string) => rows.eraseAll(trx, accountabilityProfileId),
    invitations,
    /** Registration and moves redeem invitations through this, inside their own transaction. */
    invitationRedeemer: invitations.redeemer,
    routes,
    movesRoutes,
    adminRoutes,
    publicRoutes,
    /** Before the first request: every remote territory has its server, and its schema is migrated. */
    ready: async () => {
      await checkTerritoryPlacement(territories, territoryDatabases);
      moveResumer.start();
    },
    close: async () => {
      await moveResumer.stop();
      await territoryDatabases.close();
    },
  };
}
