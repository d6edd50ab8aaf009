import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { AppealDecision } from './appeal-decision.tsx';
import { when } from './display.ts';
import { useStaffSession } from './staff-auth.ts';
import type { Appeal, AppealStatus } from './staff-types.ts';

const TABS: ReadonlyArray<{ status: AppealStatus; label: string }> = [
  { status: 'open', label: 'Open' },
  { status: 'upheld', label: 'Upheld' },
  { status: 'overturned', label: 'Overturned' },
];

/** The appeals queue, oldest first so it is worked in order: read the statement, then decide once. */
export function Appeals() {
  const session = useStaffSession();
  const [status, setStatus] = useState<AppealStatus>('open');
  const [appeals, setAppeals] = useState<Appeal[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useAction();
  const reload = () => load.run(async () => {
    if (session) setAppeals(await session.api.appeals(status));
  });
  useEffect(() => void reload(), [session, status]);
  return (
    <Page title="Appeals" intro="An appeal is decided once. Overturning does not lift a ban or lower a score by itself: give a new score here, or lift the ban on the person.">
      <div class="segmented" role="group" aria-label="Which appeals">
        {TABS.map((tab) => (
          <button key={tab.status} type="button" class="button" aria-pressed={status === tab.status}
            onClick={() => { setNotice(null); setAppeals(null); setStatus(tab.status); }}>
            {tab.label}
          </button>
        ))}
      </div>
      {notice && <p class="notice" role="status">{notice}</p>}
      <ErrorNotice error={load.error} />
      {appeals === null ? (
        <p aria-busy="true">Loading…</p>
      ) : appeals.length === 0 ? (
        <p>No {status} appeals.</p>
      ) : (
        <ul class="list" aria-label={`${TABS.find((tab) => tab.status === status)?.label} appeals`}>
          {appeals.map((appeal) => (
            <li key={appeal.id} aria-label={`Appeal of ${when(appeal.openedAt)}`}>
              <blockquote class="statement">{appeal.statement}</blockquote>
              <p class="small muted">
                Opened {when(appeal.openedAt)}
                {appeal.personaId && <> · <a href={`/staff/personas/${appeal.personaId}`}>the persona and person it concerns</a></>}
              </p>
              {appeal.status === 'open' && session ? (
                <AppealDecision api={session.api} appeal={appeal} onDecided={async (message) => { setNotice(message); await reload(); }} />
              ) : (
                <p><span class="badge">{appeal.status}</span> {appeal.resolution} {appeal.resolvedAt && <span class="small muted">({when(appeal.resolvedAt)})</span>}</p>
              )}
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
