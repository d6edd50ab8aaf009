import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EmailBox, normalizeEmail } from './email-box.js';
import { TokenHasher } from './tokens.js';

const hasher = new TokenHasher('a-token-hash-key-of-at-least-32-characters');
const k1 = { id: 'k1', secret: 'first-email-secret-of-32-characters-or-more' };
const k2 = { id: 'k2', secret: 'second-email-secret-of-32-characters-or-more' };

describe('normalizeEmail', () => {
  it('trims and lower-cases the whole address, keeping dots and +tags', () => {
    expect(normalizeEmail('  Alice.Liddell+Wonder@Example.ORG ')).toBe('alice.liddell+wonder@example.org');
  });

  it('composes accents (NFC), so one address typed two ways is one address', () => {
    expect(normalizeEmail('rene\u0301e@example.org')).toBe(normalizeEmail('Ren\u00e9e@example.org'));
  });
});

describe('EmailBox', () => {
  const box = new EmailBox([k1], hasher);

  it('gives one lookup key per normalized address, differing from the anonymous-token hash of the same text', () => {
    const email = normalizeEmail('alice@example.org');
    expect(box.lookupKey(email)).toEqual(box.lookupKey(normalizeEmail(' ALICE@example.org')));
    expect(box.lookupKey(email)).not.toEqual(box.lookupKey(normalizeEmail('alicia@example.org')));
    expect(box.lookupKey(email)).not.toEqual(hasher.hash('anonymous', email));
  });

  it('seals with the current key and opens for the same account; the ciphertext does not contain the address', () => {
    const account = randomUUID();
    const email = normalizeEmail('alice@example.org');
    const sealed = box.seal(account, email);
    expect(sealed.keyId).toBe('k1');
    expect(sealed.sealed.includes(Buffer.from('alice'))).toBe(false);
    expect(box.open(account, sealed)).toBe(email);
  });

  it('does not open under another account id (the ciphertext is bound to its row)', () => {
    const sealed = box.seal(randomUUID(), normalizeEmail('alice@example.org'));
    expect(box.open(randomUUID(), sealed)).toBeNull();
  });

  it('rotates: a new first key seals, the old one still opens what it sealed', () => {
    const account = randomUUID();
    const email = normalizeEmail('alice@example.org');
    const old = box.seal(account, email);
    const rotated = new EmailBox([k2, k1], hasher);
    expect(rotated.seal(account, email).keyId).toBe('k2');
    expect(rotated.open(account, old)).toBe(email);
    expect(new EmailBox([k2], hasher).open(account, old)).toBeNull(); // k1 retired: unknown key id
  });

  it('refuses a tampered ciphertext', () => {
    const account = randomUUID();
    const sealed = box.seal(account, normalizeEmail('alice@example.org'));
    const tampered = Buffer.from(sealed.sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(box.open(account, { keyId: 'k1', sealed: tampered })).toBeNull();
  });
});
