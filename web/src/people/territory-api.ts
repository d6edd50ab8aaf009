import { api } from '../api/client.ts';

export interface Territory {
  readonly code: string;
  readonly name: string;
  readonly federationDomain: string;
  readonly matrixDomain: string;
  readonly inviteOnly: boolean;
  readonly isDefault: boolean;
}

export interface Citizenship {
  readonly territory: { readonly code: string; readonly name: string };
  readonly primary: boolean;
  readonly since: string;
}

export interface Invitation {
  readonly id: string;
  readonly territory: string;
  readonly kind: 'single_use' | 'group';
  readonly maxUses: number | null;
  readonly uses: number;
  readonly expiresAt: string | null;
  readonly hasEmail: boolean;
  readonly state: 'usable' | 'revoked' | 'expired' | 'used-up';
}

export interface CreatedInvitation {
  readonly invitation: Invitation;
  readonly inviteLink: string;
  readonly qr: { readonly svg: string; readonly png: string };
  readonly emailSent: boolean | null;
}

export interface InvitationPreview {
  readonly territory: { readonly code: string; readonly name: string };
  readonly kind: 'single_use' | 'group';
  readonly expiresAt: string | null;
  readonly usable: boolean;
  readonly reason?: 'revoked' | 'expired' | 'used-up' | 'territory-closed';
  readonly invitedHandle: string | null;
  readonly emailRequired: boolean;
}

export const territoryApi = {
  territories: async () => (await api.get<{ territories: Territory[] }>('/territories')).territories,
  citizenships: async () => (await api.get<{ citizenships: Citizenship[] }>('/api/v2/federation/citizenships')).citizenships,
  endCitizenship: (code: string) => api.delete(`/api/v2/federation/citizenships/${encodeURIComponent(code)}`),
  move: (to: string, dualCitizenship: boolean, invitation?: string) =>
    api.post('/api/v2/federation/moves', { to, dualCitizenship, ...(invitation ? { invitation } : {}) }),
  invitations: async () => (await api.get<{ invitations: Invitation[] }>('/invitations')).invitations,
  invite: (body: { territory?: string; kind: 'single_use' | 'group'; email?: string }) => api.post<CreatedInvitation>('/invitations', body),
  revoke: (id: string) => api.post(`/invitations/${encodeURIComponent(id)}/revoke`),
  // The token goes in a body, never a URL: URLs get logged (docs/invitations.md).
  inspect: (token: string) => api.post<InvitationPreview>('/invitations/inspect', { token }),
};
