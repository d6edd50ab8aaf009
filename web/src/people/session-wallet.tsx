import { useEffect, useState } from 'preact/hooks';
import type { SessionPersona } from '../api/types.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';
import { accountApi } from './account-api.ts';

/** The acting persona's session wallet (spec 003 SmartProfiles): its address, or making one. */
export function SessionWallet({ persona }: { persona: SessionPersona }) {
  // undefined: loading; null: the persona has none yet.
  const [address, setAddress] = useState<string | null | undefined>(undefined);
  const action = useAction();
  useEffect(() => {
    setAddress(undefined);
    void action.run(async () => setAddress(await accountApi.sessionWallet(persona.id)));
  }, [persona.id]);
  return (
    <section class="card stack tight" aria-labelledby="wallet-title">
      <h2 id="wallet-title">Session wallet of {persona.displayName}</h2>
      <p class="small">
        A session wallet is an Ethereum address that belongs to this persona alone, so that it can sign and act in its
        own context, as the persona and not as you, and without your own wallet ever showing. Its private key is made on
        the server and kept sealed there; it is never shown, not even to you. Only the address is. A persona has one at most.
      </p>
      {address === undefined && !action.error && <p aria-busy="true">Loading…</p>}
      {address && <dl class="facts"><dt>Address</dt><dd><code data-testid="wallet-address">{address}</code></dd></dl>}
      {address === null && (
        <>
          <p>{persona.displayName} has no session wallet yet.</p>
          <div class="actions">
            <button type="button" class="button primary" disabled={action.busy}
              onClick={() => void action.run(async () => setAddress(await accountApi.createSessionWallet(persona.id)))}>Create a session wallet</button>
          </div>
        </>
      )}
      <ErrorNotice error={action.error} />
      <p class="small muted">Each persona has its own. To see another's, act as it on the <a href="/me/personas">Personas</a> page.</p>
    </section>
  );
}
