import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { score, when } from './display.ts';
import { useStaffSession } from './staff-auth.ts';
import { StandingBadges } from './standing-badges.tsx';
import type { Accountability } from './staff-types.ts';

/** People under a legal hold (GDPR Art. 17(3)(e)): nothing of theirs is purged until it is lifted. */
export function LegalHolds() {
  const session = useStaffSession();
  const [people, setPeople] = useState<Accountability[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useAction();
  const lift = useAction();
  const reload = () => load.run(async () => {
    if (session) setPeople(await session.api.legalHolds());
  });
  useEffect(() => void reload(), [session]);
  return (
    <Page title="Legal holds" intro="While a hold is in place, none of the person's personas is purged and permanent deletion is refused. Place a hold from the person's page.">
      {notice && <p class="notice" role="status">{notice}</p>}
      <ErrorNotice error={load.error ?? lift.error} />
      {people === null ? (
        <p aria-busy="true">Loading…</p>
      ) : people.length === 0 ? (
        <p>Nobody is under a legal hold.</p>
      ) : (
        <ul class="list" aria-label="People under a legal hold">
          {people.map((person) => (
            <li key={person.accountabilityProfileId} aria-label={`Person ${person.accountabilityProfileId}`}>
              <p>
                <a href={`/staff/people/${person.accountabilityProfileId}`}>Person <code>{person.accountabilityProfileId}</code></a>
                <StandingBadges riskLevel={person.riskLevel} banned={person.banned} />
              </p>
              <p class="small muted">Abuse score {score(person.abuseScore)} · on file since {when(person.createdAt)}</p>
              <button type="button" class="button" disabled={lift.busy} onClick={() => lift.run(async () => {
                if (!session) return;
                await session.api.setLegalHold(person.accountabilityProfileId, false);
                setNotice(`Hold lifted on ${person.accountabilityProfileId.slice(0, 8)}: purging resumes after the grace periods.`);
                await reload();
              })}>Lift the hold</button>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
