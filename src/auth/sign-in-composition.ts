import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { DataBox } from '../crypto/data-box.js';
import type { EmailBox } from '../crypto/email-box.js';
import type { Pseudonyms } from '../crypto/pseudonyms.js';
import type { TokenHasher } from '../crypto/tokens.js';
import type { Db } from '../db/database.js';
import type { TerritoryDatabases } from '../db/territory-databases.js';
import type { AccountSecretStore } from '../modules/accounts/account-secret-repository.js';
import { createIdentityLinkRepository } from '../modules/identity-links/identity-link-repository.js';
import { identityLinkRoutes } from '../modules/identity-links/identity-link-routes.js';
import { createIdentityLinkService } from '../modules/identity-links/identity-link-service.js';
import type { SessionLabelStore } from '../modules/sessions/session-label-repository.js';
import { createSessionListRepository } from '../modules/sessions/session-list-repository.js';
import { sessionListRoutes } from '../modules/sessions/session-list-routes.js';
import { createSessionListService } from '../modules/sessions/session-list-service.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import { createStepUpRepository } from '../modules/step-up/step-up-repository.js';
import { stepUpRoutes } from '../modules/step-up/step-up-routes.js';
import { createStepUpService, type PasswordProof } from '../modules/step-up/step-up-service.js';
import { WALLET_KEY_PURPOSE } from '../modules/wallets/wallet.js';
import { createWalletRepository } from '../modules/wallets/wallet-repository.js';
import { walletRoutes } from '../modules/wallets/wallet-routes.js';
import { createWalletService } from '../modules/wallets/wallet-service.js';
import type { AttemptLimiter } from '../rate-limit/attempt-limiter.js';
import { ACCOUNT_IDENTIFIER_BOX } from './account-identifier.js';
import { authRoutes } from './auth-routes.js';
import { createAuthenticateService } from './authenticate-service.js';
import { createMethodAccountRepository } from './method-account-repository.js';
import { createProfileRepository } from './profile-repository.js';
import { createStrategies } from './strategies.js';
import { createRefreshTokenRepository } from './tokens/refresh-token-repository.js';
import { createSigningKeyRepository } from './tokens/signing-key-repository.js';
import { SigningKeyring } from './tokens/signing-keyring.js';
import { createTokenService } from './tokens/token-service.js';
import { createVerificationRepository } from './verification-repository.js';
import type { AppealStatementStore } from '../modules/accountability/appeal-statement-repository.js';
import type { IdentificationRepository } from '../modules/identification/identification-repository.js';

export interface SignInCompositionDeps {
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  readonly hasher: TokenHasher;
  readonly emails: EmailBox;
  readonly pseudonyms: Pseudonyms;
  readonly limiter: AttemptLimiter;
  readonly sessions: SessionService;
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
  /** The policy's live-persona limit, which a guest merge must respect. */
  readonly maxLivePersonas: () => Promise<number>;
  /** Sealed identifiers and passwords, in each person's territory (composeFederation's). */
  readonly accountSecrets: AccountSecretStore;
  /** Passkey credentials live in each person's territory (composeFederation's databases). */
  readonly territories: TerritoryDatabases;
  /** Session device labels, in each person's territory (composeFederation's). */
  readonly sessionLabels: SessionLabelStore;
  /** Voluntary identification and appeal statements, in territories (composeFederation's). */
  readonly identification: IdentificationRepository;
  readonly appealStatements: AppealStatementStore;
  /** Password step-up: the person's own email or handle account's password (the account service). */
  readonly passwords: PasswordProof;
}

/**
 * The part of the composition root for spec 003: sign-in methods, API tokens, the identity graph,
 * the session list and session wallets. `buildApp` calls it and mounts `routes` in the visitor scope.
 */
export function composeSignIn(deps: SignInCompositionDeps) {
  const { config, db, clock, hasher, emails, evictProfile } = deps;
  const box = (purpose: string) => new DataBox(config.secrets.emailKeys, purpose);
  const keyring = new SigningKeyring(createSigningKeyRepository(db), box('personae/signing-keys/v1'), clock, {
    issuer: config.publicOrigin,
    accessTtlSeconds: config.tokens.accessTtlSeconds,
    rotationSeconds: config.tokens.signingKeyRotationSeconds,
  });
  const tokens = createTokenService({
    keyring,
    refreshTokens: createRefreshTokenRepository(db),
    hasher,
    accessTtlSeconds: config.tokens.accessTtlSeconds,
    evictProfile,
  });
  const identifiers = box(ACCOUNT_IDENTIFIER_BOX);
  const auth = createAuthenticateService({
    strategies: createStrategies({ config, db, verifications: createVerificationRepository(db), hasher, emails, limiter: deps.limiter, clock, accountSecrets: deps.accountSecrets, territories: deps.territories }),
    methods: createMethodAccountRepository(db, deps.accountSecrets, deps.sessionLabels),
    hasher,
    emails,
    identifiers,
    pseudonyms: deps.pseudonyms,
    sessions: config.sessions,
    evictProfile,
    limiter: deps.limiter,
    challengeLimit: config.signIn.challengeLimit,
    identification: deps.identification,
  });
  const stepUp = createStepUpService({
    repository: createStepUpRepository(db, deps.accountSecrets), auth, passwords: deps.passwords, windowSeconds: config.signIn.stepUpWindowSeconds,
  });
  const links = createIdentityLinkService({
    links: createIdentityLinkRepository(db, deps.accountSecrets, deps.appealStatements), auth, hasher, emails, identifiers, stepUp, evictProfile, maxLivePersonas: deps.maxLivePersonas,
  });

  const routes: FastifyPluginAsync = async (visitor) => {
    await visitor.register(authRoutes, {
      auth,
      sessions: deps.sessions,
      tokens,
      profiles: createProfileRepository(db),
      stepUp,
      clock,
      sessionMaxAgeSeconds: config.sessions.absoluteSeconds,
    });
    await visitor.register(identityLinkRoutes, { links, strategies: auth.strategies });
    await visitor.register(stepUpRoutes, { stepUp, strategies: auth.strategies });
    await visitor.register(sessionListRoutes, {
      sessionList: createSessionListService({ sessions: createSessionListRepository(db, deps.sessionLabels), evictProfile }),
    });
    await visitor.register(walletRoutes, {
      wallets: createWalletService({ wallets: createWalletRepository(db, deps.accountSecrets), box: box(WALLET_KEY_PURPOSE) }),
    });
  };
  return { keyring, stepUp, routes };
}
