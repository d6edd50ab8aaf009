import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { dateOf } from './persona-card.tsx';
import { territoryApi, type Citizenship, type CreatedInvitation, type Invitation, type Territory } from './territory-api.ts';

/** Where your data lives (citizenships, moves) and who you invite, with a share link and a QR code. */
export function TerritoryPage() {
  const [territories, setTerritories] = useState<Territory[]>([]);
  const [citizenships, setCitizenships] = useState<Citizenship[] | null>(null);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const load = useAction();
  const reload = () => load.run(async () => {
    const [all, mine, invited] = await Promise.all([territoryApi.territories(), territoryApi.citizenships(), territoryApi.invitations()]);
    setTerritories(all);
    setCitizenships(mine);
    setInvitations(invited);
  });
  useEffect(() => void reload(), []);
  return (
    <Page title="Territory and invitations" intro="Your personal data lives in one territory (a data-residency region). You can move, keep a dual citizenship, and invite others.">
      <ErrorNotice error={load.error} />
      <section class="card stack" aria-labelledby="citizenships-title">
        <h2 id="citizenships-title">Citizenships</h2>
        {citizenships === null ? <p aria-busy="true">Loading…</p> : <Citizenships citizenships={citizenships} onChanged={reload} />}
      </section>
      <MoveForm territories={territories} citizenships={citizenships ?? []} onMoved={reload} />
      <InviteForm territories={territories} onCreated={reload} />
      <section class="card stack" aria-labelledby="invitations-title">
        <h2 id="invitations-title">Your invitations</h2>
        {invitations.length === 0 ? <p class="muted">None yet.</p> : <Invitations invitations={invitations} onChanged={reload} />}
      </section>
    </Page>
  );
}

function Citizenships({ citizenships, onChanged }: { citizenships: Citizenship[]; onChanged: () => Promise<void> }) {
  const action = useAction();
  return (
    <>
      <ul class="list" aria-label="Your citizenships">
        {citizenships.map((citizenship) => (
          <li key={citizenship.territory.code}>
            <strong>{citizenship.territory.name}</strong> <code>{citizenship.territory.code}</code>
            {citizenship.primary && <span class="badge">primary</span>}
            <p class="small muted">Since {dateOf(citizenship.since)}</p>
            {!citizenship.primary && (
              <button type="button" class="button danger" disabled={action.busy} onClick={() => action.run(async () => {
                await territoryApi.endCitizenship(citizenship.territory.code);
                await onChanged();
              })}>End citizenship in {citizenship.territory.name}</button>
            )}
          </li>
        ))}
      </ul>
      <ErrorNotice error={action.error} />
    </>
  );
}

function MoveForm({ territories, citizenships, onMoved }: { territories: Territory[]; citizenships: Citizenship[]; onMoved: () => Promise<void> }) {
  const primary = citizenships.find((citizenship) => citizenship.primary)?.territory.code;
  const choices = territories.filter((territory) => territory.code !== primary);
  const [to, setTo] = useState('');
  const [dual, setDual] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();
  if (choices.length === 0) return null;
  return (
    <form class="card stack" aria-label="Move to another territory" onSubmit={(event) => {
      event.preventDefault();
      void action.run(async () => {
        await territoryApi.move(to, dual);
        setNotice('Moved. Your old address stays as an alias that still finds you.');
        await onMoved();
      });
    }}>
      <h2>Move</h2>
      <p class="small">Your data is copied to the new territory and removed from the old one. One move per 30 days.</p>
      <div class="field">
        <label for="move-to">Territory</label>
        <select id="move-to" value={to} onChange={(event) => setTo(event.currentTarget.value)} required>
          <option value="">Choose…</option>
          {choices.map((territory) => (
            <option key={territory.code} value={territory.code}>{territory.name}{territory.inviteOnly ? ' (invitation needed)' : ''}</option>
          ))}
        </select>
      </div>
      <label class="check"><input type="checkbox" checked={dual} onChange={(event) => setDual(event.currentTarget.checked)} /> Keep my current citizenship as a second one</label>
      <ErrorNotice error={action.error} />
      {notice && <p class="notice" role="status">{notice}</p>}
      <button class="button primary" type="submit" disabled={action.busy || to === ''}>Move</button>
    </form>
  );
}

function InviteForm({ territories, onCreated }: { territories: Territory[]; onCreated: () => Promise<void> }) {
  const [territory, setTerritory] = useState('');
  const [group, setGroup] = useState(false);
  const [email, setEmail] = useState('');
  const [created, setCreated] = useState<CreatedInvitation | null>(null);
  const [copied, setCopied] = useState(false);
  const action = useAction();
  return (
    <form class="card stack" aria-label="Invite someone" onSubmit={(event) => {
      event.preventDefault();
      void action.run(async () => {
        setCreated(await territoryApi.invite({
          kind: group ? 'group' : 'single_use',
          ...(territory ? { territory } : {}),
          ...(email.trim() ? { email: email.trim() } : {}),
        }));
        setCopied(false);
        await onCreated();
      });
    }}>
      <h2>Invite someone</h2>
      <div class="field">
        <label for="invite-territory">Into</label>
        <select id="invite-territory" value={territory} onChange={(event) => setTerritory(event.currentTarget.value)}>
          <option value="">My territory</option>
          {territories.map((item) => <option key={item.code} value={item.code}>{item.name}</option>)}
        </select>
      </div>
      <label class="check"><input type="checkbox" checked={group} onChange={(event) => setGroup(event.currentTarget.checked)} /> Several people may use it (a group invitation)</label>
      <Field label="Email (optional)" type="email" value={email} onValue={setEmail} hint="Without one, share the link or the QR code yourself. With one, only that address may use it." />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>Create invitation</button>
      {created && (
        <div class="stack" data-testid="new-invitation">
          <p role="status">Invitation created. The link is shown only now: share it or print the QR code.</p>
          <Field label="Share link" value={created.inviteLink} onValue={() => {}} readOnly />
          <button type="button" class="button" onClick={() => void navigator.clipboard?.writeText(created.inviteLink).then(() => setCopied(true), () => setCopied(false))}>
            {copied ? 'Copied' : 'Copy link'}
          </button>
          <img class="qr" src={created.qr.png} alt="QR code of the invitation link" width={192} height={192} />
          {created.emailSent === false && <p class="notice notice-error" role="alert">The mail could not be sent; share the link instead.</p>}
        </div>
      )}
    </form>
  );
}

function Invitations({ invitations, onChanged }: { invitations: Invitation[]; onChanged: () => Promise<void> }) {
  const action = useAction();
  return (
    <>
      <ul class="list" aria-label="Your invitations">
        {invitations.map((invitation) => (
          <li key={invitation.id}>
            <strong>{invitation.kind === 'group' ? 'Group' : 'Single use'}</strong> into <code>{invitation.territory}</code>
            <span class="badge">{invitation.state}</span>
            <p class="small muted">
              Used {invitation.uses}{invitation.maxUses === null ? '' : ` of ${invitation.maxUses}`}
              {invitation.expiresAt ? ` · expires ${dateOf(invitation.expiresAt)}` : ''}
              {invitation.hasEmail ? ' · sent by email' : ''}
            </p>
            {invitation.state === 'usable' && (
              <button type="button" class="button danger" disabled={action.busy} onClick={() => action.run(async () => {
                await territoryApi.revoke(invitation.id);
                await onChanged();
              })}>Withdraw</button>
            )}
          </li>
        ))}
      </ul>
      <ErrorNotice error={action.error} />
    </>
  );
}
