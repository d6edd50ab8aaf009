/**
 * Rows found orphaned that carry no time of their own (voluntary identification: on purpose, see
 * ORPHAN_RULES), and since when each has been found so without a break. A row is due once it has
 * been seen orphaned, unchanged, for the whole grace period: a row written a moment ago by a
 * transaction that has yet to commit its pointer is never due, however the sweeps fall.
 *
 * Kept in the sweeping process's memory only: no database learns when such a row was written. A
 * process that restarts starts counting again, which only ever delays a deletion.
 */
export class Sightings {
  /** Per territory: the rows the last finished sweep saw orphaned (by identity), and since when. */
  readonly #settled = new Map<string, ReadonlyMap<string, number>>();
  readonly #sweeping = new Map<string, Map<string, number>>();

  /**
   * Records that the row `id` (its key and a digest of its content: a changed row is a new one) is
   * orphaned in `territory` at `nowMs`; answers since when it has been seen so without a break.
   */
  see(territory: string, id: string, nowMs: number): number {
    const since = this.#settled.get(territory)?.get(id) ?? nowMs;
    let seen = this.#sweeping.get(territory);
    if (!seen) this.#sweeping.set(territory, (seen = new Map()));
    seen.set(id, since);
    return since;
  }

  /** Ends a territory's sweep: a row it did not see orphaned again (pointed at, deleted, changed) is forgotten. */
  settle(territory: string): void {
    this.#settled.set(territory, this.#sweeping.get(territory) ?? new Map());
    this.#sweeping.delete(territory);
  }

  /** Drops a sweep that failed half-way: what the last finished one saw stays. */
  abandon(territory: string): void {
    this.#sweeping.delete(territory);
  }
}
