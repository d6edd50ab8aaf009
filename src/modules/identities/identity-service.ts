import { LRUCache } from 'lru-cache';
import type { TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import { limiterKey, refuseIfThrottled } from '../../rate-limit/attempt-limiter.js';
import type { LookupGate } from '../../rate-limit/lookup-gate.js';
import type { IdentityCache } from './identity-cache.js';
import type { IdentityRepository } from './identity-repository.js';
import type { IdentityRecord } from './identity.js';
import { answersFor, handleFromInput, jrdOf, parseAcct, profileUrlOf, toPublicIdentity, type PublicIdentity } from './identity.js';

/** How many clients' counter keys are remembered, and for how long (a burst of lookups, not a day). */
const CLIENT_KEYS_KEPT = 10_000;
const CLIENT_KEY_TTL_MS = 60_000;

export interface IdentityService {
  /**
   * The public identity of a live persona's handle (any case), or 404 IDENTITY_NOT_FOUND; counted
   * against `client` (its address): 429 TOO_MANY_ATTEMPTS with Retry-After beyond the limit.
   */
  lookup(client: string, handle: string): Promise<PublicIdentity>;
  /**
   * The JRD for an `acct:` resource (RFC 7033): 400 VALIDATION_FAILED when it is not one, 404
   * IDENTITY_NOT_FOUND for an unknown or retired handle or a domain none of its territories answers;
   * counted against `client` as `lookup`. Answered serialized: the usual request (no `rel`) is served
   * the same bytes for as long as the identity is cached.
   */
  webfinger(client: string, resource: string, rels: readonly string[]): Promise<string>;
}

export interface IdentityServiceDeps {
  readonly identities: IdentityRepository;
  /** Live identities already read, each under the identity generation it was read at. */
  readonly cache: IdentityCache;
  /** Counts the lookup and reads the identity generation, in one step. */
  readonly gate: LookupGate;
  readonly hasher: TokenHasher;
  readonly limits: { readonly perClient: number; readonly windowSeconds: number };
  /** PUBLIC_ORIGIN: where identities are served, and the host of territories that name no domain. */
  readonly publicOrigin: string;
}

export function createIdentityService({ identities, cache, gate, hasher, limits, publicOrigin }: IdentityServiceDeps): IdentityService {
  const origin = new URL(publicOrigin);
  const notFound = () => new AppError('IDENTITY_NOT_FOUND', 'No live identity answers to this handle.');

  // The counter's key is a keyed hash: the limiter's store never holds a client address in the clear.
  // A client looks up many handles in a row, so its key is remembered for a while rather than
  // recomputed: the HMAC was a tenth of a cached lookup's CPU. Only this process's memory holds the
  // addresses, as it holds the requests that carry them.
  const clientKeys = new LRUCache<string, string>({ max: CLIENT_KEYS_KEPT, ttl: CLIENT_KEY_TTL_MS, ttlAutopurge: false });
  const counterKeyOf = (client: string) => {
    let key = clientKeys.get(client);
    if (key === undefined) {
      key = limiterKey(hasher, 'lookup-client', client);
      clientKeys.set(client, key);
    }
    return key;
  };

  // A cached record is served many times: its public form (addresses, aliases, did:key) is derived
  // once per record, not per request. Keyed weakly, so it goes with the record.
  const publicForms = new WeakMap<IdentityRecord, PublicIdentity>();
  const publicFormOf = (record: IdentityRecord) => {
    let identity = publicForms.get(record);
    if (!identity) {
      identity = toPublicIdentity(record, origin.hostname);
      publicForms.set(record, identity);
    }
    return identity;
  };
  // WebFinger without `rel` (nearly every request) answers the same JRD for a cached record: it is
  // serialized once, which was most of what a cached WebFinger cost beyond GET /identities.
  const fullJrds = new WeakMap<PublicIdentity, string>();
  const jrdTextOf = (identity: PublicIdentity, rels: readonly string[]) => {
    if (rels.length > 0) return JSON.stringify(jrdOf(identity, profileUrlOf(publicOrigin, identity.handle), rels));
    let text = fullJrds.get(identity);
    if (text === undefined) {
      text = JSON.stringify(jrdOf(identity, profileUrlOf(publicOrigin, identity.handle), []));
      fullJrds.set(identity, text);
    }
    return text;
  };

  /** Counts the lookup (refusing beyond the limit) and answers the identity generation read with the count. */
  const admit = async (client: string) => {
    const { generation, ...reservation } = await gate.admit(counterKeyOf(client), limits.perClient, limits.windowSeconds);
    refuseIfThrottled(reservation);
    return generation;
  };

  /** `generation` was read before the database: see IdentityCache for why that order keeps the cache strict. */
  const find = async (handle: string | null, generation: string) => {
    if (handle === null) throw notFound();
    const cached = cache.get(handle, generation);
    if (cached) return cached;
    const record = await identities.findLive(handle);
    if (!record) throw notFound();
    cache.set(handle, record, generation);
    return record;
  };

  return {
    async lookup(client, input) {
      const generation = await admit(client);
      return publicFormOf(await find(handleFromInput(input), generation));
    },

    async webfinger(client, resource, rels) {
      const generation = await admit(client);
      const acct = parseAcct(resource, origin.host, origin.hostname);
      if (!acct) throw new AppError('VALIDATION_FAILED', 'The resource must be an acct: URI, acct:handle@domain (RFC 7565).');
      const record = await find(handleFromInput(acct.handle), generation);
      // The handle exists, but is it answered at this domain? Its current territory, or one it left.
      if (answersFor(record, acct.host, origin.hostname) === null) throw notFound();
      return jrdTextOf(publicFormOf(record), rels);
    },
  };
}
