import { didKeyOf } from '../../auth/key/did-key.js';
import { normalizeHandle, isHandle } from '../handles/handle.js';
import { acctOf, addressOf, matrixIdOf } from '../territories/territory.js';

/**
 * The public identity of a handle (spec 004) and its WebFinger answer (RFC 7033, RFC 7565): pure
 * rules. Every address derives from the handle and the territory rows; none is stored twice.
 */

/** A territory as the lookup reads it: raw columns, a null domain meaning the service's own host. */
export interface TerritoryColumns {
  readonly code: string;
  readonly federationDomain: string | null;
  readonly matrixDomain: string | null;
}

/** What the one lookup query reads for a live persona's handle. Internal ids stay in the database. */
export interface IdentityRecord {
  readonly handle: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly publicKeyHash: string;
  /** The raw ed25519 key whose hash is the handle's key hash, when the person holds a key account. */
  readonly publicKey: Uint8Array | null;
  readonly territory: TerritoryColumns & { readonly name: string };
  /** Territories the person lived in before (old addresses), oldest first, the current one left out. */
  readonly aliases: readonly TerritoryColumns[];
}

export interface PublicIdentity {
  readonly handle: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  /** `handle@territory` */
  readonly address: string;
  /** `@handle:<matrix domain>` */
  readonly matrixId: string;
  /** The current WebFinger resource, `acct:handle@<federation domain>`. */
  readonly acct: string;
  /** Old addresses and old Matrix ids, each address followed by its Matrix id. */
  readonly aliases: readonly string[];
  /** Old `acct:` resources, still answered by WebFinger with the current one as subject. */
  readonly oldAccts: readonly string[];
  readonly publicKeyHash: string;
  readonly did: string | null;
  readonly territory: { readonly code: string; readonly name: string };
}

/** The domains of a territory, as the territory service derives them (null: our own host). */
export function domainsOf(territory: TerritoryColumns, publicHost: string): { federationDomain: string; matrixDomain: string } {
  const federationDomain = territory.federationDomain ?? publicHost;
  return { federationDomain, matrixDomain: territory.matrixDomain ?? federationDomain };
}

export function toPublicIdentity(record: IdentityRecord, publicHost: string): PublicIdentity {
  const current = domainsOf(record.territory, publicHost);
  const old = record.aliases.map((alias) => ({ code: alias.code, ...domainsOf(alias, publicHost) }));
  const acct = acctOf(record.handle, current);
  return {
    handle: record.handle,
    displayName: record.displayName,
    avatarUrl: record.avatarUrl,
    address: addressOf(record.handle, record.territory.code),
    matrixId: matrixIdOf(record.handle, current),
    acct,
    aliases: old.flatMap((alias) => [addressOf(record.handle, alias.code), matrixIdOf(record.handle, alias)]),
    // Two territories on our own host share a domain: the old resource is then the current one.
    oldAccts: [...new Set(old.map((alias) => acctOf(record.handle, alias)))].filter((old) => old !== acct),
    publicKeyHash: record.publicKeyHash,
    did: record.publicKey ? didKeyOf(record.publicKey) : null,
    territory: { code: record.territory.code, name: record.territory.name },
  };
}

/**
 * Which territory an `acct:` host names for this identity: the current one, an old one (a moved
 * person, RFC 7033 §4.4.1: the answer carries the new subject), or none. A territory answers for
 * its federation domain, or for its code (as `territories.byDomain`).
 */
export function answersFor(record: IdentityRecord, host: string, publicHost: string): 'current' | 'alias' | null {
  const matches = (territory: TerritoryColumns, byCode: boolean) =>
    byCode ? territory.code === host : domainsOf(territory, publicHost).federationDomain === host;
  for (const byCode of [false, true]) {
    if (matches(record.territory, byCode)) return 'current';
    if (record.aliases.some((alias) => matches(alias, byCode))) return 'alias';
  }
  return null;
}

export type AcctResource = { readonly handle: string; readonly host: string };

/**
 * Parses a WebFinger resource as an `acct:` URI (RFC 7565): `acct:userpart@host`, the userpart
 * percent-decoded. Null for anything else (another scheme, no `@`, an empty part), which the caller
 * refuses as malformed. A handle that cannot exist still parses: it is simply not found.
 * `ownHost` (PUBLIC_ORIGIN's host, with its port) is read as `publicHost`, so a development server
 * on `localhost:3000` answers `acct:alice@localhost:3000`.
 */
export function parseAcct(resource: string, ownHost: string, publicHost: string): AcctResource | null {
  const match = /^acct:([^@/?#\s]+)@([^@/?#\s]+)$/i.exec(resource.trim());
  if (!match) return null;
  let userpart: string;
  try {
    userpart = decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
  const host = match[2]!.toLowerCase().replace(/\.$/, '');
  if (host === '' || userpart === '') return null;
  return { handle: normalizeHandle(userpart), host: host === ownHost.toLowerCase() ? publicHost : host };
}

/** A handle as typed (any case), or null when it cannot be one: no database read is needed. */
export function handleFromInput(input: string): string | null {
  const handle = normalizeHandle(input);
  return isHandle(handle) ? handle : null;
}

export interface JrdLink {
  readonly rel: string;
  readonly type?: string;
  readonly href: string;
}

/** A fresh object per answer (so its arrays are plain ones, as the serializer takes them). */
export interface Jrd {
  readonly subject: string;
  readonly aliases: string[];
  readonly properties: Record<string, string>;
  readonly links: JrdLink[];
}

export const PROFILE_PAGE_REL = 'http://webfinger.net/rel/profile-page';
export const AVATAR_REL = 'http://webfinger.net/rel/avatar';
/** The display name, as the WebFinger property registry names it. */
export const NAME_PROPERTY = 'http://packetizer.com/ns/name';

/**
 * The Matrix URI of a user (Matrix spec, "Matrix URI scheme": `matrix:u/localpart:server`), the
 * standard way to name a Matrix id as a URI, which a JRD alias must be.
 */
export function matrixUriOf(matrixId: string): string {
  return `matrix:u/${matrixId.slice(1)}`;
}

/**
 * The JRD of an identity (RFC 7033 §4.4): the current `acct:` as subject, whatever address was
 * asked; its profile URL, Matrix URI, did:key and old addresses as aliases; links filtered by
 * `rels` when any are given (§4.3: only links whose rel is one of them; the rest is unchanged).
 */
export function jrdOf(identity: PublicIdentity, profileUrl: string, rels: readonly string[]): Jrd {
  const links: JrdLink[] = [
    { rel: 'self', type: 'application/json', href: profileUrl },
    { rel: PROFILE_PAGE_REL, href: profileUrl },
    ...(identity.avatarUrl ? [{ rel: AVATAR_REL, href: identity.avatarUrl }] : []),
  ];
  return {
    subject: identity.acct,
    aliases: [profileUrl, matrixUriOf(identity.matrixId), ...(identity.did ? [identity.did] : []), ...identity.oldAccts],
    properties: { [NAME_PROPERTY]: identity.displayName },
    links: rels.length === 0 ? links : links.filter((link) => rels.includes(link.rel)),
  };
}

/** Where the identity is served: `<PUBLIC_ORIGIN>/identities/<handle>`. */
export function profileUrlOf(publicOrigin: string, handle: string): string {
  return `${publicOrigin.replace(/\/$/, '')}/identities/${handle}`;
}
