import { useCallback, useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { DirectLinks } from './direct-links.tsx';
import { confidenceText, score, when } from './display.ts';
import type { StaffApi } from './staff-api.ts';
import { PersonActions } from './person-actions.tsx';
import { PersonNotes } from './person-notes.tsx';
import { PersonaTrust } from './persona-trust.tsx';
import { useStaffSession } from './staff-auth.ts';
import { StandingBadges } from './standing-badges.tsx';
import type { Accountability, AdminPersona, InferredLink, Person } from './staff-types.ts';

/** /staff/personas/:id — the person behind a persona, with that persona first among theirs. */
export function PersonByPersona({ id }: { id: string }) {
  const session = useStaffSession();
  return <PersonScreen key={id} load={async () => {
    if (!session) throw new Error('Not signed in.');
    const found = await session.api.lookupPersona(id);
    return { person: found.person, focus: found.persona.id };
  }} />;
}

/** /staff/people/:id — a person by accountability profile id. */
export function PersonByProfile({ id }: { id: string }) {
  const session = useStaffSession();
  return <PersonScreen key={id} load={async () => {
    if (!session) throw new Error('Not signed in.');
    return { person: await session.api.lookupPerson(id), focus: null };
  }} />;
}

function PersonScreen({ load }: { load: () => Promise<{ person: Person; focus: string | null }> }) {
  const session = useStaffSession();
  const [person, setPerson] = useState<Person | null>(null);
  const [focus, setFocus] = useState<string | null>(null);
  const loading = useAction();
  const reload = useCallback(() => loading.run(async () => {
    const found = await load();
    setPerson(found.person);
    setFocus(found.focus);
  }), [load]);
  // The first load only: `load` is a new function on every render of the route.
  useEffect(() => void reload(), []);
  const title = person ? `Person ${person.accountability.accountabilityProfileId.slice(0, 8)}` : 'Person';
  return (
    <Page title={title}>
      <ErrorNotice error={loading.error} />
      {!person ? (
        !loading.error && <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <Standing accountability={person.accountability} />
          {session && (
            <PersonActions
              api={session.api}
              person={person}
              focus={focus}
              onAccountability={(accountability) => setPerson({ ...person, accountability })}
              onChanged={reload}
            />
          )}
          <Personas personas={person.personas} focus={focus} grant={session?.admin.role === 'admin' ? { api: session.api, onChanged: reload } : null} />
          <PersonNotes person={person} />
          {session && <Links api={session.api} profileId={person.accountability.accountabilityProfileId} links={person.inferredLinks} />}
          <p><a href={`/staff/audit?person=${person.accountability.accountabilityProfileId}`}>Audit trail of this person</a></p>
        </>
      )}
    </Page>
  );
}

function Standing({ accountability }: { accountability: Accountability }) {
  return (
    <section class="card" aria-labelledby="standing-title">
      <h2 id="standing-title">Standing <StandingBadges riskLevel={accountability.riskLevel} banned={accountability.banned} /></h2>
      <dl class="facts" data-testid="standing">
        <dt>Profile id</dt><dd><code>{accountability.accountabilityProfileId}</code></dd>
        <dt>Abuse score</dt><dd>{score(accountability.abuseScore)}</dd>
        <dt>Risk level</dt><dd>{accountability.riskLevel}</dd>
        <dt>Verified</dt><dd>{accountability.verified ? 'yes' : 'no'}</dd>
        <dt>Legal hold</dt><dd>{accountability.legalHold ? 'yes: nothing of theirs is purged' : 'no'}</dd>
        <dt>Ban</dt><dd>{accountability.banned ? `banned ${accountability.bannedAt ? when(accountability.bannedAt) : ''}: ${accountability.banReason ?? ''}` : 'not banned'}</dd>
        <dt>Since</dt><dd>{when(accountability.createdAt)}</dd>
      </dl>
    </section>
  );
}

function personaState(persona: AdminPersona): string {
  if (persona.deletedAt) return `deleted ${when(persona.deletedAt)}`;
  if (persona.deactivatedAt) return `deactivated ${when(persona.deactivatedAt)}`;
  return 'active';
}

/** With `grant` (an admin), each live persona's trust level can be changed. */
function Personas({ personas, focus, grant }: { personas: AdminPersona[]; focus: string | null; grant: { api: StaffApi; onChanged: () => Promise<void> } | null }) {
  return (
    <section aria-labelledby="personas-title">
      <h2 id="personas-title">Personas ({personas.length})</h2>
      <p class="small muted">Every face of this person, in any state. Public moderation shows a persona id only; this view joins them.</p>
      <ul class="list" aria-label="Personas of this person">
        {personas.map((persona) => (
          <li key={persona.id} aria-label={persona.displayName} aria-current={persona.id === focus ? 'true' : undefined}>
            <p class="persona-name">
              {persona.displayName}
              {persona.id === focus && <span class="badge">looked up</span>}
              <span class="badge">{personaState(persona)}</span>
            </p>
            <dl class="facts small">
              <dt>Persona id</dt><dd><code>{persona.id}</code></dd>
              <dt>Author id</dt><dd><code>{persona.authorId}</code></dd>
              <dt>Trust level</dt><dd>{persona.trustLevel}</dd>
              <dt>Created</dt><dd>{when(persona.createdAt)}</dd>
            </dl>
            {grant && !persona.deletedAt && <PersonaTrust api={grant.api} persona={persona} onChanged={grant.onChanged} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Links({ api, profileId, links }: { api: StaffApi; profileId: string; links: InferredLink[] }) {
  return (
    <section aria-labelledby="links-title">
      <h2 id="links-title">Links</h2>
      <DirectLinks api={api} profileId={profileId} />
      <h3>Inferred links ({links.length})</h3>
      <p class="small muted">
        A guest cookie seen signing in as this person, or the people this guest signed in as. Internal signals only:
        they grant no access and the person never sees them.
      </p>
      {links.length === 0 ? (
        <p>No inferred links.</p>
      ) : (
        <ul class="list" aria-label="Inferred links">
          {links.map((link) => {
            const guestSide = link.guestAccountabilityProfileId === profileId;
            const other = guestSide ? link.signedInAccountabilityProfileId : link.guestAccountabilityProfileId;
            return (
              <li key={`${link.guestAccountabilityProfileId}-${link.signedInAccountabilityProfileId}-${link.createdAt}`}>
                <p>
                  {guestSide ? 'This guest signed in as ' : 'Signed in from the guest '}
                  <a href={`/staff/people/${other}`}><code>{other.slice(0, 8)}</code></a>
                </p>
                <p class="small">Confidence <strong data-testid="link-confidence">{confidenceText(link.confidence)}</strong> · seen {when(link.createdAt)}</p>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
