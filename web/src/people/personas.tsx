import { useCallback, useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { flash } from '../components/flash.ts';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { personaApi, type Persona } from './persona-api.ts';
import { PersonaCard } from './persona-card.tsx';

/** Every persona the visitor may act as: create, switch, rotate, deactivate, restore, delete, claim and move a handle. */
export function Personas() {
  const { session, refresh } = useSession();
  const [personas, setPersonas] = useState<Persona[] | null>(null);
  const [name, setName] = useState('');
  // A step-up through a social provider comes back here with its notice.
  const [notice, setNotice] = useState<string | null>(flash.take);
  const load = useAction();
  const create = useAction();
  const reload = useCallback(() => load.run(async () => setPersonas(await personaApi.list())), [load.run]);
  useEffect(() => {
    if (session) void reload();
  }, [session?.persona?.id, session?.anonymous]);
  const changed = async () => {
    await Promise.all([reload(), refresh()]);
  };
  return (
    <Page title="Personas" intro="Each persona is a separate public face. Nobody can tell that two of your personas are the same person.">
      <ErrorNotice error={load.error} />
      {notice && <p class="notice" role="status">{notice}</p>}
      {personas === null ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <ul class="list" aria-label="Your personas">
          {personas.map((persona) => (
            <PersonaCard key={persona.id} persona={persona} acting={session?.persona?.id === persona.id} onChanged={changed} onNotice={setNotice}
              targets={personas.filter((other) => other.id !== persona.id && other.active && !other.handle)} />
          ))}
        </ul>
      )}
      <form
        class="card stack"
        aria-label="Create a persona"
        onSubmit={(event) => {
          event.preventDefault();
          void create.run(async () => {
            await personaApi.create(name.trim());
            setName('');
            await reload();
          });
        }}
      >
        <h2>New persona</h2>
        <Field label="Display name of the new persona" value={name} onValue={setName} maxLength={128} required />
        <ErrorNotice error={create.error} />
        <button class="button primary" type="submit" disabled={create.busy}>Create persona</button>
      </form>
    </Page>
  );
}
