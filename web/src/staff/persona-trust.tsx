import { useId, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';
import type { StaffApi } from './staff-api.ts';
import type { AdminPersona, TrustLevel } from './staff-types.ts';

const TRUST_LEVELS: readonly TrustLevel[] = ['NEW', 'REGULAR', 'TRUSTED'];

interface Props {
  readonly api: StaffApi;
  readonly persona: AdminPersona;
  /** The persona's new level is in force: show the person again. */
  readonly onChanged: () => Promise<void>;
}

/**
 * An admin grants or withdraws one persona's trust level (promotion is manual, and every grant is
 * audited as `persona.trust-level`). Trust belongs to the persona: a rotated successor starts at NEW.
 * The service allows it to the admin role only, so the console offers it to admins only.
 */
export function PersonaTrust({ api, persona, onChanged }: Props) {
  const [level, setLevel] = useState(persona.trustLevel as TrustLevel);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  const id = useId();
  return (
    <form class="inline-form" aria-label={`Trust level of ${persona.displayName}`} onSubmit={(event) => {
      event.preventDefault();
      void action.run(async () => {
        await api.setTrustLevel(persona.id, level);
        await onChanged();
        setNotice(`${persona.displayName} is now ${level}.`);
      });
    }}>
      <div class="field">
        <label for={id}>Trust level of {persona.displayName}</label>
        <select id={id} value={level} onChange={(event) => setLevel(event.currentTarget.value as TrustLevel)}>
          {TRUST_LEVELS.map((option) => <option key={option} value={option}>{option}</option>)}
        </select>
      </div>
      <button class="button" type="submit" disabled={action.busy || level === persona.trustLevel}>Set trust level</button>
      {notice && <p class="notice" role="status">{notice}</p>}
      <ErrorNotice error={action.error} />
    </form>
  );
}
