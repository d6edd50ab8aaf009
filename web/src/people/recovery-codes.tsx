import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';

/**
 * Recovery codes, shown once: the person must confirm they kept them before going on (to the start,
 * unless `onDone` says where).
 */
export function RecoveryCodes({ codes, onDone }: { codes: readonly string[]; onDone?: () => void }) {
  const [kept, setKept] = useState(false);
  const { route } = useLocation();
  return (
    <div class="card stack" data-testid="recovery-codes">
      <h2>Your recovery codes</h2>
      <p>
        Without an email address, these codes are the only way back in if you lose your password. Each works once.
        Write them down or store them in a password manager: they will not be shown again.
      </p>
      <ol class="codes">{codes.map((code) => <li key={code}><code>{code}</code></li>)}</ol>
      <label class="check">
        <input type="checkbox" checked={kept} onChange={(event) => setKept(event.currentTarget.checked)} />
        I have stored these codes somewhere safe
      </label>
      <button type="button" class="button primary" disabled={!kept} onClick={() => (onDone ? onDone() : route('/'))}>Continue</button>
    </div>
  );
}
