import { useId, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { useAction } from '../components/use-action.ts';
import type { StaffApi } from './staff-api.ts';
import type { Appeal } from './staff-types.ts';

type Outcome = 'upheld' | 'overturned';

/** Deciding one appeal: the outcome, the reasoning the record keeps, and optionally a new abuse score. */
export function AppealDecision({ api, appeal, onDecided }: { api: StaffApi; appeal: Appeal; onDecided: (message: string) => Promise<void> }) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [resolution, setResolution] = useState('');
  const [scoreText, setScoreText] = useState('');
  const action = useAction();
  const ids = { resolution: useId() };
  return (
    <form class="stack decision" aria-label="Decide this appeal" onSubmit={(event) => {
      event.preventDefault();
      if (!outcome) return;
      void action.run(async () => {
        const abuseScore = scoreText.trim() === '' ? undefined : Number(scoreText);
        const answer = await api.resolveAppeal(appeal.id, { status: outcome, resolution: resolution.trim(), ...(abuseScore === undefined ? {} : { abuseScore }) });
        const after = answer.accountability ? ` Their risk level is now ${answer.accountability.riskLevel}.` : '';
        await onDecided(`Appeal ${answer.appeal.status}.${after}`);
      });
    }}>
      <fieldset>
        <legend>Decision</legend>
        <label class="check"><input type="radio" name={`outcome-${appeal.id}`} required checked={outcome === 'upheld'} onChange={() => setOutcome('upheld')} /> Uphold (keep the decision)</label>
        <label class="check"><input type="radio" name={`outcome-${appeal.id}`} checked={outcome === 'overturned'} onChange={() => setOutcome('overturned')} /> Overturn (reverse it)</label>
      </fieldset>
      <div class="field">
        <label for={ids.resolution}>Reasoning, for the record</label>
        <textarea id={ids.resolution} rows={2} maxLength={4000} required value={resolution} onInput={(event) => setResolution(event.currentTarget.value)} />
      </div>
      <Field label="New abuse score (optional)" type="number" min={0} max={1} step={0.01} value={scoreText} onValue={setScoreText}
        hint="Set in the same transaction; the risk level follows it." />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>Decide</button>
    </form>
  );
}
