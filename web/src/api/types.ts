/** The public shapes the service answers (see GET /openapi.json); only what the app reads. */

export type TrustLevel = 'NEW' | 'REGULAR' | 'TRUSTED';

export interface SessionPersona {
  readonly id: string;
  readonly displayName: string;
  readonly trustLevel: TrustLevel;
  readonly authorId: string;
  readonly verified: boolean;
}

export interface PublicSession {
  readonly started: boolean;
  readonly anonymous: boolean;
  readonly banned: boolean;
  readonly persona: SessionPersona | null;
}

export interface AuthenticatedAnswer {
  readonly isNewUser: boolean;
  readonly profiles: ReadonlyArray<{ id: string; name: string; isActive: boolean; trustLevel: TrustLevel }>;
}
