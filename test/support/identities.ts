import { randomUUID } from 'node:crypto';
import type { TestApp } from './app.js';
import { Visitor } from './app.js';
import { RedisAttemptLimiter } from '../../src/rate-limit/redis-attempt-limiter.js';

/** A guest whose persona holds `handle`. */
export async function personWithHandle(test: TestApp, handle: string): Promise<{ visitor: Visitor; personaId: string }> {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  const claimed = await visitor.request('PUT', `/personas/${persona.id}/handle`, { handle });
  if (claimed.statusCode !== 200) throw new Error(`claim of ${handle} failed: ${claimed.statusCode} ${claimed.body}`);
  return { visitor, personaId: persona.id };
}

export async function createTerritory(test: TestApp, territory: { code: string; name: string; federationDomain?: string; matrixDomain?: string }) {
  const response = await test.app.inject({ method: 'POST', url: '/admin/territories', headers: test.adminHeaders, payload: territory });
  if (response.statusCode !== 201) throw new Error(`territory ${territory.code}: ${response.statusCode} ${response.body}`);
}

/**
 * Simulates a finished territory move of the person behind `personaId`, as the moves module leaves
 * it (another engineer's part): a primary citizenship in `to`, and the old address `handle@from`
 * kept as an alias row. Written straight into the tables so these tests depend only on that outcome;
 * then, as a move through the API does before answering, the identity generation is bumped.
 */
export async function simulateMove(test: TestApp, personaId: string, handle: string, from: string, to: string): Promise<void> {
  const db = test.database.db;
  const { accountability_profile_id: profileId } = await db
    .selectFrom('personas')
    .select('accountability_profile_id')
    .where('id', '=', personaId)
    .executeTakeFirstOrThrow();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('citizenships').set({ ended_at: new Date() }).where('accountability_profile_id', '=', profileId).where('is_primary', '=', true).execute();
    await trx.insertInto('citizenships').values({ accountability_profile_id: profileId, territory_code: to, territory_user_id: randomUUID(), is_primary: true }).execute();
    await trx.insertInto('identity_aliases').values({ handle, territory_code: from }).onConflict((conflict) => conflict.doNothing()).execute();
  });
  await bumpIdentityGeneration(test);
}

/** What a change outside the API must do before it is seen as done (see IdentityGeneration). */
export async function bumpIdentityGeneration(test: TestApp): Promise<void> {
  if (!test.config.redisUrl) {
    await test.invalidation.publish({ kind: 'identities' }); // no Redis: every node's LocalIdentityGeneration counts it
    return;
  }
  const limiter = await RedisAttemptLimiter.connect(test.config.redisUrl);
  try {
    await limiter.lookupGate().bump();
  } finally {
    await limiter.close();
  }
}
