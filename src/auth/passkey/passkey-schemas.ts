import Type, { type Static } from 'typebox';

/**
 * What a browser's `PublicKeyCredential.toJSON()` sends (WebAuthn L3 §5.1), with every string capped
 * and shaped. Caps leave room for the largest real values: a credential id is at most 1023 bytes
 * (§5.8.3), an ML-DSA-44 signature 2420 bytes, a packed attestation carries a certificate chain.
 */
const base64url = (maxLength: number, description?: string) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength, ...(description ? { description } : {}) });

const CredentialId = base64url(1366, 'The credential id, base64url (id and rawId are the same string).');

const common = {
  id: CredentialId,
  rawId: CredentialId,
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')])),
  // Outputs of extensions (credProps, which the registration options ask for); nothing here is read.
  clientExtensionResults: Type.Object({}, { additionalProperties: true, maxProperties: 16 }),
};

export const RegistrationResponse = Type.Object(
  {
    ...common,
    response: Type.Object(
      {
        clientDataJSON: base64url(4096),
        attestationObject: base64url(32768),
        authenticatorData: Type.Optional(base64url(8192)),
        transports: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z-]{0,31}$' }), { maxItems: 10, uniqueItems: true })),
        publicKeyAlgorithm: Type.Optional(Type.Integer({ minimum: -65535, maximum: 65535 })),
        publicKey: Type.Optional(base64url(4096)),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'RegistrationResponseJSON (navigator.credentials.create() → toJSON()).' },
);

export const AuthenticationResponse = Type.Object(
  {
    ...common,
    response: Type.Object(
      {
        clientDataJSON: base64url(4096),
        authenticatorData: base64url(8192),
        signature: base64url(8192),
        userHandle: Type.Optional(base64url(128)),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'AuthenticationResponseJSON (navigator.credentials.get() → toJSON()).' },
);

export type RegistrationResponseBody = Static<typeof RegistrationResponse>;
export type AuthenticationResponseBody = Static<typeof AuthenticationResponse>;

export const PasskeyChallengeBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('register'), Type.Literal('authenticate')], {
      description: '`register` makes a new passkey (a new account, or one to link); `authenticate` signs in with one.',
    }),
  },
  { additionalProperties: false },
);

export const PasskeyChallengeResponse = Type.Object(
  {
    options: Type.Unknown({
      description:
        'PublicKeyCredentialCreationOptionsJSON (register) or PublicKeyCredentialRequestOptionsJSON (authenticate), ' +
        'for PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON.',
    }),
  },
  { additionalProperties: false },
);

export const PasskeyProofBody = Type.Object(
  { response: Type.Union([RegistrationResponse, AuthenticationResponse]) },
  { additionalProperties: false },
);
