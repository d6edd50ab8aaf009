import { when } from './display.ts';
import type { Person } from './staff-types.ts';

/** The person's file: flags on any of their personas, and their open appeals. */
export function PersonNotes({ person }: { person: Person }) {
  const nameOf = (personaId: string | null) => person.personas.find((persona) => persona.id === personaId)?.displayName ?? 'a persona no longer on file';
  return (
    <>
      <section aria-labelledby="flags-title">
        <h2 id="flags-title">Flags ({person.flags.length})</h2>
        {person.flags.length === 0 ? (
          <p>No flags.</p>
        ) : (
          <ul class="list" aria-label="Flags on this person">
            {person.flags.map((flag) => (
              <li key={flag.id}>
                <p class="flag-reason">{flag.reason}</p>
                <p class="small muted">On {nameOf(flag.personaId)}, by <code>{flag.actor}</code>, {when(flag.createdAt)}</p>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="open-appeals-title">
        <h2 id="open-appeals-title">Open appeals ({person.openAppeals.length})</h2>
        {person.openAppeals.length === 0 ? (
          <p>No open appeal.</p>
        ) : (
          <ul class="list" aria-label="Open appeals of this person">
            {person.openAppeals.map((appeal) => (
              <li key={appeal.id}>
                <blockquote class="statement">{appeal.statement}</blockquote>
                <p class="small muted">About {nameOf(appeal.personaId)}, opened {when(appeal.openedAt)}. Decide it under <a href="/staff/appeals">Appeals</a>.</p>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
