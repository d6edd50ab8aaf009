/** The admin API's shapes the staff console reads (see GET /openapi.json, tag "trust & safety"). */

export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH';
export type AdminRole = 'admin' | 'moderator';
export type AppealStatus = 'open' | 'upheld' | 'overturned';
export type TrustLevel = 'NEW' | 'REGULAR' | 'TRUSTED';

export interface AdminIdentity {
  readonly actor: string;
  readonly role: AdminRole;
  /** Whose token it is, as issued. */
  readonly name: string;
}

export interface Accountability {
  readonly accountabilityProfileId: string;
  readonly abuseScore: number;
  readonly riskLevel: RiskLevel;
  readonly verified: boolean;
  readonly legalHold: boolean;
  readonly banned: boolean;
  readonly bannedAt: string | null;
  readonly banReason: string | null;
  readonly createdAt: string;
}

export interface AdminPersona {
  readonly id: string;
  readonly accountabilityProfileId: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly authorId: string;
  readonly trustLevel: TrustLevel;
  readonly active: boolean;
  readonly createdAt: string;
  readonly deactivatedAt: string | null;
  readonly deletedAt: string | null;
}

export interface PersonaFlag {
  readonly id: string;
  readonly personaId: string;
  readonly reason: string;
  readonly actor: string;
  readonly createdAt: string;
}

export interface FlagQueueItem extends PersonaFlag {
  readonly displayName: string;
  readonly accountabilityProfileId: string;
  readonly personaActive: boolean;
  readonly riskLevel: RiskLevel;
  readonly banned: boolean;
}

export interface Appeal {
  readonly id: string;
  readonly personaId: string | null;
  readonly accountabilityProfileId: string;
  readonly status: AppealStatus;
  readonly statement: string;
  readonly resolution: string | null;
  readonly openedAt: string;
  readonly resolvedAt: string | null;
}

export interface InferredLink {
  readonly guestAccountabilityProfileId: string;
  readonly signedInAccountabilityProfileId: string;
  readonly confidence: number | null;
  readonly createdAt: string;
}

export interface Person {
  readonly accountability: Accountability;
  readonly personas: AdminPersona[];
  readonly flags: PersonaFlag[];
  readonly openAppeals: Appeal[];
  readonly inferredLinks: InferredLink[];
}

export interface Policy {
  readonly name: string;
  readonly value: unknown;
  readonly defaultValue: unknown;
  readonly overridden: boolean;
  readonly updatedAt: string | null;
  readonly description: string;
}

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly correlationId: string;
  readonly detail: Record<string, unknown>;
}

export interface AuditQuery {
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  /** An accountability profile id: the person and every persona of theirs. */
  readonly person?: string;
  readonly correlationId?: string;
  readonly from?: string;
  readonly to?: string;
  readonly before?: string;
}

export type PrivacyMode = 'linked' | 'partial' | 'isolated';

export interface SignInMethod {
  readonly accountId: string;
  readonly type: string;
  readonly provider: string | null;
  readonly verified: boolean;
  readonly privacyMode: PrivacyMode;
  readonly createdAt: string;
}

export interface DirectLink {
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly privacyMode: PrivacyMode | null;
  readonly createdAt: string;
}

export interface SignInMethods {
  readonly methods: SignInMethod[];
  readonly directLinks: DirectLink[];
}
