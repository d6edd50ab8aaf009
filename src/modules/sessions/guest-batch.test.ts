import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGuestBatcher, type InsertGuests } from './guest-batch.js';
import type { CreateGuestsResult, NewGuest } from './session-repository.js';

const guest = (displayName: string = randomUUID()): NewGuest => ({
  tokenHash: Buffer.from(randomUUID()),
  client: 'browser',
  profileId: randomUUID(),
  accountId: randomUUID(),
  sessionId: randomUUID(),
  personaId: randomUUID(),
  displayName,
  displayNameKey: displayName.toLowerCase(),
  authorId: `k1.${randomUUID()}`,
});

/**
 * An in-memory store with the database's rules that matter here: a batch is all or nothing, and a
 * display name is unique. It records each statement's size and how many ran at once.
 */
function store(delayMs = 5) {
  const names = new Set<string>();
  const statements: number[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const insert: InsertGuests = async (guests): Promise<CreateGuestsResult> => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    statements.push(guests.length);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    running--;
    const keys = guests.map((g) => g.displayNameKey);
    if (keys.some((key) => names.has(key)) || new Set(keys).size !== keys.length) return { created: false, reason: 'name-taken' };
    for (const key of keys) names.add(key);
    return { created: true, sessionPublicIds: new Map(guests.map((g) => [g.sessionId, `public-${g.sessionId}`])) };
  };
  return { insert, names, statements, mostAtOnce: () => mostAtOnce };
}

describe('createGuestBatcher', () => {
  it('writes a lone start alone, with its session\'s public id', async () => {
    const db = store();
    const create = createGuestBatcher(db.insert, { maxBatch: 64, concurrency: 1 });
    const one = guest();
    await expect(create(one)).resolves.toEqual({ created: true, sessionPublicId: `public-${one.sessionId}` });
    expect(db.statements).toEqual([1]);
  });

  it('writes the starts of one turn together, at most maxBatch a statement and `concurrency` statements at once', async () => {
    const db = store();
    const create = createGuestBatcher(db.insert, { maxBatch: 16, concurrency: 2 });
    const results = await Promise.all(Array.from({ length: 50 }, () => create(guest())));
    expect(results.every((result) => result.created)).toBe(true);
    expect(db.names.size).toBe(50);
    expect(db.statements).toEqual([16, 16, 16, 2]);
    expect(db.mostAtOnce()).toBe(2);
  });

  it('retries a refused batch one guest at a time: the clashing one learns why, the others are written', async () => {
    const db = store();
    const create = createGuestBatcher(db.insert, { maxBatch: 64, concurrency: 1 });
    await create(guest('Quiet Otter 1'));
    const batch = [guest('Bold Heron 2'), guest('Quiet Otter 1'), guest('Calm Lynx 3')];
    const results = await Promise.all(batch.map((g) => create(g)));
    expect(results.map((result) => result.created)).toEqual([true, false, true]);
    expect(results[1]).toEqual({ created: false, reason: 'name-taken' });
    expect(db.statements).toEqual([1, 3, 1, 1, 1]);
    expect([...db.names].sort()).toEqual(['bold heron 2', 'calm lynx 3', 'quiet otter 1']);
  });

  it('fails every start of a batch whose statement failed, and keeps serving later ones', async () => {
    let fail = true;
    const db = store();
    const create = createGuestBatcher(async (guests) => {
      if (fail) throw new Error('connection lost');
      return db.insert(guests);
    }, { maxBatch: 64, concurrency: 1 });
    const failed = await Promise.allSettled([create(guest()), create(guest())]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(create(guest())).resolves.toMatchObject({ created: true });
  });
});
