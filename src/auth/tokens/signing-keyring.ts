import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../../clock.js';
import type { DataBox } from '../../crypto/data-box.js';
import type { SigningKeyRepository } from './signing-key-repository.js';

const ALGORITHM = 'EdDSA';
const MISS_REFRESH_INTERVAL_MS = 5000;
/** Verified access tokens remembered per node (one entry is about 200 bytes). */
const VERIFIED_CACHE_ENTRIES = 100_000;

/** How long a retired key stays published: as long as a token it signed can live, plus a minute of clock skew. */
export const retiredKeyPublishSeconds = (accessTtlSeconds: number): number => accessTtlSeconds + 60;

export interface AccessTokenSettings {
  /** The `iss` and `aud` of every token: the service's public origin. */
  readonly issuer: string;
  readonly accessTtlSeconds: number;
  readonly rotationSeconds: number;
}

/** What a verified access token says: the session it stands for (its public id). */
export interface AccessClaims {
  readonly sessionId: string;
}

interface LoadedKey {
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly verifyKey: CryptoKey;
  readonly createdAt: Date;
  readonly retired: boolean;
}

/**
 * Short-lived access tokens (JWT, EdDSA over Ed25519, via `jose`) under rotating keys shared by
 * every node through the database. The newest key signs; retired keys keep verifying, and stay in
 * the JWKS, until every token they signed has expired. The private halves are stored sealed.
 *
 * Tokens carry only the session id (`sid`): whatever a request needs about the person is read
 * through the session, so revoking a session or banning a person also stops its access tokens.
 */
export class SigningKeyring {
  #keys = new Map<string, LoadedKey>();
  #signer: { kid: string; key: CryptoKey; createdAt: Date } | null = null;
  #refreshing: Promise<void> | null = null;
  #lastMissRefresh = 0;
  /**
   * Made on the first token verified. An LRUCache allocates room for all `max` entries up front
   * (about 20 ms for 100,000): every app the tests build paid it, most of them verifying no token.
   */
  #verified: LRUCache<string, { claims: AccessClaims; expiresAtMs: number }> | undefined;

  constructor(
    private readonly repository: SigningKeyRepository,
    private readonly box: DataBox,
    private readonly clock: Clock,
    private readonly settings: AccessTokenSettings,
  ) {}

  /** Loads the shared keys, making (and sealing) a first one when there is none or the newest is due. */
  async refresh(): Promise<void> {
    this.#refreshing ??= this.#load().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    let stored = await this.repository.list(retiredKeyPublishSeconds(this.settings.accessTtlSeconds));
    const newest = stored.find((key) => key.retiredAt === null);
    // A key that does not open under the configured EMAIL_KEYS (they were replaced, not rotated)
    // is retired like an old one: tokens it signed still verify until they expire.
    if (!newest || this.#isDue(newest.createdAt) || !this.box.open(['signing-key', newest.kid], newest.privateKey)) {
      await this.#rotate();
      stored = await this.repository.list(retiredKeyPublishSeconds(this.settings.accessTtlSeconds));
    }
    const keys = new Map<string, LoadedKey>();
    for (const key of stored) {
      keys.set(key.kid, {
        kid: key.kid,
        publicJwk: key.publicJwk as JWK,
        verifyKey: (await importJWK(key.publicJwk as JWK, ALGORITHM)) as CryptoKey,
        createdAt: key.createdAt,
        retired: key.retiredAt !== null,
      });
    }
    const current = stored.find((key) => key.retiredAt === null);
    if (current) {
      const privateJwk = this.box.open(['signing-key', current.kid], current.privateKey);
      if (!privateJwk) throw new Error(`The signing key ${current.kid} cannot be opened with the configured EMAIL_KEYS`);
      this.#signer = { kid: current.kid, key: (await importJWK(JSON.parse(privateJwk.toString('utf8')) as JWK, ALGORITHM)) as CryptoKey, createdAt: current.createdAt };
    }
    this.#keys = keys;
  }

  #isDue(createdAt: Date): boolean {
    return this.clock.now().getTime() - createdAt.getTime() >= this.settings.rotationSeconds * 1000;
  }

  /**
   * A new key becomes the signer and the others retire. Two nodes rotating at once each insert one;
   * the later `retireOthers` wins, and tokens signed by the loser still verify until they expire.
   */
  async #rotate(): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
    const kid = randomBytes(12).toString('base64url');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
    const sealed = this.box.seal(['signing-key', kid], Buffer.from(JSON.stringify(await exportJWK(privateKey)), 'utf8'));
    await this.repository.insert({ kid, publicJwk, privateKey: sealed });
    await this.repository.retireOthers(kid);
  }

  async sign(claims: AccessClaims): Promise<string> {
    if (!this.#signer || this.#isDue(this.#signer.createdAt)) await this.refresh();
    const signer = this.#signer;
    if (!signer) throw new Error('No signing key');
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, kid: signer.kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.accessTtlSeconds)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(signer.key);
  }

  /** The session an access token stands for, or null when it is not one of ours, expired or malformed. */
  async verify(token: string): Promise<AccessClaims | null> {
    // A client sends the same token on every request until it expires: its signature is checked
    // once per node, then the answer is remembered until `exp` (by the token's SHA-256, so the
    // memory holds no usable token). Revocation is unaffected: the session is read on every request.
    const key = createHash('sha256').update(token).digest('base64');
    const known = this.#verified?.get(key);
    if (known && known.expiresAtMs > this.clock.now().getTime()) return known.claims;
    const claims = await this.#verifySignature(token);
    if (claims) (this.#verified ??= new LRUCache({ max: VERIFIED_CACHE_ENTRIES })).set(key, claims);
    return claims?.claims ?? null;
  }

  async #verifySignature(token: string): Promise<{ claims: AccessClaims; expiresAtMs: number } | null> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.#keyFor(header.kid), {
        issuer: this.settings.issuer,
        audience: this.settings.issuer,
        algorithms: [ALGORITHM],
        typ: 'at+jwt',
        currentDate: this.clock.now(),
        clockTolerance: 5,
      });
      if (typeof payload.sid !== 'string' || typeof payload.exp !== 'number') return null;
      return { claims: { sessionId: payload.sid }, expiresAtMs: payload.exp * 1000 };
    } catch {
      return null;
    }
  }

  async #keyFor(kid: string | undefined): Promise<CryptoKey> {
    if (!kid) throw new Error('no kid');
    let key = this.#keys.get(kid);
    if (!key && Date.now() - this.#lastMissRefresh > MISS_REFRESH_INTERVAL_MS) {
      // Another node may have rotated since this one loaded: look once more (at most every few
      // seconds, so tokens with made-up key ids cannot turn into a database read each).
      this.#lastMissRefresh = Date.now();
      await this.refresh();
      key = this.#keys.get(kid);
    }
    if (!key) throw new Error('unknown kid');
    return key.verifyKey;
  }

  /** The public keys, for `/.well-known/jwks.json`. */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.#keys.size === 0 || (this.#signer && this.#isDue(this.#signer.createdAt))) await this.refresh();
    return { keys: [...this.#keys.values()].map((key) => key.publicJwk) };
  }
}
