import { useEffect, useId, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { when } from './display.ts';
import type { StaffApi } from './staff-api.ts';
import { useStaffSession } from './staff-auth.ts';
import type { Policy } from './staff-types.ts';

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** The policies in force: every staff member reads them; only an `admin` changes one (audited). */
export function Policies() {
  const session = useStaffSession();
  const [policies, setPolicies] = useState<Policy[] | null>(null);
  const load = useAction();
  useEffect(() => void load.run(async () => {
    if (session) setPolicies(await session.api.policies());
  }), [session]);
  const canEdit = session?.admin.role === 'admin';
  return (
    <Page title="Policies" intro="Limits and rules are data: the service checks each value against the policy's own schema.">
      {!canEdit && <p class="notice" role="note">You are a moderator: you can read the policies; an admin changes them.</p>}
      <ErrorNotice error={load.error} />
      {policies === null || !session ? (
        !load.error && <p aria-busy="true">Loading…</p>
      ) : (
        <ul class="list" aria-label="Policies">
          {policies.map((policy) => (
            <PolicyItem key={policy.name} api={session.api} policy={policy} canEdit={canEdit}
              onSaved={(saved) => setPolicies(policies.map((item) => (item.name === saved.name ? saved : item)))} />
          ))}
        </ul>
      )}
    </Page>
  );
}

function PolicyItem({ api, policy, canEdit, onSaved }: { api: StaffApi; policy: Policy; canEdit: boolean; onSaved: (policy: Policy) => void }) {
  const [text, setText] = useState(json(policy.value));
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const id = useId();
  useEffect(() => setText(json(policy.value)), [policy.value]);
  const save = (work: () => Promise<{ policy: Policy }>, done: string) => action.run(async () => {
    const answer = await work();
    onSaved(answer.policy);
    setNotice(done);
  });
  return (
    <li aria-label={policy.name}>
      <h2 class="policy-name"><code>{policy.name}</code> {policy.overridden && <span class="badge">overridden</span>}</h2>
      <p class="small">{policy.description}</p>
      <div class="field">
        <label for={id}>Value of {policy.name} (JSON)</label>
        <textarea id={id} class="code" rows={Math.min(8, text.split('\n').length + 1)} readOnly={!canEdit} spellcheck={false}
          value={text} onInput={(event) => setText(event.currentTarget.value)} aria-invalid={problem ? 'true' : undefined} />
      </div>
      <p class="small muted">Default <code>{JSON.stringify(policy.defaultValue)}</code>{policy.updatedAt && <> · changed {when(policy.updatedAt)}</>}</p>
      {problem && <p class="notice notice-error" role="alert">{problem}</p>}
      {notice && <p class="notice" role="status">{notice}</p>}
      <ErrorNotice error={action.error} />
      {canEdit && (
        <div class="actions">
          <button type="button" class="button primary" disabled={action.busy} onClick={() => {
            let value: unknown;
            try {
              value = JSON.parse(text);
            } catch {
              setProblem('This is not valid JSON: check quotes, commas and brackets.');
              return;
            }
            setProblem(null);
            void save(() => api.setPolicy(policy.name, value), `${policy.name} saved.`);
          }}>Save {policy.name}</button>
          {policy.overridden && (
            <button type="button" class="button" disabled={action.busy}
              onClick={() => save(() => api.resetPolicy(policy.name), `${policy.name} is back to its default.`)}>Reset to default</button>
          )}
        </div>
      )}
    </li>
  );
}
