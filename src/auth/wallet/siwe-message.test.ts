import { createSiweMessage } from 'viem/siwe';
import { describe, expect, it } from 'vitest';
import { parseSignInMessage, signInMessageProblem, type SignInExpectations, type SignInMessage } from './siwe-message.js';

const ADDRESS = '0xA0Cf798816D4b9b9866b5330EEa46a18382f251e';
const NOW = new Date('2025-06-01T12:00:00.000Z');

const fields = {
  address: ADDRESS,
  chainId: 1,
  domain: 'id.example',
  nonce: '0123456789abcdef0123456789abcdef',
  uri: 'https://id.example',
  version: '1',
  issuedAt: NOW,
  statement: 'Sign in to personae.',
} as const;

const text = (overrides: Partial<SignInMessage> = {}) => createSiweMessage({ ...fields, ...overrides });

describe('parseSignInMessage', () => {
  it('answers the fields of a well-formed message', () => {
    const expirationTime = new Date(NOW.getTime() + 300_000);
    const resources = ['https://id.example/terms'];
    expect(parseSignInMessage(text({ expirationTime, scheme: 'https', resources, requestId: 'r1' }))).toEqual({
      ...fields,
      expirationTime,
      scheme: 'https',
      resources,
      requestId: 'r1',
    });
  });

  it('accepts the optional statement left out', () => {
    expect(parseSignInMessage(text({ statement: undefined }))).toMatchObject({ nonce: fields.nonce, issuedAt: NOW });
  });

  it('accepts any RFC 3339 spelling of a time', () => {
    const message = text().replace('Issued At: 2025-06-01T12:00:00.000Z', 'Issued At: 2025-06-01T14:00:00+02:00');
    expect(parseSignInMessage(message)?.issuedAt).toEqual(NOW);
  });

  it.each([
    ['text before the message', (m: string) => `Ignore this.\n${m}`],
    ['text after the message', (m: string) => `${m}\nand more`],
    ['a line between the statement and the URI', (m: string) => m.replace('\nURI:', '\nTransfer everything.\n\nURI:')],
    ['an address without its EIP-55 checksum', (m: string) => m.replace(ADDRESS, ADDRESS.toLowerCase())],
    ['no issue time', (m: string) => m.replace(/\nIssued At: .*/, '')],
    ['a time that is not RFC 3339', (m: string) => m.replace('2025-06-01T12:00:00.000Z', 'June 1, 2025')],
    ['version 2', (m: string) => m.replace('Version: 1', 'Version: 2')],
    ['a chain id with a leading zero', (m: string) => m.replace('Chain ID: 1', 'Chain ID: 01')],
    ['a nonce shorter than 8 characters', (m: string) => m.replace(fields.nonce, 'abc')],
    ['CRLF line ends', (m: string) => m.replaceAll('\n', '\r\n')],
    ['not a message at all', () => 'hello'],
  ])('refuses %s', (_case, mangle) => {
    expect(parseSignInMessage(mangle(text()))).toBeNull();
  });
});

describe('signInMessageProblem', () => {
  const expected: SignInExpectations = { domain: 'id.example', origin: 'https://id.example', chainIds: [1, 10], maxAgeSeconds: 300 };
  const message = (overrides: Partial<SignInMessage> = {}): SignInMessage => ({ ...fields, ...overrides });
  const seconds = (n: number) => new Date(NOW.getTime() + n * 1000);

  it('accepts a fresh message for this service', () => {
    expect(signInMessageProblem(message(), expected, NOW)).toBeNull();
    expect(signInMessageProblem(message({ chainId: 10, uri: 'https://id.example/sign-in', scheme: 'https' }), expected, NOW)).toBeNull();
    expect(signInMessageProblem(message({ issuedAt: seconds(60) }), expected, NOW)).toBeNull();
    expect(signInMessageProblem(message({ issuedAt: seconds(-300) }), expected, NOW)).toBeNull();
    expect(signInMessageProblem(message({ expirationTime: seconds(1), notBefore: NOW }), expected, NOW)).toBeNull();
  });

  it.each([
    ['another domain', { domain: 'evil.example' }, /domain/],
    ['our host on another port', { domain: 'id.example:8443' }, /domain/],
    ['another scheme', { scheme: 'http' }, /scheme/],
    ['a URI on another origin', { uri: 'https://evil.example/' }, /URI/],
    ['a URI on our host over http', { uri: 'http://id.example/' }, /URI/],
    ['a URI that is not a URL', { uri: 'urn:personae:sign-in' }, /URI/],
    ['another chain', { chainId: 137 }, /chain/],
    ['an issue time past the skew allowance', { issuedAt: seconds(61) }, /future/],
    ['an issue time older than the challenge lifetime', { issuedAt: seconds(-301) }, /too long ago/],
    ['an expiration time reached', { expirationTime: NOW }, /expired/],
    ['a not-before time ahead', { notBefore: seconds(1) }, /not valid yet/],
  ] as const)('refuses %s', (_case, overrides, reason) => {
    expect(signInMessageProblem(message(overrides), expected, NOW)).toMatch(reason);
  });
});
