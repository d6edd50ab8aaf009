import { ApiError, api } from '../api/client.ts';

const absentAs = <T>(code: string, value: T) => (error: unknown): T => {
  if (error instanceof ApiError && error.code === code) return value;
  throw error;
};

const walletPath = (personaId: string) => `/api/v2/profiles/${encodeURIComponent(personaId)}/session-wallet`;

/** The account screen's calls (docs/auth-methods.md: Passwords, Recovery codes, Deleting your identity, Session wallets). */
export const accountApi = {
  /** Needs step-up; every other session of the account ends. */
  changePassword: (newPassword: string) =>
    api.put<{ passwordSet: true; otherSessionsEnded: number }>('/api/v2/auth/password', { newPassword }),
  /** Unused recovery codes left; null when the account has none to have (only a handle account without email has them). */
  remainingRecoveryCodes: () =>
    api.get<{ remaining: number }>('/api/v2/auth/recovery-codes').then(({ remaining }) => remaining, absentAs('VALIDATION_FAILED', null)),
  /** Needs step-up; the new codes are answered this once, and every earlier code stops working. */
  regenerateRecoveryCodes: async () => (await api.post<{ recoveryCodes: string[] }>('/api/v2/auth/recovery-codes')).recoveryCodes,
  /** The persona's session wallet address, or null before it has one. */
  sessionWallet: (personaId: string) =>
    api.get<{ address: string }>(walletPath(personaId)).then(({ address }) => address, absentAs('NOT_FOUND', null)),
  createSessionWallet: async (personaId: string) => (await api.post<{ address: string }>(walletPath(personaId))).address,
  /** Needs step-up (a guest needs none); refused under a legal hold. */
  deleteIdentity: () => api.delete<{ deleted: true; purgeAfter: string }>('/api/v2/auth/identity'),
};
