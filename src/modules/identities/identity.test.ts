import { describe, expect, it } from 'vitest';
import { answersFor, jrdOf, matrixUriOf, parseAcct, toPublicIdentity, type IdentityRecord } from './identity.js';

const record: IdentityRecord = {
  handle: 'alice',
  displayName: 'Alice',
  avatarUrl: null,
  publicKeyHash: 'a'.repeat(64),
  publicKey: null,
  territory: { code: 'dk', name: 'Denmark', federationDomain: 'dk.example.org', matrixDomain: null },
  aliases: [{ code: 'main', federationDomain: null, matrixDomain: null }],
};

describe('parseAcct', () => {
  it('reads acct:userpart@host (RFC 7565), lowercasing both and decoding the userpart', () => {
    expect(parseAcct('acct:Alice@Example.ORG', 'id.example.net', 'id.example.net')).toEqual({ handle: 'alice', host: 'example.org' });
    expect(parseAcct('ACCT:al%69ce@example.org.', 'id.example.net', 'id.example.net')).toEqual({ handle: 'alice', host: 'example.org' });
  });

  it('reads our own origin host (with its port) as our host name', () => {
    expect(parseAcct('acct:alice@localhost:3000', 'localhost:3000', 'localhost')).toEqual({ handle: 'alice', host: 'localhost' });
    expect(parseAcct('acct:alice@localhost:4000', 'localhost:3000', 'localhost')?.host).toBe('localhost:4000');
  });

  it('refuses what is not an acct: URI', () => {
    for (const bad of ['acct:nobody', 'https://x', 'acct:@example.org', 'acct:a@', 'mailto:a@example.org', 'acct:a@b@c', 'acct:%E0%A4%A@x.org']) {
      expect(parseAcct(bad, 'x', 'x'), bad).toBeNull();
    }
  });
});

describe('addresses', () => {
  it('derive from the current territory; old territories become aliases', () => {
    const identity = toPublicIdentity(record, 'id.example.net');
    expect(identity).toMatchObject({
      address: 'alice@dk',
      matrixId: '@alice:dk.example.org',
      acct: 'acct:alice@dk.example.org',
      aliases: ['alice@main', '@alice:id.example.net'],
      oldAccts: ['acct:alice@id.example.net'],
      did: null,
    });
  });

  it('answer for the current domain, an old one, or a code; not for others', () => {
    expect(answersFor(record, 'dk.example.org', 'id.example.net')).toBe('current');
    expect(answersFor(record, 'id.example.net', 'id.example.net')).toBe('alias');
    expect(answersFor(record, 'dk', 'id.example.net')).toBe('current');
    expect(answersFor(record, 'main', 'id.example.net')).toBe('alias');
    expect(answersFor(record, 'elsewhere.example', 'id.example.net')).toBeNull();
  });
});

describe('jrdOf', () => {
  const identity = toPublicIdentity({ ...record, avatarUrl: 'https://cdn.example/a.png' }, 'id.example.net');
  it('names the current acct: as subject and filters links by rel only', () => {
    const all = jrdOf(identity, 'https://id.example.net/identities/alice', []);
    expect(all.subject).toBe('acct:alice@dk.example.org');
    expect(all.aliases).toEqual(['https://id.example.net/identities/alice', 'matrix:u/alice:dk.example.org', 'acct:alice@id.example.net']);
    expect(all.links.map((link) => link.rel)).toEqual(['self', 'http://webfinger.net/rel/profile-page', 'http://webfinger.net/rel/avatar']);
    const some = jrdOf(identity, 'https://id.example.net/identities/alice', ['http://webfinger.net/rel/avatar']);
    expect(some.links).toEqual([{ rel: 'http://webfinger.net/rel/avatar', href: 'https://cdn.example/a.png' }]);
    expect(some.aliases).toEqual(all.aliases);
  });

  it('writes Matrix ids as Matrix URIs', () => {
    expect(matrixUriOf('@alice:matrix.example.org')).toBe('matrix:u/alice:matrix.example.org');
  });
});
