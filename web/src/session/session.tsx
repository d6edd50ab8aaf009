import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api } from '../api/client.ts';
import type { PublicSession } from '../api/types.ts';

interface SessionState {
  /** Null while the first answer is on its way. */
  readonly session: PublicSession | null;
  readonly error: ApiError | null;
  /** Reads the session again (after a sign-in, a sign-out, a persona switch). */
  refresh(): Promise<void>;
}

const SessionContext = createContext<SessionState>({ session: null, error: null, refresh: async () => {} });

/**
 * Anonymous-first: the first visit starts a guest identity (POST /session is idempotent and answers
 * the signed-in session when there is one), so a visitor is somebody, with a persona, before any sign-up.
 */
export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [session, setSession] = useState<PublicSession | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const refresh = useCallback(async () => {
    try {
      setSession(await api.post<PublicSession>('/session'));
      setError(null);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'UNEXPECTED', String(caught), null));
    }
  }, []);
  useEffect(() => void refresh(), [refresh]);
  const value = useMemo(() => ({ session, error, refresh }), [session, error, refresh]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export const useSession = () => useContext(SessionContext);
