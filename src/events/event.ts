/**
 * The events the service emits, one per kind of state change. Payloads name what changed by its ids
 * (internal ids included: consumers are the operator's own systems, as spec 002 lists them), never an
 * email address, a password, a token or identity data.
 */
export interface EventPayloads {
  PersonaCreated: { personaId: string; accountabilityProfileId: string; trustLevel: string };
  PersonaRotated: { oldPersonaId: string; newPersonaId: string; accountabilityProfileId: string };
  PersonaDeactivated: { personaId: string; reason: string };
  PersonaReactivated: { personaId: string };
  PersonaDeleted: { personaId: string; purgeAfter: string };
  PersonaPurged: { personaId: string };
  PersonaFlagged: { personaId: string; accountabilityProfileId: string; reason: string };
  PersonaTrustChanged: { personaId: string; trustLevel: string };
  AccountRegistered: { accountId: string; accountabilityProfileId: string; accountType: string };
  AccountSignedIn: { accountId: string; accountabilityProfileId: string };
  AccountsLinked: { fromAccountId: string; toAccountId: string; kind: string; accountabilityProfileId: string };
  PersonBanned: { accountabilityProfileId: string };
  PersonUnbanned: { accountabilityProfileId: string };
  AccountabilityChanged: { accountabilityProfileId: string; changes: Record<string, unknown> };
  LegalHoldChanged: { accountabilityProfileId: string; legalHold: boolean };
  AppealOpened: { appealId: string; personaId: string; accountabilityProfileId: string };
  AppealResolved: { appealId: string; status: string };
  SpaceJoined: { spaceId: string; personaId: string };
  SpaceLeft: { spaceId: string; personaId: string };
  InvitationCreated: { invitationId: string; territory: string; kind: string; createdBy: 'person' | 'admin' };
  InvitationRevoked: { invitationId: string; territory: string };
  InvitationRedeemed: { invitationId: string; territory: string; accountabilityProfileId: string; purpose: string };
  PolicyChanged: { name: string; value: unknown };
  AccountVerified: { accountId: string; accountabilityProfileId: string; accountType: string };
  AccountsUnlinked: { accountId: string; accountabilityProfileId: string };
  AccountsMerged: { fromAccountabilityProfileId: string; intoAccountabilityProfileId: string };
  PrivacyModeChanged: { accountId: string; accountabilityProfileId: string; privacyMode: string };
  SessionRevoked: { sessionId: string; accountabilityProfileId: string; reason: string };
  PasskeyCounterRegressed: { accountId: string; accountabilityProfileId: string };
  IdentityDeleted: { accountabilityProfileId: string; purgeAfter: string };
  PasswordChanged: { accountId: string; accountabilityProfileId: string };
  HandleClaimed: { handle: string; personaId: string; accountabilityProfileId: string };
  HandleMoved: { handle: string; fromPersonaId: string; toPersonaId: string; accountabilityProfileId: string };
  PersonaMoved: { accountabilityProfileId: string; fromTerritory: string; toTerritory: string; dualCitizenship: boolean; moveId: string };
  CitizenshipEnded: { accountabilityProfileId: string; territory: string };
  RecoveryCodeUsed: { accountId: string; accountabilityProfileId: string };
  RecoveryCodesRegenerated: { accountId: string; accountabilityProfileId: string };
}

export type EventType = keyof EventPayloads;

export const EVENT_TYPES = [
  'PersonaCreated',
  'PersonaRotated',
  'PersonaDeactivated',
  'PersonaReactivated',
  'PersonaDeleted',
  'PersonaPurged',
  'PersonaFlagged',
  'PersonaTrustChanged',
  'AccountRegistered',
  'AccountSignedIn',
  'AccountsLinked',
  'PersonBanned',
  'PersonUnbanned',
  'AccountabilityChanged',
  'LegalHoldChanged',
  'AppealOpened',
  'AppealResolved',
  'SpaceJoined',
  'SpaceLeft',
  'InvitationCreated',
  'InvitationRevoked',
  'InvitationRedeemed',
  'PolicyChanged',
  'AccountVerified',
  'AccountsUnlinked',
  'AccountsMerged',
  'PrivacyModeChanged',
  'SessionRevoked',
  'PasskeyCounterRegressed',
  'IdentityDeleted',
  'PasswordChanged',
  'HandleClaimed',
  'HandleMoved',
  'PersonaMoved',
  'CitizenshipEnded',
  'RecoveryCodeUsed',
  'RecoveryCodesRegenerated',
] as const satisfies readonly EventType[];

/** An event about to be written. */
export type NewEvent = { [T in EventType]: { readonly type: T; readonly payload: EventPayloads[T] } }[EventType];

/** An event as sinks receive it: the id lets consumers drop a redelivery (delivery is at least once). */
export interface DeliveredEvent {
  readonly id: string;
  readonly type: EventType;
  readonly payload: Record<string, unknown>;
  readonly occurredAt: string;
}

/** The JSON body of an event as NATS messages and webhook requests carry it. */
export function serializeEvent(event: DeliveredEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, occurredAt: event.occurredAt, payload: event.payload });
}
