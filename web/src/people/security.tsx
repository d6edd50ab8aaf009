import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { dateOf } from './persona-card.tsx';

interface SignedInSession {
  readonly id: string;
  readonly deviceLabel: string | null;
  readonly client: 'browser' | 'api';
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly current: boolean;
}

const timeOf = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Where you are signed in: every session and device, each revocable, and "sign out everywhere else". */
export function Security() {
  const [sessions, setSessions] = useState<SignedInSession[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const reload = () => action.run(async () => setSessions((await api.get<{ sessions: SignedInSession[] }>('/api/v2/auth/sessions')).sessions));
  useEffect(() => void reload(), []);
  const others = sessions?.filter((session) => !session.current).length ?? 0;
  return (
    <Page title="Sessions and devices" intro="Every place you are signed in. End any you do not recognize.">
      <ErrorNotice error={action.error} />
      {notice && <p class="notice" role="status">{notice}</p>}
      {sessions === null ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <ul class="list" aria-label="Your sessions">
          {sessions.map((session) => (
            <li key={session.id} aria-label={session.deviceLabel ?? 'Unknown device'}>
              <p>
                <strong>{session.deviceLabel ?? 'Unknown device'}</strong>
                {session.current && <span class="badge">this device</span>}
                {session.client === 'api' && <span class="badge">app</span>}
              </p>
              <p class="small muted">Signed in {dateOf(session.createdAt)} · last seen {timeOf(session.lastSeenAt)}</p>
              {!session.current && (
                <button type="button" class="button danger" disabled={action.busy} onClick={() => action.run(async () => {
                  await api.delete(`/api/v2/auth/sessions/${session.id}`);
                  setNotice(`Signed out ${session.deviceLabel ?? 'that device'}.`);
                  setSessions(sessions.filter((item) => item.id !== session.id));
                })}>Sign out this device</button>
              )}
            </li>
          ))}
        </ul>
      )}
      {others > 0 && (
        <button type="button" class="button danger" disabled={action.busy} onClick={() => action.run(async () => {
          const { revoked } = await api.post<{ revoked: number }>('/api/v2/auth/sessions/revoke-others');
          setNotice(`Signed out ${revoked} other ${revoked === 1 ? 'session' : 'sessions'}.`);
          setSessions(sessions?.filter((session) => session.current) ?? null);
        })}>Sign out everywhere else</button>
      )}
    </Page>
  );
}
