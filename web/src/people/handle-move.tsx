import { useId, useState } from 'preact/hooks';
import type { Persona, PublicIdentity } from './persona-api.ts';

/**
 * Giving a persona's handle to another of the person's personas (POST /personas/{id}/handle/move),
 * once the person has read what changes: the handle's address, Matrix id and public key hash go
 * with it, and the persona it leaves keeps nothing. Only live personas without a handle can take it.
 */
export function HandleMove({ persona, identity, targets, busy, onMove }: {
  persona: Persona;
  /** The handle's public identity, when the persona is live (a deactivated one is hidden from lookups). */
  identity: PublicIdentity | null;
  targets: readonly Persona[];
  busy: boolean;
  onMove: (target: Persona) => void;
}) {
  const id = useId();
  const [to, setTo] = useState('');
  const target = targets.find((candidate) => candidate.id === to) ?? null;
  const handle = `@${persona.handle}`;
  return (
    <form class="stack" aria-label={`Move ${handle}`} onSubmit={(event) => {
      event.preventDefault();
      if (target) onMove(target);
    }}>
      <p class="small">A persona holds one handle. You can give {handle} to another of your personas that has none.</p>
      <div class="field">
        <label for={`${id}-to`}>Move {handle} to</label>
        <select id={`${id}-to`} value={to} onChange={(event) => setTo(event.currentTarget.value)} required>
          <option value="">Choose a persona…</option>
          {targets.map((candidate) => <option key={candidate.id} value={candidate.id}>{candidate.displayName}</option>)}
        </select>
      </div>
      {target && (
        <div class="stack tight" data-testid="handle-move-effects">
          <p><strong>What changes</strong></p>
          <ul class="small">
            <li>
              <strong>{target.displayName}</strong> gets {handle}, and with it{' '}
              {identity ? <>the address <code>{identity.address}</code>, the Matrix id <code>{identity.matrixId}</code></> : 'its address, its Matrix id'}{' '}
              and its public key hash. Whoever looks up {handle} finds {target.displayName} from now on.
            </li>
            <li>
              <strong>{persona.displayName}</strong> keeps nothing of it: no handle and no address. It may claim a new
              handle; {handle} comes back only by moving it again.
            </li>
            <li>People who knew {persona.displayName} as {handle} will find {target.displayName} there, and may guess they are the same person.</li>
          </ul>
        </div>
      )}
      <button class="button primary" type="submit" disabled={busy || !target}>{target ? `Move ${handle} to ${target.displayName}` : 'Move the handle'}</button>
    </form>
  );
}
