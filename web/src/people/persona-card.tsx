import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { useAction } from '../components/use-action.ts';
import { HandleMove } from './handle-move.tsx';
import { personaApi, type Persona, type PublicIdentity } from './persona-api.ts';
import { useStepUp } from './step-up.tsx';

type Panel = 'none' | 'rotate' | 'handle' | 'move' | 'delete';

export const dateOf = (iso: string) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });

/** One persona and what its owner may do with it; each change reloads the list (onChanged). */
export function PersonaCard({ persona, acting, targets, onChanged, onNotice }: {
  persona: Persona;
  acting: boolean;
  /** The person's other personas that could take this one's handle: live, and without one. */
  targets: readonly Persona[];
  onChanged: () => Promise<void>;
  /** A message that outlives this card (a deleted persona leaves the list). */
  onNotice: (message: string) => void;
}) {
  const [panel, setPanel] = useState<Panel>('none');
  const [text, setText] = useState('');
  const [identity, setIdentity] = useState<PublicIdentity | null>(null);
  const [takeHandle, setTakeHandle] = useState(false);
  const action = useAction();
  // Deleting for good needs a fresh sign-in.
  const stepUp = useStepUp(action.run);
  // The addresses derive from the handle the list carries, so they show after a reload too. A
  // deactivated persona is hidden from the public lookup: its handle is shown alone.
  useEffect(() => {
    if (!persona.handle || !persona.active) return setIdentity(null);
    let current = true;
    personaApi.identity(persona.handle).then((found) => current && setIdentity(found), () => current && setIdentity(null));
    return () => {
      current = false;
    };
  }, [persona.handle, persona.active]);
  const open = (next: Panel) => {
    setText('');
    setTakeHandle(false);
    action.clearError();
    setPanel(panel === next ? 'none' : next);
  };
  const act = (work: () => Promise<unknown>) => action.run(async () => {
    await work();
    setPanel('none');
    await onChanged();
  });
  const label = persona.displayName;
  const handle = persona.handle && `@${persona.handle}`;
  const rotate = async () => {
    const { persona: next } = await personaApi.rotate(persona.id, text.trim());
    if (!takeHandle || !handle) return;
    try {
      await personaApi.moveHandle(persona.id, next.id);
    } catch (error) {
      // The rotation stands; say where the handle stayed, since the old face leaves the list.
      onNotice(`Rotated to ${next.displayName}, but ${handle} stayed with the old face, retired: ${error instanceof Error ? error.message : 'the move failed'}`);
    }
  };
  return (
    <li aria-label={label}>
      <p class="persona-name">
        {label}
        {acting && <span class="badge">acting</span>}
        {!persona.active && <span class="badge">deactivated</span>}
        {persona.verified && <span class="badge">verified</span>}
      </p>
      <dl class="facts small">
        <dt>Trust level</dt><dd>{persona.trustLevel}</dd>
        <dt>Author id</dt><dd><code>{persona.authorId}</code></dd>
        <dt>Created</dt><dd>{dateOf(persona.createdAt)}</dd>
        {persona.restorableUntil && <><dt>Restorable until</dt><dd>{dateOf(persona.restorableUntil)}</dd></>}
        {persona.handle && <><dt>Handle</dt><dd><code>@{persona.handle}</code></dd></>}
        {identity && (
          <>
            <dt>Address</dt><dd><code>{identity.address}</code></dd>
            <dt>Matrix id</dt><dd><code>{identity.matrixId}</code></dd>
            <dt>did:key</dt><dd>{identity.did ? <code>{identity.did}</code> : 'none yet (add an ed25519 key)'}</dd>
            <dt>Public key hash</dt><dd><code>{identity.publicKeyHash}</code></dd>
          </>
        )}
      </dl>
      <div class="actions">
        {persona.active && !acting && <button type="button" class="button" disabled={action.busy} onClick={() => act(() => personaApi.actAs(persona.id))}>Act as {label}</button>}
        {persona.active && <button type="button" class="button" aria-expanded={panel === 'rotate'} onClick={() => open('rotate')}>Rotate</button>}
        {persona.active && !persona.handle && <button type="button" class="button" aria-expanded={panel === 'handle'} onClick={() => open('handle')}>Claim handle</button>}
        {handle && targets.length > 0 && <button type="button" class="button" aria-expanded={panel === 'move'} onClick={() => open('move')}>Move handle</button>}
        {persona.active && <button type="button" class="button" disabled={action.busy} onClick={() => act(() => personaApi.deactivate(persona.id))}>Deactivate</button>}
        {!persona.active && <button type="button" class="button" disabled={action.busy} onClick={() => act(() => personaApi.reactivate(persona.id))}>Reactivate</button>}
        <button type="button" class="button danger" aria-expanded={panel === 'delete'} onClick={() => open('delete')}>Delete</button>
      </div>
      {panel === 'rotate' && (
        <form class="stack" aria-label={`Rotate ${label}`} onSubmit={(event) => {
          event.preventDefault();
          void act(rotate);
        }}>
          <p class="small">Rotating gives this persona a fresh public face. The old name stays reserved for 30 days so nobody can impersonate it.</p>
          <Field label="New display name" value={text} onValue={setText} maxLength={128} required />
          {handle && (
            <>
              <p class="small">
                Its handle {handle} stays with the old face, retired: the old face leaves this list, and {handle} is never
                given to anyone else. Taken along, {handle} and its address belong to the new face, and people who knew the
                old face there may guess the two are the same.
              </p>
              <label class="check">
                <input type="checkbox" checked={takeHandle} onChange={(event) => setTakeHandle(event.currentTarget.checked)} />
                Take {handle} along to the new face
              </label>
            </>
          )}
          <button class="button primary" type="submit" disabled={action.busy}>Rotate persona</button>
        </form>
      )}
      {panel === 'handle' && (
        <form class="stack" aria-label={`Claim a handle for ${label}`} onSubmit={(event) => {
          event.preventDefault();
          void act(() => personaApi.claimHandle(persona.id, text.trim()));
        }}>
          <p class="small">A handle gives this persona an address (handle@territory) and a Matrix id. It is never given to anyone else, even later.</p>
          <Field label="Handle" value={text} onValue={setText} pattern="[A-Za-z0-9_]{3,50}" hint="3 to 50 letters, digits or _." required />
          <button class="button primary" type="submit" disabled={action.busy}>Claim handle</button>
        </form>
      )}
      {panel === 'move' && (
        <HandleMove persona={persona} identity={identity} targets={targets} busy={action.busy} onMove={(target) => void act(async () => {
          await personaApi.moveHandle(persona.id, target.id);
          onNotice(`${handle} now belongs to ${target.displayName}; ${label} has no handle.`);
        })} />
      )}
      {panel === 'delete' && (
        <div class="stack" role="group" aria-label={`Delete ${label}`}>
          <p class="small">
            Deleting anonymizes this persona at once and purges it after a 90-day grace period. It cannot be restored.
            (Deactivating instead hides it and keeps it restorable for 90 days.)
          </p>
          <button type="button" class="button danger" disabled={action.busy} onClick={() => stepUp.run(async () => {
            const answer = await personaApi.deletePermanently(persona.id);
            onNotice(`${label} was deleted. It is anonymized now and purged for good after ${dateOf(answer.purgeAfter)}.`);
            setPanel('none');
            await onChanged();
          })}>Delete {label} permanently</button>
        </div>
      )}
      {stepUp.dialog}
      <ErrorNotice error={action.error} />
    </li>
  );
}
