import { useEffect, useState } from 'preact/hooks';
import { staffApi, type StaffApi } from './staff-api.ts';
import type { AdminIdentity } from './staff-types.ts';

/** A staff member signed in to the console: who the token is, and the API bound to it. */
export interface StaffSession {
  readonly admin: AdminIdentity;
  readonly api: StaffApi;
}

/*
 * The token is kept in this module's memory and nowhere else: not in localStorage, sessionStorage or
 * a cookie, so a script injected later, another tab or a stolen disk image finds nothing. The cost is
 * that a reload signs the staff member out; the console routes inside the page, so ordinary use does
 * not reload.
 */
let current: StaffSession | null = null;
/** Why the last session ended, when the service ended it (a revoked token), for the sign-in screen. */
let endedBecause: string | null = null;
const listeners = new Set<(session: StaffSession | null) => void>();

function publish(next: StaffSession | null) {
  current = next;
  for (const listener of listeners) listener(next);
}

/** Checks the token against the service (GET /admin/me) and keeps it only if the service knows it. */
export async function signInStaff(token: string): Promise<StaffSession> {
  const api = staffApi(token, () => {
    if (current?.api !== api) return; // an old session's late answer ends nothing
    endedBecause = 'The service no longer accepts your admin token (it may have been revoked). Sign in again with a valid one.';
    publish(null);
  });
  const session = { admin: await api.me(), api };
  endedBecause = null;
  publish(session);
  return session;
}

export function signOutStaff(): void {
  endedBecause = null;
  publish(null);
}

/** Why the service ended the last session, or null when the staff member signed out (or never signed in). */
export const sessionEndedBecause = (): string | null => endedBecause;

/** The signed-in staff member, kept current across screens. */
export function useStaffSession(): StaffSession | null {
  const [session, setSession] = useState(current);
  useEffect(() => {
    listeners.add(setSession);
    setSession(current);
    return () => void listeners.delete(setSession);
  }, []);
  return session;
}
