import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_GENERATION_KEY } from '../../src/rate-limit/redis-lookup-gate.js';
import { redisUrl, startTestApp, type TestApp } from '../support/app.js';
import { bumpIdentityGeneration, createTerritory, personWithHandle } from '../support/identities.js';
import { killHard, startRedis } from '../support/service-process.js';

// The public lookups cache live identities per node. Every change must show from the very next
// lookup: on the node that made it, and on another node sharing the database (the identity
// generation in Redis when REDIS_URL is set, else bumped through the in-memory bus two nodes of
// one process share).
let nodeA: TestApp;
let nodeB: TestApp;
const redis = Boolean(redisUrl);
// As deployed: with REDIS_URL the nodes share the identity generation (and the limiter) in Redis.
const env: Record<string, string> = redisUrl ? { REDIS_URL: redisUrl } : {};
beforeAll(async () => {
  nodeA = await startTestApp({ redis, env });
  nodeB = await startTestApp({ database: nodeA.database, redis, env });
  await createTerritory(nodeA, { code: 'se', name: 'Sweden', federationDomain: 'se.example.org' });
});
afterAll(async () => {
  await nodeB.close();
  await nodeA.close();
});

const identity = (node: TestApp, handle: string) => node.app.inject({ method: 'GET', url: `/identities/${handle}` });
const webfinger = (node: TestApp, acct: string) => node.app.inject({ method: 'GET', url: `/.well-known/webfinger?resource=acct:${acct}` });
const admin = (method: 'PATCH', url: string, payload: object) => nodeA.app.inject({ method, url, payload, headers: nodeA.adminHeaders });

/** Both nodes answer (and so cache) the handle before the change. */
async function warm(handle: string) {
  for (const node of [nodeA, nodeB]) expect((await identity(node, handle)).statusCode).toBe(200);
}

describe.each([
  ['the same node', () => nodeA],
  ['another node', () => nodeB],
])('a cached identity, changed through the API, as read on %s', (_where, reader) => {
  let n = 0;
  const fresh = () => `cache_${reader() === nodeA ? 'a' : 'b'}_${++n}`;

  it('is gone from the very next lookup after a deactivation (identity and WebFinger)', async () => {
    const handle = fresh();
    const { visitor, personaId } = await personWithHandle(nodeA, handle);
    await warm(handle);
    expect((await webfinger(reader(), `${handle}@localhost`)).statusCode).toBe(200);
    expect((await visitor.request('POST', `/personas/${personaId}/deactivate`)).statusCode).toBeLessThan(300);
    expect((await identity(reader(), handle)).statusCode).toBe(404);
    expect((await webfinger(reader(), `${handle}@localhost`)).statusCode).toBe(404);
    // … and back after a reactivation.
    expect((await visitor.request('POST', `/personas/${personaId}/reactivate`)).statusCode).toBeLessThan(300);
    expect((await identity(reader(), handle)).statusCode).toBe(200);
  });

  it('is gone after a permanent deletion and after a rotation; follows a handle moved to the new persona', async () => {
    const deleted = await personWithHandle(nodeA, fresh());
    const deletedHandle = `cache_${reader() === nodeA ? 'a' : 'b'}_${n}`;
    await warm(deletedHandle);
    expect((await deleted.visitor.request('POST', `/personas/${deleted.personaId}/delete-permanent`)).statusCode).toBeLessThan(300);
    expect((await identity(reader(), deletedHandle)).statusCode).toBe(404);

    const handle = fresh();
    const rotated = await personWithHandle(nodeA, handle);
    await warm(handle);
    const rotation = await rotated.visitor.request('POST', `/personas/${rotated.personaId}/rotate`, { newDisplayName: `Anew ${handle}` });
    expect(rotation.statusCode, rotation.body).toBeLessThan(300);
    expect((await identity(reader(), handle)).statusCode).toBe(404);
    const moved = await rotated.visitor.request('POST', `/personas/${rotated.personaId}/handle/move`, { toPersonaId: rotation.json().persona.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await identity(reader(), handle)).json().identity.displayName).toBe(`Anew ${handle}`);
  });

  it('answers a territory\'s new name and domain from the very next lookup after an admin change', async () => {
    const handle = fresh();
    await personWithHandle(nodeA, handle);
    await warm(handle);
    const name = `Main ${n}`;
    const changed = await admin('PATCH', '/admin/territories/main', { name, federationDomain: `main${n}.example.org` });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await identity(reader(), handle)).json().identity.territory.name).toBe(name);
    expect((await webfinger(reader(), `${handle}@main${n}.example.org`)).statusCode).toBe(200);
    const back = await admin('PATCH', '/admin/territories/main', { federationDomain: null });
    expect(back.statusCode, back.body).toBe(200);
    expect((await webfinger(reader(), `${handle}@main${n}.example.org`)).statusCode).toBe(404);
  });
});

describe('the cache itself', () => {
  it('is on: a rename written behind the API\'s back shows on both nodes only after a bump', async () => {
    const { personaId } = await personWithHandle(nodeA, 'cache_on');
    const rename = (displayName: string) => nodeA.database.db.updateTable('personas').set({ display_name: displayName }).where('id', '=', personaId).execute();
    // Other test files share this Redis, and any change they make moves its one identity generation,
    // which rightly drops cached entries. An attempt during which the generation moved proves nothing:
    // try again (a few times); one during which it stood still must have served the cached name.
    const shared = redisUrl ? new Redis(redisUrl) : null;
    const generationNow = async () => (shared ? shared.get(IDENTITY_GENERATION_KEY) : null);
    try {
      for (let attempt = 1; ; attempt++) {
        await rename(`Cached ${attempt}`);
        await bumpIdentityGeneration(nodeA);
        const before = await generationNow();
        await warm('cache_on');
        await rename('Behind');
        const answers = [];
        for (const node of [nodeA, nodeB]) answers.push((await identity(node, 'cache_on')).json().identity.displayName);
        if (!answers.includes('Behind')) break;
        if (attempt === 5 || (await generationNow()) === before) expect(answers).not.toContain('Behind');
      }
    } finally {
      shared?.disconnect();
    }
    await bumpIdentityGeneration(nodeA);
    for (const node of [nodeA, nodeB]) expect((await identity(node, 'cache_on')).json().identity.displayName).toBe('Behind');
  });
});

describe('deactivation seen on another node, repeatedly', () => {
  it('50 rounds of warm → deactivate on A → lookup on B, with no stale answer', async () => {
    const { visitor, personaId } = await personWithHandle(nodeA, 'cache_rounds');
    const stale: number[] = [];
    for (let round = 0; round < 50; round++) {
      expect((await visitor.request('POST', `/personas/${personaId}/reactivate`)).statusCode).toBeLessThan(300);
      expect((await identity(nodeB, 'cache_rounds')).statusCode).toBe(200); // B caches it
      expect((await visitor.request('POST', `/personas/${personaId}/deactivate`)).statusCode).toBeLessThan(300);
      if ((await identity(nodeB, 'cache_rounds')).statusCode !== 404) stale.push(round);
    }
    expect(stale).toEqual([]);
  }, 60_000);
});

// A node whose bump fails (its Redis is down) must not claim a change every node shows, and once
// Redis is back, no node may serve what it cached before the outage as current: Redis may come back
// with the very generation the failed bump would have moved on from (a Redis that kept its data).
describe.runIf(redisUrl)('a bump that fails (Redis down)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let node: TestApp;
  beforeAll(async () => {
    redis = await startRedis();
    node = await startTestApp({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await node?.close();
    if (redis) await killHard(redis);
  });

  it('answers a typed error, and the entry cached before the outage is not served after it', async () => {
    const { visitor, personaId } = await personWithHandle(node, 'cache_down');
    expect((await identity(node, 'cache_down')).statusCode).toBe(200); // cached
    const probe = new Redis(redis.url);
    const generation = await probe.get(IDENTITY_GENERATION_KEY);
    probe.disconnect();
    await killHard(redis);

    const deactivated = await visitor.request('POST', `/personas/${personaId}/deactivate`);
    expect([deactivated.statusCode, deactivated.json().code]).toEqual([503, 'CHANGE_NOT_YET_PUBLIC']);
    expect(deactivated.json().correlationId).toEqual(expect.any(String));
    // The change itself was made: the persona is deactivated.
    const persona = await node.database.db.selectFrom('personas').select('is_active').where('id', '=', personaId).executeTakeFirstOrThrow();
    expect(persona.is_active).toBe(false);

    redis = await startRedis(redis.port);
    const restore = new Redis(redis.url);
    await restore.set(IDENTITY_GENERATION_KEY, generation!);
    restore.disconnect();
    let answer = await identity(node, 'cache_down');
    for (let tries = 0; answer.statusCode === 503 && tries < 100; tries++) answer = await identity(node, 'cache_down');
    expect(answer.statusCode).toBe(404);
  });
});
