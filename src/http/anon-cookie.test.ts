import fastifyCookie from '@fastify/cookie';
import { describe, expect, it, vi } from 'vitest';
import { newToken } from '../crypto/tokens.js';
import { parseAnonCookie } from './anon-cookie.js';

/**
 * A stand-in for @fastify/cookie's unsign: `<value>.good` is a valid signature, `<value>.old` a valid
 * one made with a retired key (renew), anything else is invalid. It records what it was asked.
 */
function fakeUnsign() {
  return vi.fn((raw: string) => {
    const dot = raw.lastIndexOf('.');
    const [value, signature] = dot < 0 ? [raw, ''] : [raw.slice(0, dot), raw.slice(dot + 1)];
    if (signature === 'good') return { valid: true, renew: false, value };
    if (signature === 'old') return { valid: true, renew: true, value };
    return { valid: false, renew: false, value: null };
  });
}

const token = newToken();
const issuedAt = 1_763_000_000;
const issued = issuedAt.toString(36);

describe('parseAnonCookie', () => {
  it('reads a validly signed `<token>.<issued-at>` value', () => {
    expect(parseAnonCookie(`${token}.${issued}.good`, fakeUnsign())).toEqual({ token, issuedAt, renew: false });
  });

  it('reads the issued-at time as base36 seconds', () => {
    expect(parseAnonCookie(`${token}.zz.good`, fakeUnsign())?.issuedAt).toBe(35 * 36 + 35);
    expect(parseAnonCookie(`${token}.0.good`, fakeUnsign())?.issuedAt).toBe(0);
    expect(parseAnonCookie(`${token}.${(86_400).toString(36)}.good`, fakeUnsign())?.issuedAt).toBe(86_400);
  });

  it('passes on the renew flag of a value signed with an older key', () => {
    expect(parseAnonCookie(`${token}.${issued}.old`, fakeUnsign())).toEqual({ token, issuedAt, renew: true });
  });

  it('treats an invalid signature as absent', () => {
    expect(parseAnonCookie(`${token}.${issued}.forged`, fakeUnsign())).toBeNull();
    expect(parseAnonCookie(`${token}.${issued}`, fakeUnsign())).toBeNull();
  });

  it('treats a "valid" result without a value as absent', () => {
    expect(parseAnonCookie('anything', () => ({ valid: true, renew: false, value: null }))).toBeNull();
  });

  it('never asks the signer about an empty or missing value', () => {
    const unsign = fakeUnsign();
    expect(parseAnonCookie(undefined, unsign)).toBeNull();
    expect(parseAnonCookie('', unsign)).toBeNull();
    expect(unsign).not.toHaveBeenCalled();
  });

  it('refuses a huge value before spending a MAC on it', () => {
    const unsign = fakeUnsign();
    expect(parseAnonCookie(`${token}.${issued}.${'x'.repeat(10_000)}.good`, unsign)).toBeNull();
    expect(parseAnonCookie('a'.repeat(1_000_000), unsign)).toBeNull();
    expect(unsign).not.toHaveBeenCalled();
  });

  it.each([
    ['no issued-at', token],
    ['an empty issued-at', `${token}.`],
    ['an empty token', `.${issued}`],
    ['a short token', `${token.slice(1)}.${issued}`],
    ['a long token', `${token}A.${issued}`],
    ['a token outside base64url', `${token.slice(1)}+.${issued}`],
    ['a padded token', `${token.slice(1)}=.${issued}`],
    ['an upper-case issued-at', `${token}.${issued.toUpperCase()}`],
    ['a negative issued-at', `${token}.-${issued}`],
    ['a fractional issued-at', `${token}.1.5`],
    ['an issued-at over 10 digits', `${token}.${'z'.repeat(11)}`],
    ['white space', `${token}. ${issued}`],
    ['an extra dot and field', `${token}.${issued}.extra`],
    ['a trailing dot', `${token}.${issued}.`],
    ['a leading dot', `.${token}.${issued}`],
    ['only dots', '...'],
  ])('treats a signed value with %s as absent', (_shape, value) => {
    expect(parseAnonCookie(`${value}.good`, fakeUnsign())).toBeNull();
  });

  describe('with the real cookie signer', () => {
    const current = 'current-secret-current-secret-current-0001';
    const retired = 'retired-secret-retired-secret-retired-0002';
    const value = `${token}.${issued}`;

    it('accepts its own signature and refuses a tampered one', () => {
      const signer = fastifyCookie.signerFactory([current]);
      const signed = signer.sign(value);
      expect(parseAnonCookie(signed, (raw) => signer.unsign(raw))).toEqual({ token, issuedAt, renew: false });
      const tampered = signed.replace(token, newToken());
      expect(parseAnonCookie(tampered, (raw) => signer.unsign(raw))).toBeNull();
    });

    it('asks for renewal of a value signed with a retired key, and refuses an unknown key', () => {
      const signed = fastifyCookie.signerFactory([retired]).sign(value);
      const rotated = fastifyCookie.signerFactory([current, retired]);
      expect(parseAnonCookie(signed, (raw) => rotated.unsign(raw))?.renew).toBe(true);
      const stranger = fastifyCookie.signerFactory([current]);
      expect(parseAnonCookie(signed, (raw) => stranger.unsign(raw))).toBeNull();
    });

    it('fits a real signed cookie well within the size limit', () => {
      const signed = fastifyCookie.signerFactory([current]).sign(`${token}.${(2 ** 40).toString(36)}`);
      expect(encodeURIComponent(signed).length).toBeLessThan(200);
    });
  });
});
