import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { EmailBox } from '../crypto/email-box.js';
import type { TokenHasher } from '../crypto/tokens.js';
import type { Db } from '../db/database.js';
import type { TerritoryDatabases } from '../db/territory-databases.js';
import type { AccountSecretStore } from '../modules/accounts/account-secret-repository.js';
import type { AttemptLimiter } from '../rate-limit/attempt-limiter.js';
import { createEmailStrategy } from './email/email-strategy.js';
import { createKeyStrategy } from './key/key-strategy.js';
import { createPasskeyStrategy } from './passkey/passkey-strategy.js';
import { createSocialStrategy } from './social/social-strategy.js';
import type { SignInStrategy } from './strategy.js';
import type { VerificationRepository } from './verification-repository.js';
import { createWalletStrategy } from './wallet/wallet-strategy.js';

/** What strategies are built from: narrow ports, each strategy takes what it uses. */
export interface StrategyDeps {
  readonly config: Config;
  readonly db: Db;
  readonly verifications: VerificationRepository;
  readonly hasher: TokenHasher;
  readonly emails: EmailBox;
  readonly limiter: AttemptLimiter;
  readonly clock: Clock;
  /** Where a key account's ed25519 key is kept: the person's territory. */
  readonly accountSecrets: Pick<AccountSecretStore, 'addKey'>;
  /** Where a passkey's credential is kept: the person's territory. */
  readonly territories: TerritoryDatabases;
}

/** Every sign-in method with a ceremony, by name. A strategy that is not configured is left out. */
export function createStrategies(deps: StrategyDeps): ReadonlyMap<string, SignInStrategy> {
  const offered = [
    createEmailStrategy(deps),
    createWalletStrategy(deps),
    createSocialStrategy(deps),
    createPasskeyStrategy(deps),
    createKeyStrategy(deps),
  ].filter((strategy): strategy is SignInStrategy => strategy !== null);
  return new Map(offered.map((strategy) => [strategy.name, strategy]));
}
