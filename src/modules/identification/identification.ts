/** Identity data a person chose to attach, with when they consented. */
export interface IdentityLink {
  readonly identityData: Record<string, unknown>;
  readonly consentedAt: string;
}

/** The purpose label for keys derived from the token; see crypto/token-derived-keys.ts. */
export const IDENTITY_LINK_PURPOSE = 'identity-link';
