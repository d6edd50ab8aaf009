import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';

interface Linked {
  readonly identityData: Record<string, unknown>;
  readonly consentedAt: string;
}

const FIELDS = [
  { key: 'name', label: 'Name' },
  { key: 'email', label: 'Email', type: 'email' },
  { key: 'country', label: 'Country' },
] as const;

type Draft = Record<(typeof FIELDS)[number]['key'], string>;

/**
 * Voluntary identification (spec 000): an anonymous person may attach identity data, after a consent
 * dialog that says what is stored, how, and how to delete it; they can read it back and delete it.
 */
export function Identification() {
  const [linked, setLinked] = useState<Linked | null | undefined>(undefined);
  const [draft, setDraft] = useState<Draft>({ name: '', email: '', country: '' });
  const [notice, setNotice] = useState<string | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const action = useAction();
  useEffect(() => void action.run(async () => {
    try {
      setLinked(await api.get<Linked>('/identity-link'));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'IDENTITY_LINK_NOT_FOUND') setLinked(null);
      else throw error;
    }
  }), []);
  const shared = Object.fromEntries(Object.entries(draft).map(([key, value]) => [key, value.trim()]).filter(([, value]) => value !== ''));
  return (
    <Page title="Identify yourself (optional)" intro="You can stay anonymous. If a community asks who you are, you may choose to tell it here.">
      <ErrorNotice error={action.error} />
      {notice && <p class="notice" role="status">{notice}</p>}
      {linked === undefined && <p aria-busy="true">Loading…</p>}
      {linked && (
        <div class="card stack" data-testid="identity-data">
          <h2>What you shared</h2>
          <dl class="facts">
            {Object.entries(linked.identityData).map(([key, value]) => <><dt key={`${key}-t`}>{key}</dt><dd key={`${key}-d`}>{String(value)}</dd></>)}
            <dt>Consent given</dt><dd>{new Date(linked.consentedAt).toLocaleString()}</dd>
          </dl>
          <button type="button" class="button danger" disabled={action.busy} onClick={() => action.run(async () => {
            await api.delete('/identity-link');
            setLinked(null);
            setNotice('Your identity data was deleted. Nothing of it is kept.');
          })}>Delete my identity data</button>
        </div>
      )}
      {linked === null && (
        <form class="card stack" aria-label="Identity data" onSubmit={(event) => {
          event.preventDefault();
          dialog.current?.showModal();
        }}>
          <p>Share only what you want. Every field is optional.</p>
          {FIELDS.map((field) => (
            <Field key={field.key} label={field.label} type={'type' in field ? field.type : 'text'} value={draft[field.key]}
              onValue={(value) => setDraft({ ...draft, [field.key]: value })} />
          ))}
          <button class="button primary" type="submit" disabled={Object.keys(shared).length === 0}>Review and consent</button>
        </form>
      )}
      <dialog ref={dialog} aria-labelledby="consent-title" aria-describedby="consent-what">
        <form method="dialog" class="stack" onSubmit={(event) => {
          const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
          if (submitter?.value !== 'consent') return;
          void action.run(async () => {
            setLinked(await api.post<Linked>('/identity-link', { identityData: shared, consent: true }));
            setNotice('Saved. You can read or delete it here at any time.');
          });
        }}>
          <h2 id="consent-title">Do you consent to storing this?</h2>
          <div id="consent-what">
            <p>We will store:</p>
            <ul>{Object.entries(shared).map(([key, value]) => <li key={key}><strong>{key}</strong>: {value}</li>)}</ul>
            <p>
              It is encrypted under a key derived from this browser's own anonymous token, and kept apart from your
              personas: the database and the server's keys alone cannot connect it to you.
            </p>
            <p>You can read it back and delete it at any time on this page; deleting removes it for real, not just hides it.</p>
          </div>
          <div class="actions">
            <button class="button primary" type="submit" value="consent">I consent, store it</button>
            <button class="button" type="submit" value="cancel">Cancel</button>
          </div>
        </form>
      </dialog>
    </Page>
  );
}
