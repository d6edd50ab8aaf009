import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DatabaseHandle, Db } from '../db/database.js';
import { createTableMaintenance, type MaintenanceReport } from '../db/table-maintenance.js';
import type { AccountSecretStore } from '../modules/accounts/account-secret-repository.js';
import { createPurgeRepository } from '../modules/personas/purge-repository.js';
import { createPurgeService } from '../modules/personas/purge-service.js';
import type { TerritoryDatabases } from '../db/territory-databases.js';
import { orphanCounter } from '../modules/orphans/orphan-metrics.js';
import { createOrphanRepository } from '../modules/orphans/orphan-repository.js';
import { createOrphanSweeper, type OrphanSweepReport } from '../modules/orphans/orphan-sweep-service.js';
import type { PruneReport } from '../modules/retention/retention-service.js';
import { createConfiguredRetention } from './configured-retention.js';
import { scheduleEvery, type PeriodicTask } from './periodic-task.js';

export interface HousekeepingDeps {
  readonly config: Config;
  readonly db: Db;
  /** Which database `db` is (the embedded one never runs autovacuum). */
  readonly databaseKind: DatabaseHandle['kind'];
  readonly clock: Clock;
  readonly logger: FastifyBaseLogger;
  readonly accountSecrets: AccountSecretStore;
  /** Where each territory lives, for the orphan sweep. */
  readonly territoryDatabases: TerritoryDatabases;
  /** The service's metrics, where the orphan sweep counts what it deletes. */
  readonly registry: Registry;
  /** Bumps the public identity generation: a purge changes identities outside any HTTP request. */
  readonly bumpIdentityGeneration: () => Promise<void>;
}

/**
 * The periodic jobs of a service process, as configured (an interval of 0 turns one off): the purge,
 * the prune, the sweep of orphaned territory rows, and table maintenance where autovacuum does not run.
 */
export function scheduleHousekeeping(deps: HousekeepingDeps): PeriodicTask[] {
  const { config, db, clock, logger } = deps;
  const tasks: PeriodicTask[] = [];
  if (config.purgeIntervalSeconds > 0) {
    const purge = createPurgeService({ purge: createPurgeRepository(db, deps.accountSecrets), clock });
    // A purged persona was already hidden; the bump keeps "every change outside HTTP bumps" without exceptions.
    const run = async () => {
      const report = await purge.run();
      if (report.purged > 0) await deps.bumpIdentityGeneration();
      return report;
    };
    const worthLogging = (report: Awaited<ReturnType<typeof run>>) =>
      report.purged > 0 || report.holdsReleased > 0 || report.retiredMethodsForgotten > 0;
    tasks.push(scheduleEvery('purge', config.purgeIntervalSeconds, run, worthLogging, logger, soonAfterStart(config.purgeIntervalSeconds)));
  }
  if (config.retention.intervalSeconds > 0) {
    // With several nodes each runs it; the repository lets one node at a time prune each kind of row.
    const retention = createConfiguredRetention(config, db, clock);
    const worthLogging = (report: PruneReport) => Object.values(report).some((count) => count > 0);
    tasks.push(scheduleEvery('prune', config.retention.intervalSeconds, () => retention.prune(), worthLogging, logger, soonAfterStart(config.retention.intervalSeconds)));
  }
  if (config.orphanSweep.intervalSeconds > 0) {
    // With several nodes each runs it: a row two of them delete at once is simply gone.
    const orphans = createOrphanSweeper({
      orphans: createOrphanRepository(db, deps.territoryDatabases),
      clock,
      graceSeconds: config.orphanSweep.graceSeconds,
      counted: orphanCounter(deps.registry),
      failedTerritory: (territory, error) => logger.error({ err: error, territory }, 'orphan sweep of a territory failed'),
    });
    const worthLogging = (report: OrphanSweepReport) => report.total > 0 || report.failed.length > 0;
    const { intervalSeconds, graceSeconds } = config.orphanSweep;
    tasks.push(scheduleEvery('orphan sweep', intervalSeconds, () => orphans.sweep(), worthLogging, logger, { firstRunsAfterSeconds: orphanSweepStart(intervalSeconds, graceSeconds) }));
  }
  if (config.tableMaintenanceIntervalSeconds > 0) {
    const maintenance = createTableMaintenance({ db, kind: deps.databaseKind });
    const worthLogging = (report: MaintenanceReport) => report.vacuumed > 0;
    tasks.push(scheduleEvery('table maintenance', config.tableMaintenanceIntervalSeconds, () => maintenance.run(), worthLogging, logger));
  }
  return tasks;
}

/**
 * How long after start the first purge, prune and orphan sweep run (or one interval, if shorter):
 * not one interval, since a node restarted more often than that (deploys, autoscaling) would
 * otherwise never run the deletions the privacy rules promise.
 */
export const FIRST_HOUSEKEEPING_RUN_AFTER_SECONDS = 60;

const soonAfterStart = (intervalSeconds: number) => ({ firstRunsAfterSeconds: [Math.min(FIRST_HOUSEKEEPING_RUN_AFTER_SECONDS, intervalSeconds)] });

/**
 * The orphan sweep's first runs, each delay counted from the run before: a minute after start, not
 * one interval, since a node restarted more often than the interval (deploys, autoscaling) would
 * otherwise never sweep; then once more a grace period later (and a second, against timer
 * rounding), when that comes before the interval, because voluntary identification nothing points
 * at goes only once one process has seen it so twice, a grace period apart (see Sightings). Then
 * every interval.
 */
export function orphanSweepStart(intervalSeconds: number, graceSeconds: number): number[] {
  const first = Math.min(FIRST_HOUSEKEEPING_RUN_AFTER_SECONDS, intervalSeconds);
  return graceSeconds + 1 < intervalSeconds ? [first, graceSeconds + 1] : [first];
}
