import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Pseudonyms } from './pseudonyms.js';

const k1 = { id: 'k1', secret: 'first-secret-first-secret-first-secret-0001' };
const k2 = { id: 'k2', secret: 'second-secret-second-secret-second-secret-02' };

/** `<key id>.<base64url mac>`: an author id keeps 18 bytes (24 chars), a person hash 32 (43 chars). */
const AUTHOR_ID = /^k1\.[A-Za-z0-9_-]{24}$/;
const PERSON_HASH = /^k1\.[A-Za-z0-9_-]{43}$/;

const macOf = (value: string) => value.slice(value.indexOf('.') + 1);

describe('authorId', () => {
  const pseudonyms = new Pseudonyms([k1]);

  it('is stable for the same persona and key, also across instances', () => {
    const persona = randomUUID();
    expect(pseudonyms.authorId(persona)).toBe(pseudonyms.authorId(persona));
    expect(new Pseudonyms([k1]).authorId(persona)).toBe(pseudonyms.authorId(persona));
  });

  it('differs between personas', () => {
    const ids = new Set(Array.from({ length: 200 }, () => pseudonyms.authorId(randomUUID())));
    expect(ids.size).toBe(200);
  });

  it('has the form <keyid>.<24 base64url chars>', () => {
    expect(pseudonyms.authorId(randomUUID())).toMatch(AUTHOR_ID);
  });

  it('depends on the secret, not only on the key id (it is keyed)', () => {
    const persona = randomUUID();
    const sameIdOtherSecret = new Pseudonyms([{ id: 'k1', secret: `${k1.secret}x` }]);
    expect(sameIdOtherSecret.authorId(persona)).not.toBe(pseudonyms.authorId(persona));
  });
});

describe('personHash', () => {
  const pseudonyms = new Pseudonyms([k1]);
  const [appA, appB, person, other] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

  it('is stable for the same app and person', () => {
    expect(pseudonyms.personHash(appA, person)).toBe(pseudonyms.personHash(appA, person));
    expect(pseudonyms.personHash(appA, person)).toMatch(PERSON_HASH);
  });

  it('is pairwise: one person gets unrelated values in two apps', () => {
    const [inA, inB] = [pseudonyms.personHash(appA, person), pseudonyms.personHash(appB, person)];
    expect(inA).not.toBe(inB);
    // Unrelated, not merely different: no shared prefix beyond chance.
    expect(commonPrefix(macOf(inA), macOf(inB))).toBeLessThan(4);
  });

  it('differs between two people in one app', () => {
    expect(pseudonyms.personHash(appA, person)).not.toBe(pseudonyms.personHash(appA, other));
  });

  it('length-prefixes its fields: ("ab","c") and ("a","bc") differ', () => {
    expect(pseudonyms.personHash('ab', 'c')).not.toBe(pseudonyms.personHash('a', 'bc'));
    expect(pseudonyms.personHash('', 'abc')).not.toBe(pseudonyms.personHash('abc', ''));
  });
});

describe('key rotation', () => {
  it('makes new values with the first key and names it in the prefix', () => {
    const rotated = new Pseudonyms([k2, k1]);
    const persona = randomUUID();
    const author = rotated.authorId(persona);
    const person = rotated.personHash(randomUUID(), persona);
    expect(author).toMatch(/^k2\.[A-Za-z0-9_-]{24}$/);
    expect(person).toMatch(/^k2\.[A-Za-z0-9_-]{43}$/);
    // Under k2 the value is not k1's value relabelled.
    expect(macOf(author)).not.toBe(macOf(new Pseudonyms([k1]).authorId(persona)));
  });

  it('refuses to run without a key', () => {
    expect(() => new Pseudonyms([])).toThrow();
  });
});

describe('not a bare hash', () => {
  it('matches no plain SHA-256 of the inputs, with or without the secret', () => {
    const pseudonyms = new Pseudonyms([k1]);
    const [app, persona] = [randomUUID(), randomUUID()];
    const sha = (input: string) => createHash('sha256').update(input).digest('base64url');
    const author = macOf(pseudonyms.authorId(persona));
    const person = macOf(pseudonyms.personHash(app, persona));
    const candidates = [
      persona,
      `${persona}${k1.secret}`,
      `${k1.secret}${persona}`,
      `author${persona}`,
      `${app}${persona}`,
      `${app}${persona}${k1.secret}`,
      `person${app}${persona}`,
    ].map(sha);
    for (const candidate of candidates) {
      expect(candidate.startsWith(author)).toBe(false);
      expect(candidate).not.toBe(person);
    }
  });
});

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return n;
}
