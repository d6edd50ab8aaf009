import { api } from '../api/client.ts';

export type PrivacyMode = 'linked' | 'partial' | 'isolated';

export interface GraphAccount {
  readonly ref: string;
  readonly type: string;
  readonly identifier: string;
  readonly provider: string | null;
  readonly verified: boolean;
  readonly privacyMode: PrivacyMode;
  readonly selectedProfileIds: readonly string[];
  readonly current: boolean;
  readonly did: string | null;
}

export interface GraphLink {
  readonly from: string;
  readonly to: string;
  readonly linkType: 'direct';
}

export interface GraphProfile {
  readonly id: string;
  readonly displayName: string;
  readonly handle: string | null;
}

export interface IdentityGraph {
  readonly accounts: readonly GraphAccount[];
  readonly links: readonly GraphLink[];
  readonly profiles: readonly GraphProfile[];
}

export const graphApi = {
  read: () => api.get<IdentityGraph>('/api/v2/auth/identity-graph'),
  setPrivacy: (account: string, privacyMode: PrivacyMode, profileIds?: readonly string[]) =>
    api.put('/api/v2/auth/link-privacy', { account, privacyMode, ...(privacyMode === 'partial' ? { profileIds } : {}) }),
  unlink: (ref: string) => api.delete(`/api/v2/auth/accounts/${encodeURIComponent(ref)}`),
  link: (targetType: string, proof: Record<string, unknown>) => api.post('/api/v2/auth/link-accounts', { targetType, proof }),
  /** Brings this browser's guest identity (its anon_id cookie is the proof) along: its personas join the person. */
  bringGuestAlong: () => api.post<IdentityGraph>('/api/v2/auth/link-accounts', { targetType: 'guest' }),
};
