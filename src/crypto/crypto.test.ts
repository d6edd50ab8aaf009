import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lengthPrefixed } from './length-prefixed.js';
import { open, seal } from './sealed-box.js';
import { secretsEqual } from './secret-compare.js';
import { deriveTokenKeys } from './token-derived-keys.js';
import { isTokenShaped, newToken, TokenHasher } from './tokens.js';

const hex = (buffer: Buffer) => buffer.toString('hex');

describe('lengthPrefixed', () => {
  it('writes each field as a 4-byte big-endian byte length and its UTF-8 bytes', () => {
    expect(hex(lengthPrefixed(['ab']))).toBe('00000002' + '6162');
    expect(hex(lengthPrefixed(['', 'é']))).toBe('00000000' + '00000002' + 'c3a9'); // bytes, not characters
    expect(lengthPrefixed([]).length).toBe(0);
  });

  it('gives different field lists different encodings, however their text lines up', () => {
    const lists = [['ab', 'c'], ['a', 'bc'], ['abc'], ['abc', ''], ['', 'abc'], [''], ['', ''], [], ['a\u0000', 'bc']];
    const encodings = lists.map((fields) => hex(lengthPrefixed(fields)));
    expect(new Set(encodings).size).toBe(lists.length);
  });

  it('cannot be fooled by a field that contains something shaped like a length prefix', () => {
    const smuggled = `a${String.fromCharCode(0, 0, 0, 1)}b`;
    expect(hex(lengthPrefixed([smuggled]))).not.toBe(hex(lengthPrefixed(['a', 'b'])));
  });
});

describe('TokenHasher', () => {
  const key = 'token-hash-key-token-hash-key-token-hash-key';
  const hasher = new TokenHasher(key);
  const token = newToken();

  it('is deterministic, also across instances, and answers a 32-byte HMAC-SHA256', () => {
    const hash = hasher.hash('anonymous', token);
    expect(hash.length).toBe(32);
    expect(hex(new TokenHasher(key).hash('anonymous', token))).toBe(hex(hash));
  });

  it('separates purposes: a token hashed for one use never matches a lookup for another', () => {
    const hashes = (['anonymous', 'session', 'api-key'] as const).map((purpose) => hex(hasher.hash(purpose, token)));
    expect(new Set(hashes).size).toBe(3);
  });

  it('depends on the server key: without it a hash cannot be recomputed', () => {
    const other = new TokenHasher('another-key-another-key-another-key-another');
    expect(hex(other.hash('anonymous', token))).not.toBe(hex(hasher.hash('anonymous', token)));
  });

  it('gives different tokens different hashes', () => {
    expect(hex(hasher.hash('session', newToken()))).not.toBe(hex(hasher.hash('session', newToken())));
  });
});

describe('newToken', () => {
  it('is 32 random bytes as 43 base64url characters, and token-shaped', () => {
    const token = newToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url').length).toBe(32);
    expect(isTokenShaped(token)).toBe(true);
  });

  it('never repeats', () => {
    expect(new Set(Array.from({ length: 2000 }, newToken)).size).toBe(2000);
  });

  it('is told apart from things that are not tokens', () => {
    const token = newToken();
    for (const value of ['', token.slice(1), `${token}A`, `${token.slice(1)}+`, `${token.slice(1)}/`, `${token.slice(1)}=`, ` ${token.slice(1)}`]) {
      expect(isTokenShaped(value), JSON.stringify(value)).toBe(false);
    }
  });
});

describe('sealed box (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const aad = Buffer.from('identity-links/row-1');
  const plaintext = Buffer.from(JSON.stringify({ email: 'someone@example.org' }));

  it('opens what it sealed', () => {
    expect(open(key, seal(key, plaintext, aad), aad)?.toString()).toBe(plaintext.toString());
    expect(open(key, seal(key, Buffer.alloc(0), aad), aad)?.length).toBe(0);
  });

  it('lays out iv (12) ‖ tag (16) ‖ ciphertext, and never reuses an iv', () => {
    const [a, b] = [seal(key, plaintext, aad), seal(key, plaintext, aad)];
    expect(a.length).toBe(12 + 16 + plaintext.length);
    expect(hex(a.subarray(0, 12))).not.toBe(hex(b.subarray(0, 12)));
    expect(hex(a)).not.toBe(hex(b));
    expect(a.includes(plaintext)).toBe(false);
  });

  it('refuses the wrong key', () => {
    expect(open(randomBytes(32), seal(key, plaintext, aad), aad)).toBeNull();
  });

  it('refuses other associated data: a ciphertext cannot move to another row', () => {
    const sealed = seal(key, plaintext, aad);
    expect(open(key, sealed, Buffer.from('identity-links/row-2'))).toBeNull();
    expect(open(key, sealed, Buffer.alloc(0))).toBeNull();
  });

  it('refuses any single flipped bit, in iv, tag or ciphertext', () => {
    const sealed = seal(key, plaintext, aad);
    for (const index of [0, 11, 12, 27, 28, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[index] = (tampered[index] ?? 0) ^ 0x01;
      expect(open(key, tampered, aad), `byte ${index}`).toBeNull();
    }
  });

  it('refuses truncated input, down to nothing, without throwing', () => {
    const sealed = seal(key, plaintext, aad);
    for (const length of [sealed.length - 1, 28, 27, 12, 1, 0]) {
      expect(open(key, sealed.subarray(0, length), aad), `length ${length}`).toBeNull();
    }
  });

  it('refuses appended bytes', () => {
    const sealed = seal(key, plaintext, aad);
    expect(open(key, Buffer.concat([sealed, Buffer.from([0])]), aad)).toBeNull();
  });
});

describe('deriveTokenKeys', () => {
  const token = newToken();

  it('is deterministic: the token alone finds and opens its row again', () => {
    const [a, b] = [deriveTokenKeys(token, 'identity-link'), deriveTokenKeys(token, 'identity-link')];
    expect(hex(a.lookupKey)).toBe(hex(b.lookupKey));
    expect(hex(a.sealKey)).toBe(hex(b.sealKey));
  });

  it('answers two different 32-byte keys: the lookup key reveals nothing of the seal key', () => {
    const { lookupKey, sealKey } = deriveTokenKeys(token, 'identity-link');
    expect(lookupKey.length).toBe(32);
    expect(sealKey.length).toBe(32);
    expect(hex(lookupKey)).not.toBe(hex(sealKey));
  });

  it('separates purposes and tokens', () => {
    const keys = [deriveTokenKeys(token, 'identity-link'), deriveTokenKeys(token, 'other'), deriveTokenKeys(newToken(), 'identity-link')];
    expect(new Set(keys.flatMap((k) => [hex(k.lookupKey), hex(k.sealKey)])).size).toBe(6);
  });

  it('makes keys that seal and open', () => {
    const { sealKey } = deriveTokenKeys(token, 'identity-link');
    const aad = Buffer.from('row');
    expect(open(deriveTokenKeys(token, 'identity-link').sealKey, seal(sealKey, Buffer.from('hi'), aad), aad)?.toString()).toBe('hi');
    expect(open(deriveTokenKeys(newToken(), 'identity-link').sealKey, seal(sealKey, Buffer.from('hi'), aad), aad)).toBeNull();
  });
});

describe('secretsEqual', () => {
  const secret = 'admin-token-admin-token-admin-token-admin';

  it('is true only for the same secret', () => {
    expect(secretsEqual(secret, secret)).toBe(true);
    expect(secretsEqual(secret.replace(/.$/, 'X'), secret)).toBe(false);
  });

  it('is false for prefixes, extensions, other lengths and the empty string, without throwing', () => {
    expect(secretsEqual(secret.slice(0, -1), secret)).toBe(false);
    expect(secretsEqual(`${secret}n`, secret)).toBe(false);
    expect(secretsEqual('', secret)).toBe(false);
    expect(secretsEqual(secret, '')).toBe(false);
    expect(secretsEqual('', '')).toBe(true);
  });

  it('compares the full text, including non-ASCII characters', () => {
    expect(secretsEqual('pässwörd-pässwörd', 'pässwörd-pässwörd')).toBe(true);
    expect(secretsEqual('pässwörd-pässwörd', 'passwörd-pässwörd')).toBe(false);
  });
});
