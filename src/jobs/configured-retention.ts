import { retiredKeyPublishSeconds } from '../auth/tokens/signing-keyring.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { createRetentionRepository } from '../modules/retention/retention-repository.js';
import { createRetentionService, type RetentionService } from '../modules/retention/retention-service.js';

/** The retention service as the configuration sets it up (the service process and the `prune` command). */
export function createConfiguredRetention(config: Config, db: Db, clock: Clock): RetentionService {
  return createRetentionService({
    retention: createRetentionRepository(db, { webhookMaxAttempts: config.events.webhooks.maxAttempts }),
    policy: {
      eventSeconds: config.retention.eventSeconds,
      expiredSeconds: config.retention.expiredSeconds,
      sendWindowSeconds: config.signIn.email.sendWindowSeconds,
      signingKeyPublishSeconds: retiredKeyPublishSeconds(config.tokens.accessTtlSeconds),
    },
    clock,
  });
}
