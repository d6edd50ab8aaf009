import { parseOptions } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { Argon2PasswordHasher } from './passwords.js';

const FLOOR = { memoryKib: 19_456, timeCost: 2, parallelism: 1 };

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher(FLOOR);

  it('makes argon2id PHC strings carrying the policy\'s parameters, salted per hash', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password twice'), hasher.hash('same password twice')]);
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(parseOptions(a)).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const phc = await hasher.hash('correct horse battery staple');
    expect(await hasher.verify(phc, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(phc, 'correct horse battery stapler')).toBe(false);
    expect(await hasher.verify(phc, 'Correct horse battery staple')).toBe(false);
  });

  it('treats composed and decomposed accents as the same password (NFC)', async () => {
    const composed = 'le caf\u00e9 des amis du matin';
    const decomposed = 'le cafe\u0301 des amis du matin';
    expect(composed).not.toBe(decomposed);
    expect(await hasher.verify(await hasher.hash(composed), decomposed)).toBe(true);
  });

  it('verifyNothing runs a verification and always answers false', async () => {
    const timings: number[] = [];
    const timed = new Argon2PasswordHasher(FLOOR, (seconds) => timings.push(seconds));
    expect(await timed.verifyNothing('anything at all, really')).toBe(false);
    expect(await timed.verifyNothing('')).toBe(false);
    // One verification per call (making the dummy hash once is not a verification).
    expect(timings).toHaveLength(2);
  });

  it('runs no more hashes at once than its concurrency allows, and queues the rest', async () => {
    const spans: number[] = [];
    const oneAtATime = new Argon2PasswordHasher(FLOOR, (seconds) => spans.push(seconds), 1);
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, (_, i) => oneAtATime.hash(`queued password number ${i}`)));
    const wall = (performance.now() - started) / 1000;
    expect(spans).toHaveLength(4);
    // Serialized: end to end takes the sum of the four (in parallel on two cores it would be about half).
    const serial = spans.reduce((sum, span) => sum + span, 0);
    expect(wall).toBeGreaterThanOrEqual(serial * 0.95);
  });

  it('asks for a rehash when the policy has grown past the stored parameters, not otherwise', async () => {
    const phc = await hasher.hash('a password hashed at the floor');
    expect(hasher.needsRehash(phc)).toBe(false);
    expect(new Argon2PasswordHasher({ ...FLOOR, memoryKib: 32_768 }).needsRehash(phc)).toBe(true);
    expect(new Argon2PasswordHasher({ ...FLOOR, timeCost: 3 }).needsRehash(phc)).toBe(true);
    const stronger = await new Argon2PasswordHasher({ ...FLOOR, timeCost: 3 }).hash('x');
    expect(hasher.needsRehash(stronger)).toBe(false); // never downgrade
  });

  it('hashes off the event loop: timers keep firing while four hashes run', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, (_, i) => hasher.hash(`password number ${i}`)));
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // Were hashing on the loop, no tick could run until all four were done.
    expect(ticks).toBeGreaterThan(Math.min(5, elapsed / 10));
  });
});
