import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { when } from './display.ts';
import { useStaffSession } from './staff-auth.ts';
import { StandingBadges } from './standing-badges.tsx';
import type { FlagQueueItem } from './staff-types.ts';

/** Every flag, newest first, with where its person stands now; open one to act on the person. */
export function FlagsQueue() {
  const session = useStaffSession();
  const [flags, setFlags] = useState<FlagQueueItem[] | null>(null);
  const [more, setMore] = useState(false);
  const load = useAction();
  const fetchPage = (after?: string) =>
    load.run(async () => {
      if (!session) return;
      const page = await session.api.flags(after);
      setFlags((shown) => (after && shown ? [...shown, ...page] : page));
      setMore(page.length === 50);
    });
  useEffect(() => void fetchPage(), [session]);
  return (
    <Page title="Flags" intro="Flags are notes on a person's file. They change no score by themselves: open the person to decide.">
      <ErrorNotice error={load.error} />
      {flags === null ? (
        <p aria-busy="true">Loading…</p>
      ) : flags.length === 0 ? (
        <p class="notice" role="status">No flags. The queue is empty.</p>
      ) : (
        <ul class="list" aria-label="Flags, newest first">
          {flags.map((flag) => (
            <li key={flag.id} aria-label={`${flag.displayName}: ${flag.reason}`}>
              <p class="persona-name">
                {flag.displayName}
                {!flag.personaActive && <span class="badge">deactivated</span>}
                <StandingBadges riskLevel={flag.riskLevel} banned={flag.banned} />
              </p>
              <p class="flag-reason">{flag.reason}</p>
              <p class="small muted">Flagged by <code>{flag.actor}</code>, {when(flag.createdAt)}</p>
              <a class="button" href={`/staff/personas/${flag.personaId}`}>Open the person behind {flag.displayName}</a>
            </li>
          ))}
        </ul>
      )}
      {more && flags && (
        <div class="actions">
          <button type="button" class="button" disabled={load.busy} onClick={() => fetchPage(flags[flags.length - 1]?.id)}>Older flags</button>
        </div>
      )}
    </Page>
  );
}
