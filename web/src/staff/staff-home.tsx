import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { isUuid } from './display.ts';

type IdKind = 'persona' | 'person';

/** Find a person by a persona id (what moderators see in a product) or by an accountability profile id. */
export function StaffHome() {
  const { route } = useLocation();
  const [id, setId] = useState('');
  const [kind, setKind] = useState<IdKind>('persona');
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <Page title="Find a person" intro="Opening a person shows which personas are one person, so every look-up is written to the audit log under your name.">
      <form
        class="card stack"
        aria-label="Find a person"
        onSubmit={(event) => {
          event.preventDefault();
          const given = id.trim();
          if (!isUuid(given)) {
            setProblem('An id looks like 9c4f1a2b-…: 32 hexadecimal digits in five groups.');
            return;
          }
          setProblem(null);
          route(kind === 'persona' ? `/staff/personas/${given}` : `/staff/people/${given}`);
        }}
      >
        <fieldset class="segmented-field">
          <legend>The id is of</legend>
          <label class="check"><input type="radio" name="kind" checked={kind === 'persona'} onChange={() => setKind('persona')} /> a persona</label>
          <label class="check"><input type="radio" name="kind" checked={kind === 'person'} onChange={() => setKind('person')} /> a person (accountability profile)</label>
        </fieldset>
        <Field label="Id" value={id} onValue={setId} spellcheck={false} autoComplete="off" required aria-invalid={problem ? 'true' : undefined} />
        {problem && <p class="notice notice-error" role="alert">{problem}</p>}
        <button class="button primary" type="submit">Open</button>
      </form>
    </Page>
  );
}
