import { ApiError, api, type RequestOptions } from '../api/client.ts';
import type { Accountability, AdminIdentity, AdminPersona, Appeal, AppealStatus, AuditEntry, AuditQuery, FlagQueueItem, Person, PersonaFlag, Policy, RiskLevel, SignInMethods, TrustLevel } from './staff-types.ts';

/** A ban names its person through one of their personas (author ids and person hashes also work on the API). */
type BanSubject = { readonly personaId: string };

const query = (params: Record<string, string | undefined>) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
};

/**
 * The admin API, bound to one token. The token lives in memory only (staff-auth.ts) and goes out as a
 * bearer header: it is never in a cookie, so no other tab or site can ride on it.
 */
export function staffApi(token: string, onRefused: () => void = () => {}) {
  const auth: RequestOptions = { headers: { authorization: `Bearer ${token}` } };
  // A token revoked mid-session is refused on its next use: the console forgets it rather than keep failing.
  const guard = <T,>(pending: Promise<T>): Promise<T> =>
    pending.catch((error: unknown) => {
      if (error instanceof ApiError && error.code === 'ADMIN_UNAUTHORIZED') onRefused();
      throw error;
    });
  const http = {
    get: <T,>(path: string) => guard(api.get<T>(path, auth)),
    post: <T,>(path: string, body: unknown) => guard(api.post<T>(path, body, auth)),
    put: <T,>(path: string, body: unknown) => guard(api.put<T>(path, body, auth)),
    delete: <T,>(path: string) => guard(api.delete<T>(path, auth)),
  };
  const person = (profileId: string) => `/admin/people/${encodeURIComponent(profileId)}`;
  const setting = (profileId: string, name: string, body: unknown) =>
    http.put<{ accountability: Accountability }>(`${person(profileId)}/${name}`, body).then((answer) => answer.accountability);
  return {
    me: () => http.get<AdminIdentity>('/admin/me'),
    flags: (after?: string) => http.get<{ flags: FlagQueueItem[] }>(`/admin/flags${query({ limit: '50', after })}`).then((a) => a.flags),
    lookupPersona: (personaId: string) =>
      http.get<{ persona: AdminPersona; person: Person }>(`/admin/personas/${encodeURIComponent(personaId)}`),
    lookupPerson: (profileId: string) => http.get<{ person: Person }>(person(profileId)).then((answer) => answer.person),
    signInMethods: (profileId: string) => http.get<SignInMethods>(`${person(profileId)}/sign-in-methods`),
    /** The admin role only. */
    setTrustLevel: (personaId: string, trustLevel: TrustLevel) =>
      http.post<{ persona: { id: string; trustLevel: TrustLevel; trustGrantedAt: string } }>(`/admin/personas/${encodeURIComponent(personaId)}/trust-level`, { trustLevel }),
    flag: (personaId: string, reason: string) =>
      http.post<{ flag: PersonaFlag }>(`/admin/personas/${encodeURIComponent(personaId)}/flags`, { reason }),
    setAbuseScore: (profileId: string, score: number) => setting(profileId, 'abuse-score', { score }),
    setRiskLevel: (profileId: string, riskLevel: RiskLevel) => setting(profileId, 'risk-level', { riskLevel }),
    setVerified: (profileId: string, verified: boolean) => setting(profileId, 'verified', { verified }),
    setLegalHold: (profileId: string, legalHold: boolean) => setting(profileId, 'legal-hold', { legalHold }),
    ban: (subject: BanSubject, reason: string) => http.post('/admin/bans', { subject, reason }),
    unban: (subject: BanSubject) => http.post('/admin/bans/lift', { subject }),
    appeals: (status: AppealStatus) => http.get<{ appeals: Appeal[] }>(`/admin/appeals${query({ status, limit: '100' })}`).then((a) => a.appeals),
    openAppeal: (personaId: string, statement: string) => http.post<{ appeal: Appeal }>('/admin/appeals', { personaId, statement }),
    resolveAppeal: (id: string, decision: { status: 'upheld' | 'overturned'; resolution: string; abuseScore?: number }) =>
      http.post<{ appeal: Appeal; accountability: Accountability | null }>(`/admin/appeals/${encodeURIComponent(id)}/resolve`, decision),
    legalHolds: () => http.get<{ people: Accountability[] }>('/admin/legal-holds').then((answer) => answer.people),
    policies: () => http.get<{ policies: Policy[] }>('/admin/policies').then((answer) => answer.policies),
    setPolicy: (name: string, value: unknown) => http.put<{ policy: Policy }>(`/admin/policies/${encodeURIComponent(name)}`, { value }),
    resetPolicy: (name: string) => http.delete<{ policy: Policy }>(`/admin/policies/${encodeURIComponent(name)}`),
    audit: (filter: AuditQuery) => http.get<{ entries: AuditEntry[] }>(`/admin/audit${query({ ...filter, limit: '50' })}`).then((a) => a.entries),
  };
}

export type StaffApi = ReturnType<typeof staffApi>;
