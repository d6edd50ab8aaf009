import type { Clock } from '../../clock.js';
import { ORPHAN_RULES, type OwnedRule } from './orphan-rules.js';
import type { OrphanRepository, SealedRow, TerritoryTable } from './orphan-repository.js';
import { Sightings } from './sightings.js';

export interface OrphanSweepReport {
  /** Rows deleted, by table, all territories together (tables with none left out). */
  readonly deleted: Readonly<Partial<Record<TerritoryTable, number>>>;
  readonly total: number;
  /** Territories this sweep could not finish (their server unreachable, say): the next one tries again. */
  readonly failed: readonly string[];
}

export interface OrphanSweeper {
  /**
   * Deletes, in every territory, the personal rows whose owning global row does not exist (see
   * ORPHAN_RULES) and that are older than the grace period. Safe beside running nodes and another sweep.
   */
  sweep(): Promise<OrphanSweepReport>;
}

export interface OrphanSweeperDeps {
  readonly orphans: OrphanRepository;
  readonly clock: Clock;
  /**
   * How long a row is left alone after its write: longer than any transaction can run, since a
   * remote territory's row commits before its global owner does (crossDatabaseTransaction).
   */
  readonly graceSeconds: number;
  /** Ids read from a territory (and looked up globally) per round trip. */
  readonly pageSize?: number;
  /** Told of every deletion (a metric). */
  readonly counted?: (territory: string, table: TerritoryTable, rows: number) => void;
  /** Told of a territory the sweep could not finish; the others are swept all the same. */
  readonly failedTerritory?: (territory: string, error: unknown) => void;
}

const RULES = Object.entries(ORPHAN_RULES) as Array<[TerritoryTable, (typeof ORPHAN_RULES)[TerritoryTable]]>;

/**
 * Why this exists: a write to a territory on another server commits before its global transaction
 * does, and is undone should that transaction fail; a process that dies in between, or an undo that
 * fails with the remote server, leaves a row naming an account, session or profile that was never
 * committed. Nothing can reach it, so no erasure would ever remove it. This finds and deletes them.
 */
export function createOrphanSweeper({ orphans, clock, graceSeconds, pageSize = 500, counted, failedTerritory }: OrphanSweeperDeps): OrphanSweeper {
  const graceMs = graceSeconds * 1000;
  // Lives as long as the sweeper: a process's periodic sweeps build on each other's sightings.
  const sightings = new Sightings();

  /** One table's rows naming an absent owner, page by page: owner ids from the territory, existence from the global database. */
  async function sweepOwned(code: string, table: TerritoryTable, rule: OwnedRule, writtenBefore: Date): Promise<number> {
    let deleted = 0;
    let after: string | null = null;
    for (;;) {
      const named = await orphans.namedOwners(code, table, rule, writtenBefore, after, pageSize);
      if (named.length === 0) return deleted;
      const alive = await orphans.existingOwners(rule.owner, named);
      const absent = named.filter((id) => !alive.has(id));
      if (absent.length > 0) deleted += await orphans.deleteNaming(code, table, rule, absent, writtenBefore);
      if (named.length < pageSize) return deleted;
      after = named[named.length - 1]!;
    }
  }

  /** Voluntary identification nothing points at, seen so for the whole grace period (see Sightings). */
  async function sweepPointed(code: string, nowMs: number): Promise<number> {
    const due: SealedRow[] = [];
    let after: Buffer | null = null;
    for (;;) {
      const page = await orphans.sealedRows(code, after, pageSize);
      if (page.length === 0) break;
      const pointed = await orphans.pointedHere(code, page.map((row) => row.lookupKey));
      for (const row of page) {
        const key = row.lookupKey.toString('hex');
        if (pointed.has(key)) continue;
        if (nowMs - sightings.see(code, `${key}:${row.digest}`, nowMs) >= graceMs) due.push(row);
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.lookupKey;
    }
    sightings.settle(code);
    let deleted = 0;
    for (let i = 0; i < due.length; i += pageSize) deleted += await orphans.deleteUnpointed(code, due.slice(i, i + pageSize));
    return deleted;
  }

  return {
    async sweep() {
      const now = clock.now();
      const writtenBefore = new Date(now.getTime() - graceMs);
      const deleted: Partial<Record<TerritoryTable, number>> = {};
      const failed: string[] = [];
      let total = 0;
      for (const code of await orphans.territoryCodes()) {
        try {
          for (const [table, rule] of RULES) {
            const rows = rule.kind === 'owned' ? await sweepOwned(code, table, rule, writtenBefore) : await sweepPointed(code, now.getTime());
            if (rows === 0) continue;
            deleted[table] = (deleted[table] ?? 0) + rows;
            total += rows;
            counted?.(code, table, rows);
          }
        } catch (error) {
          sightings.abandon(code);
          failed.push(code);
          failedTerritory?.(code, error);
        }
      }
      return { deleted, total, failed };
    },
  };
}
