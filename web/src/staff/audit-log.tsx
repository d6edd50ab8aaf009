import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { when } from './display.ts';
import { useStaffSession } from './staff-auth.ts';
import type { AuditEntry, AuditQuery } from './staff-types.ts';

const PAGE = 50;
type Filter = { actor: string; action: string; target: string; person: string; correlationId: string; from: string; to: string };
const FIELDS = ['actor', 'action', 'target', 'person', 'correlationId', 'from', 'to'] as const;

/** A datetime-local value (the staff member's own clock) as the instant the API expects. */
const instant = (local: string) => (local ? new Date(local).toISOString() : undefined);

function toQuery(filter: Filter): AuditQuery {
  return {
    ...(filter.actor.trim() ? { actor: filter.actor.trim() } : {}),
    ...(filter.action.trim() ? { action: filter.action.trim() } : {}),
    ...(filter.target.trim() ? { target: filter.target.trim() } : {}),
    ...(filter.person.trim() ? { person: filter.person.trim() } : {}),
    ...(filter.correlationId.trim() ? { correlationId: filter.correlationId.trim() } : {}),
    ...(filter.from ? { from: instant(filter.from) } : {}),
    ...(filter.to ? { to: instant(filter.to) } : {}),
  };
}

/** Who did what to whom, and in which request. The filters live in the address, so a search can be linked. */
export function AuditLog() {
  const session = useStaffSession();
  const { query, path, route } = useLocation();
  const initial = Object.fromEntries(FIELDS.map((name) => [name, query[name] ?? ''])) as Filter;
  const [filter, setFilter] = useState<Filter>(initial);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const search = useAction();
  const run = (given: Filter, before?: string) => search.run(async () => {
    if (!session) return;
    const page = await session.api.audit({ ...toQuery(given), ...(before ? { before } : {}) });
    setEntries((shown) => (before && shown ? [...shown, ...page] : page));
    setMore(page.length === PAGE);
  });
  useEffect(() => void run(initial), [session]);
  const set = (name: keyof Filter) => (value: string) => setFilter({ ...filter, [name]: value });
  return (
    <Page title="Audit log" intro="Every admin action and every look-up of a person, newest first. The database refuses to change or delete a row.">
      <form class="card audit-filters" aria-label="Search the audit log" onSubmit={(event) => {
        event.preventDefault();
        const params = new URLSearchParams(Object.entries(filter).filter(([, value]) => value.trim() !== ''));
        route(`${path}${params.size ? `?${params}` : ''}`, true);
        void run(filter);
      }}>
        <Field label="Actor" value={filter.actor} onValue={set('actor')} hint="admin, admin-token:<id> or app:<id>" />
        <Field label="Action" value={filter.action} onValue={set('action')} pattern="[a-z0-9][a-z0-9.\-]*" hint="ban.place, or a family: person." />
        <Field label="Target" value={filter.target} onValue={set('target')} hint="persona:<id>, person:<id>, appeal:<id>…" />
        <Field label="Person" value={filter.person} onValue={set('person')} hint="A profile id: the person and all their personas" />
        <Field label="Correlation id" value={filter.correlationId} onValue={set('correlationId')} />
        <Field label="From" type="datetime-local" value={filter.from} onValue={set('from')} />
        <Field label="Until" type="datetime-local" value={filter.to} onValue={set('to')} />
        <div class="actions"><button class="button primary" type="submit" disabled={search.busy}>Search</button></div>
      </form>
      <ErrorNotice error={search.error} />
      {entries === null ? (
        !search.error && <p aria-busy="true">Loading…</p>
      ) : entries.length === 0 ? (
        <p role="status">No entries match.</p>
      ) : (
        <ul class="list" aria-label="Audit entries, newest first">
          {entries.map((entry) => (
            <li key={entry.id} aria-label={`${entry.action} on ${entry.target}`}>
              <p><strong>{entry.action}</strong> <span class="small muted">{when(entry.at)}</span></p>
              <dl class="facts small">
                <dt>Actor</dt><dd><code>{entry.actor}</code></dd>
                <dt>Target</dt><dd><code>{entry.target}</code></dd>
                <dt>Request</dt><dd><code>{entry.correlationId}</code></dd>
                {Object.keys(entry.detail).length > 0 && <><dt>Detail</dt><dd><code>{JSON.stringify(entry.detail)}</code></dd></>}
              </dl>
            </li>
          ))}
        </ul>
      )}
      {more && entries && (
        <div class="actions">
          <button type="button" class="button" disabled={search.busy} onClick={() => run(filter, entries[entries.length - 1]?.id)}>Older entries</button>
        </div>
      )}
    </Page>
  );
}
