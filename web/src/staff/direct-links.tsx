import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';
import { when } from './display.ts';
import type { StaffApi } from './staff-api.ts';
import type { SignInMethod, SignInMethods } from './staff-types.ts';

const methodName = (method: SignInMethod | undefined) =>
  method ? `${method.type}${method.provider ? ` (${method.provider})` : ''}` : 'a method no longer on file';

/**
 * How the person signs in and the links they made between those methods. Only kinds are shown, never
 * an identifier: staff judge conduct, and need no email or wallet address for it.
 */
export function DirectLinks({ api, profileId }: { api: StaffApi; profileId: string }) {
  const [data, setData] = useState<SignInMethods | null>(null);
  const load = useAction();
  useEffect(() => void load.run(async () => setData(await api.signInMethods(profileId))), [profileId]);
  if (load.error) return <ErrorNotice error={load.error} />;
  if (!data) return <p aria-busy="true">Loading sign-in methods…</p>;
  const byId = new Map(data.methods.map((method) => [method.accountId, method]));
  return (
    <>
      <h3>Sign-in methods ({data.methods.length})</h3>
      <ul class="list" aria-label="Sign-in methods">
        {data.methods.map((method) => (
          <li key={method.accountId}>
            <strong>{methodName(method)}</strong> <span class="badge">{method.verified ? 'verified' : 'unverified'}</span>
            <span class="badge">sees {method.privacyMode === 'linked' ? 'all personas' : method.privacyMode === 'partial' ? 'chosen personas' : 'its own personas'}</span>
            <p class="small muted">Added {when(method.createdAt)}</p>
          </li>
        ))}
      </ul>
      <h3>Direct links ({data.directLinks.length})</h3>
      {data.directLinks.length === 0 ? (
        <p>No direct links: the person has linked no two methods.</p>
      ) : (
        <ul class="list" aria-label="Direct links">
          {data.directLinks.map((link) => (
            <li key={`${link.fromAccountId}-${link.toAccountId}`}>
              {methodName(byId.get(link.fromAccountId))} ↔ {methodName(byId.get(link.toAccountId))}
              {link.privacyMode && <span class="badge">{link.privacyMode}</span>}
              <p class="small muted">Linked by the person, proving both, {when(link.createdAt)}</p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
