import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { cose, isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A WebAuthn authenticator and client in software, for tests: ES256 (P-256) credentials whose
 * ceremonies produce what a browser's `PublicKeyCredential.toJSON()` sends, with real authenticator
 * data (rpIdHash, flags, signature counter, attested credential data with a COSE key), real
 * clientDataJSON and real ECDSA signatures over `authData ‖ SHA-256(clientDataJSON)` (WebAuthn §6.3.3).
 * Attestation is `none`. Every field a relying party checks can be set wrong, for negative cases.
 */

/** One credential the authenticator holds: its id, P-256 key pair and signature counter. */
export interface SoftwareCredential {
  readonly id: string; // base64url
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly rpId: string;
  readonly userHandle: string; // base64url
  /** The counter the next assertion reports is this plus one (then this becomes that). */
  signCount: number;
}

/** What a ceremony may get wrong on purpose; each defaults to what an honest browser does. */
export interface CeremonyOverrides {
  /** clientDataJSON's origin (default: the authenticator's origin). */
  readonly origin?: string;
  /** The RP ID hashed into authenticator data (default: the options' RP ID). */
  readonly rpId?: string;
  /** clientDataJSON's challenge (default: the options' challenge). */
  readonly challenge?: string;
  /** clientDataJSON's type (default: webauthn.create / webauthn.get). */
  readonly type?: string;
  /** The UP flag (default true). */
  readonly userPresent?: boolean;
  /** The UV flag (default true). */
  readonly userVerified?: boolean;
  /** The signature counter to report (default: the credential's counter plus one; 0 at registration). */
  readonly signCount?: number;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
/** A software authenticator has no certified model: the all-zero AAGUID, as attestation `none` sends. */
const AAGUID = new Uint8Array(16);

export class SoftwareAuthenticator {
  readonly credentials: SoftwareCredential[] = [];

  /** `origin` is where the "browser" runs (the relying party's public origin in honest ceremonies). */
  constructor(readonly origin: string) {}

  /**
   * `navigator.credentials.create()`: makes a new credential (or, with `credentialId`, one that
   * claims an existing id under a fresh key) and answers the registration response.
   */
  register(
    options: PublicKeyCredentialCreationOptionsJSON,
    overrides: CeremonyOverrides & { readonly credentialId?: string } = {},
  ): { response: RegistrationResponseJSON; credential: SoftwareCredential } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const credential: SoftwareCredential = {
      id: overrides.credentialId ?? randomBytes(16).toString('base64url'),
      privateKey,
      publicKey,
      rpId,
      userHandle: options.user.id,
      signCount: overrides.signCount ?? 0,
    };
    const idBytes = Buffer.from(credential.id, 'base64url');
    const coseKey = coseP256Key(publicKey);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(idBytes.length);
    const authData = Buffer.concat([
      authDataHead(overrides.rpId ?? rpId, flags(overrides) | FLAG_AT, credential.signCount),
      AAGUID,
      idLength,
      idBytes,
      coseKey,
    ]);
    const clientDataJSON = this.#clientData('webauthn.create', options.challenge, overrides);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    this.credentials.push(credential);
    return {
      credential,
      response: {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        authenticatorAttachment: 'platform',
        clientExtensionResults: { credProps: { rk: true } },
        response: {
          clientDataJSON,
          attestationObject: Buffer.from(attestationObject).toString('base64url'),
          authenticatorData: authData.toString('base64url'),
          transports: ['internal', 'hybrid'],
          publicKeyAlgorithm: cose.COSEALG.ES256,
          publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64url'),
        },
      },
    };
  }

  /**
   * `navigator.credentials.get()`: signs the challenge with a credential (the first allowed one, or
   * the given one, or the newest for a discoverable sign-in) and advances its counter.
   */
  authenticate(
    options: PublicKeyCredentialRequestOptionsJSON,
    overrides: CeremonyOverrides & { readonly credential?: SoftwareCredential } = {},
  ): AuthenticationResponseJSON {
    const credential = overrides.credential ?? this.#pick(options);
    const signCount = overrides.signCount ?? credential.signCount + 1;
    credential.signCount = signCount;
    const authData = authDataHead(overrides.rpId ?? options.rpId ?? credential.rpId, flags(overrides), signCount);
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge, overrides);
    const clientDataHash = createHash('sha256').update(Buffer.from(clientDataJSON, 'base64url')).digest();
    // ES256: ECDSA P-256 with SHA-256, DER-encoded as WebAuthn expects (node's default encoding).
    const signature = sign('sha256', Buffer.concat([authData, clientDataHash]), credential.privateKey);
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON,
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
    };
  }

  #pick(options: PublicKeyCredentialRequestOptionsJSON): SoftwareCredential {
    const allowed = options.allowCredentials ?? [];
    const found = allowed.length
      ? this.credentials.find((credential) => allowed.some((allow) => allow.id === credential.id))
      : this.credentials.at(-1);
    if (!found) throw new Error('the software authenticator holds no matching credential');
    return found;
  }

  #clientData(type: string, challenge: string, overrides: CeremonyOverrides): string {
    const data = {
      type: overrides.type ?? type,
      challenge: overrides.challenge ?? challenge,
      origin: overrides.origin ?? this.origin,
      crossOrigin: false,
    };
    return Buffer.from(JSON.stringify(data), 'utf8').toString('base64url');
  }
}

/** Flips bits of one byte of a base64url value (a byte of authenticator data, of a signature); negative counts from the end. */
export function flipBit(base64url: string, byteIndex: number, mask = 0x01): string {
  const bytes = Buffer.from(base64url, 'base64url');
  const index = byteIndex < 0 ? bytes.length + byteIndex : byteIndex;
  bytes[index] = (bytes[index] ?? 0) ^ mask;
  return bytes.toString('base64url');
}

function flags(overrides: CeremonyOverrides): number {
  return (overrides.userPresent === false ? 0 : FLAG_UP) | (overrides.userVerified === false ? 0 : FLAG_UV);
}

/** rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian): the 37 bytes every authenticator data starts with. */
function authDataHead(rpId: string, flagBits: number, signCount: number): Buffer {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(signCount);
  return Buffer.concat([createHash('sha256').update(rpId, 'utf8').digest(), Buffer.from([flagBits]), counter]);
}

/** The credential public key as a COSE_Key (RFC 9053 §7.1.1): kty EC2, alg ES256, crv P-256, x, y. */
function coseP256Key(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new Error('not an EC public key');
  const key = new Map<number, number | Uint8Array>([
    [cose.COSEKEYS.kty, cose.COSEKTY.EC2],
    [cose.COSEKEYS.alg, cose.COSEALG.ES256],
    [cose.COSEKEYS.crv, cose.COSECRV.P256],
    [cose.COSEKEYS.x, new Uint8Array(Buffer.from(jwk.x, 'base64url'))],
    [cose.COSEKEYS.y, new Uint8Array(Buffer.from(jwk.y, 'base64url'))],
  ]);
  return isoCBOR.encode(key);
}
