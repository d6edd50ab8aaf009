import { Counter, type Registry } from 'prom-client';
import type { TerritoryTable } from './orphan-repository.js';

/**
 * Orphaned territory rows deleted, by territory and table: a steady trickle of session labels is the
 * sessions that ended; anything else counts crashes (or failed undos) between a remote write and
 * its global commit, worth a look when it grows.
 */
export function orphanCounter(registry: Registry): (territory: string, table: TerritoryTable, rows: number) => void {
  const counter = new Counter({
    name: 'personae_territory_orphans_deleted_total',
    help: 'Territory rows deleted because the global row they belong to does not exist.',
    labelNames: ['territory', 'table'] as const,
    registers: [registry],
  });
  return (territory, table, rows) => counter.inc({ territory, table }, rows);
}
