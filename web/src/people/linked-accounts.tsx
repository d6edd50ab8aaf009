import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { flash } from '../components/flash.ts';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { GuestMerge } from './guest-merge.tsx';
import { graphApi, type GraphAccount, type IdentityGraph, type PrivacyMode } from './identity-graph-api.ts';
import { IdentityGraphPicture } from './identity-graph-picture.tsx';
import { LinkMethod } from './link-method.tsx';
import { useStepUp } from './step-up.tsx';

const MODES: ReadonlyArray<{ mode: PrivacyMode; label: string }> = [
  { mode: 'linked', label: 'Linked: may act as all your personas' },
  { mode: 'partial', label: 'Partial: its own personas and the ones chosen below' },
  { mode: 'isolated', label: 'Isolated: only its own personas, and no other method sees it' },
];

/**
 * Your sign-in methods as a graph: privacy modes, partial selection, link any method, unlink, bring
 * this browser's guest along; each sensitive change asks for a step-up when it needs one.
 */
export function LinkedAccounts() {
  const [graph, setGraph] = useState<IdentityGraph | null>(null);
  const [notice, setNotice] = useState<string | null>(flash.take);
  const action = useAction();
  const stepUp = useStepUp(action.run);
  const reload = async () => setGraph(await graphApi.read());
  useEffect(() => void action.run(reload), []);
  /** Runs a sensitive change, then reads the graph again; a missing step-up is asked for, then the change retried. */
  const sensitive = (change: () => Promise<void>) => stepUp.guard(async () => {
    await change();
    await reload();
  });
  return (
    <Page title="Linked sign-in methods" intro="Each way you sign in is a method. Linked methods are one person to us, never to the public.">
      <ErrorNotice error={action.error} />
      {notice && <p class="notice" role="status">{notice}</p>}
      {stepUp.dialog}
      {graph === null ? <p aria-busy="true">Loading…</p> : (
        <>
          <div class="card"><IdentityGraphPicture graph={graph} /></div>
          <ul class="list" aria-label="Your sign-in methods">
            {graph.accounts.map((account) => (
              <AccountItem key={account.ref} account={account} graph={graph} busy={action.busy}
                onPrivacy={(mode, ids) => void action.run(() => sensitive(async () => {
                  await graphApi.setPrivacy(account.ref, mode, ids);
                  setNotice(mode === 'isolated' && !account.current
                    ? 'Saved. An isolated method is hidden from your other methods: sign in with it to see or change it.'
                    : 'Privacy saved.');
                }))}
                onUnlink={() => void action.run(() => sensitive(async () => {
                  await graphApi.unlink(account.ref);
                  setNotice('Unlinked. Its personas stay with you.');
                }))} />
            ))}
          </ul>
          <LinkMethod onProof={(strategy, proof) => sensitive(async () => {
            await graphApi.link(strategy, proof);
            setNotice('Linked: you can now sign in with it too.');
          })} />
          <GuestMerge personas={null} onMerged={reload} />
        </>
      )}
    </Page>
  );
}

function AccountItem({ account, graph, busy, onPrivacy, onUnlink }: {
  account: GraphAccount;
  graph: IdentityGraph;
  busy: boolean;
  onPrivacy: (mode: PrivacyMode, profileIds: string[]) => void;
  onUnlink: () => void;
}) {
  const [mode, setMode] = useState<PrivacyMode>(account.privacyMode);
  const [selected, setSelected] = useState<string[]>([...account.selectedProfileIds]);
  const name = `${account.provider ?? account.type} ${account.identifier}`;
  return (
    <li aria-label={name}>
      <p>
        <strong>{account.provider ?? account.type}</strong> <code>{account.identifier}</code>
        {account.current && <span class="badge">this session</span>}
        {account.verified && <span class="badge">verified</span>}
      </p>
      {account.did && <p class="small">did:key <code>{account.did}</code></p>}
      <form class="stack" aria-label={`Privacy of ${name}`} onSubmit={(event) => {
        event.preventDefault();
        onPrivacy(mode, selected);
      }}>
        <fieldset class="stack">
          <legend>Privacy mode</legend>
          {MODES.map((item) => (
            <label key={item.mode} class="check">
              <input type="radio" name={`mode-${account.ref}`} value={item.mode} checked={mode === item.mode} onChange={() => setMode(item.mode)} />
              {item.label}
            </label>
          ))}
        </fieldset>
        {mode === 'partial' && (
          <fieldset class="stack">
            <legend>Personas it may act as</legend>
            {graph.profiles.map((profile) => (
              <label key={profile.id} class="check">
                <input type="checkbox" checked={selected.includes(profile.id)} onChange={(event) => setSelected(
                  event.currentTarget.checked ? [...selected, profile.id] : selected.filter((id) => id !== profile.id),
                )} />
                {profile.displayName}
              </label>
            ))}
          </fieldset>
        )}
        <div class="actions">
          <button class="button" type="submit" disabled={busy}>Save privacy</button>
          {!account.current && <button class="button danger" type="button" disabled={busy} onClick={onUnlink}>Unlink</button>}
        </div>
      </form>
    </li>
  );
}
