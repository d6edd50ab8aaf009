import { api } from '../api/client.ts';
import type { TrustLevel } from '../api/types.ts';

/** A persona as its owner sees it (GET /personas), with its handle once claimed. */
export interface Persona {
  readonly id: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly trustLevel: TrustLevel;
  readonly createdAt: string;
  readonly verified: boolean;
  readonly active: boolean;
  readonly authorId: string;
  readonly restorableUntil: string | null;
  readonly handle: string | null;
}

/** The public identity behind a handle (GET /identities/{handle}): the addresses others reach the persona by. */
export interface PublicIdentity {
  readonly handle: string;
  readonly address: string;
  readonly matrixId: string;
  readonly publicKeyHash: string;
  readonly did?: string;
  readonly aliases: readonly string[];
}

const path = (id: string, action = '') => `/personas/${encodeURIComponent(id)}${action}`;

export const personaApi = {
  list: async () => (await api.get<{ personas: Persona[] }>('/personas')).personas,
  create: (displayName: string) => api.post('/personas', { displayName }),
  /** The persona retires; its successor (a new id and name) is answered. */
  rotate: (id: string, newDisplayName: string) => api.post<{ persona: { id: string; displayName: string } }>(path(id, '/rotate'), { newDisplayName }),
  deactivate: (id: string) => api.post(path(id, '/deactivate')),
  reactivate: (id: string) => api.post(path(id, '/reactivate')),
  deletePermanently: (id: string) => api.post<{ deleted: true; purgeAfter: string }>(path(id, '/delete-permanent')),
  actAs: (personaId: string) => api.put('/session/active-persona', { personaId }),
  claimHandle: async (id: string, handle: string) => (await api.put<{ handle: string }>(path(id, '/handle'), { handle })).handle,
  /** Gives persona `id`'s handle to `toPersonaId`, another of the person's live personas without one. */
  moveHandle: (id: string, toPersonaId: string) => api.post(path(id, '/handle/move'), { toPersonaId }),
  identity: async (handle: string) => (await api.get<{ identity: PublicIdentity }>(`/identities/${encodeURIComponent(handle)}`)).identity,
};
