import { useEffect, useId, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { useAction } from '../components/use-action.ts';
import type { StaffApi } from './staff-api.ts';
import type { Accountability, Person, RiskLevel } from './staff-types.ts';

const RISK_LEVELS: readonly RiskLevel[] = ['LOW', 'MEDIUM', 'HIGH'];

interface Props {
  readonly api: StaffApi;
  readonly person: Person;
  /** The persona the person was looked up by, if any: flags and appeals default to it. */
  readonly focus: string | null;
  /** A setting changed: the service answered the person's new standing. */
  readonly onAccountability: (accountability: Accountability) => void;
  /** Something changed that only a fresh look-up shows (a ban, a flag, an appeal). */
  readonly onChanged: () => Promise<void>;
}

/** What a moderator may decide about a person; every button is one audited admin call. */
export function PersonActions({ api, person, focus, onAccountability, onChanged }: Props) {
  const { accountability, personas } = person;
  const profileId = accountability.accountabilityProfileId;
  // A ban lands on the person whichever of their personas names them; any persona, even a deleted one, will do.
  const subject = { personaId: focus ?? personas[0]?.id ?? '' };
  const action = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [scoreText, setScoreText] = useState(String(accountability.abuseScore));
  const [risk, setRisk] = useState<RiskLevel>(accountability.riskLevel);
  const [notePersona, setNotePersona] = useState(subject.personaId);
  const [flagReason, setFlagReason] = useState('');
  const [statement, setStatement] = useState('');
  const ids = { risk: useId(), persona: useId(), statement: useId() };
  // A ban or another moderator's change moves the standing: the inputs show what is in force.
  useEffect(() => setScoreText(String(accountability.abuseScore)), [accountability.abuseScore]);
  useEffect(() => setRisk(accountability.riskLevel), [accountability.riskLevel]);

  const setting = (work: () => Promise<Accountability>, done: string) => action.run(async () => {
    onAccountability(await work());
    setNotice(done);
  });
  const change = (work: () => Promise<unknown>, done: string) => action.run(async () => {
    await work();
    await onChanged();
    setNotice(done);
  });

  return (
    <section class="card stack" aria-labelledby="decide-title">
      <h2 id="decide-title">Decide</h2>
      {notice && <p class="notice" role="status">{notice}</p>}
      <ErrorNotice error={action.error} />

      {accountability.banned ? (
        <div class="actions">
          <button type="button" class="button" disabled={action.busy || !subject.personaId}
            onClick={() => change(() => api.unban(subject), 'Ban lifted. The risk level stays as it was: lower it below once you are sure.')}>
            Lift the ban
          </button>
        </div>
      ) : (
        <form class="stack" aria-label="Ban this person" onSubmit={(event) => {
          event.preventDefault();
          void change(async () => {
            await api.ban(subject, reason.trim());
            setReason('');
          }, 'Banned. Every persona of theirs is banned, their risk level is HIGH and their signed-in sessions have ended.');
        }}>
          <Field label="Reason for the ban" value={reason} onValue={setReason} maxLength={500} required
            hint="Bans every persona of this person, sets the risk level to HIGH and ends their signed-in sessions." />
          <button class="button danger" type="submit" disabled={action.busy || !subject.personaId}>Ban this person</button>
        </form>
      )}

      <form class="inline-form" aria-label="Abuse score" onSubmit={(event) => {
        event.preventDefault();
        const value = Number(scoreText);
        void setting(() => api.setAbuseScore(profileId, value), `Abuse score set to ${value}; the risk level follows it.`);
      }}>
        <Field label="Abuse score (0 clean … 1 worst)" type="number" min={0} max={1} step={0.01} value={scoreText} onValue={setScoreText} required />
        <button class="button" type="submit" disabled={action.busy}>Set score</button>
      </form>

      <form class="inline-form" aria-label="Risk level" onSubmit={(event) => {
        event.preventDefault();
        void setting(() => api.setRiskLevel(profileId, risk), `Risk level set to ${risk}.`);
      }}>
        <div class="field">
          <label for={ids.risk}>Risk level</label>
          <select id={ids.risk} value={risk} onChange={(event) => setRisk(event.currentTarget.value as RiskLevel)}>
            {RISK_LEVELS.map((level) => <option key={level} value={level}>{level}</option>)}
          </select>
        </div>
        <button class="button" type="submit" disabled={action.busy}>Set risk level</button>
      </form>

      <div class="actions">
        <button type="button" class="button" disabled={action.busy}
          onClick={() => setting(() => api.setVerified(profileId, !accountability.verified), accountability.verified ? 'No longer verified.' : 'Verified.')}>
          {accountability.verified ? 'Unverify' : 'Verify'}
        </button>
        <button type="button" class="button" disabled={action.busy}
          onClick={() => setting(() => api.setLegalHold(profileId, !accountability.legalHold),
            accountability.legalHold ? 'Legal hold lifted: purging resumes.' : 'Legal hold placed: nothing of theirs is purged while it holds.')}>
          {accountability.legalHold ? 'Lift the legal hold' : 'Place a legal hold'}
        </button>
      </div>

      <div class="field">
        <label for={ids.persona}>Persona for a flag or an appeal</label>
        <select id={ids.persona} value={notePersona} onChange={(event) => setNotePersona(event.currentTarget.value)}>
          {personas.map((persona) => <option key={persona.id} value={persona.id}>{persona.displayName}</option>)}
        </select>
      </div>
      <form class="inline-form" aria-label="Flag a persona" onSubmit={(event) => {
        event.preventDefault();
        void change(async () => {
          await api.flag(notePersona, flagReason.trim());
          setFlagReason('');
        }, 'Flag added to the file.');
      }}>
        <Field label="Reason for the flag" value={flagReason} onValue={setFlagReason} maxLength={500} required />
        <button class="button" type="submit" disabled={action.busy}>Add flag</button>
      </form>
      <form class="stack" aria-label="Record an appeal" onSubmit={(event) => {
        event.preventDefault();
        void change(async () => {
          await api.openAppeal(notePersona, statement.trim());
          setStatement('');
        }, 'Appeal recorded. While it is open, none of their personas is purged.');
      }}>
        <div class="field">
          <label for={ids.statement}>The person's appeal, in their words</label>
          <textarea id={ids.statement} rows={3} maxLength={4000} required value={statement} onInput={(event) => setStatement(event.currentTarget.value)} />
        </div>
        <button class="button" type="submit" disabled={action.busy}>Record appeal</button>
      </form>
    </section>
  );
}
