import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api/client.ts';
import { graphApi, type IdentityGraph } from './identity-graph-api.ts';
import { spendProof, type Proof, type Strategy } from './methods/ceremony.ts';
import { EmailCodeCeremony } from './methods/email-code.tsx';
import { KeyCeremony, publicKeyOfDid } from './methods/key.tsx';
import { PasskeyCeremony } from './methods/passkey.tsx';
import { PasswordForm } from './methods/password.tsx';
import { SocialButtons } from './methods/social.tsx';
import { WalletCeremony } from './methods/wallet.tsx';

export const needsStepUp = (error: unknown) => error instanceof ApiError && error.code === 'STEP_UP_REQUIRED';

const TOO_WEAK = 'STEP_UP_METHOD_TOO_WEAK';
const TOO_WEAK_TEXT =
  'An email code cannot confirm this change, because you also have a stronger way to sign in: a password, a passkey, ' +
  'a wallet, a key or another service. Anyone who gets into your mailbox could receive a code, so changes like ' +
  'linking and unlinking ask for one of those. Choose it above.';

/** The methods that need no authenticator to be there: an email code counts only for a person with nothing stronger. */
const AUTHENTICATOR_TYPES = new Set(['passkey', 'wallet', 'key', 'social', 'handle']);

type Kind = 'passkey' | 'wallet' | 'key' | 'social' | 'password' | 'email';

interface Choice {
  readonly kind: Kind;
  readonly label: string;
}

/**
 * The person's own methods, strongest first, as the identity graph shows them (an isolated method
 * hides from the others, so it is not offered). Unknown graph: every method that needs no redirect.
 */
function choicesOf(graph: IdentityGraph | null, redirects: boolean): Choice[] {
  const types = new Set(graph ? graph.accounts.map((account) => account.type) : ['passkey', 'wallet', 'key', 'email']);
  const choices: Choice[] = [];
  if (types.has('passkey')) choices.push({ kind: 'passkey', label: 'Passkey' });
  if (types.has('wallet')) choices.push({ kind: 'wallet', label: 'Wallet' });
  if (types.has('key')) choices.push({ kind: 'key', label: 'Key' });
  if (types.has('social') && redirects) choices.push({ kind: 'social', label: 'Another service' });
  if (types.has('email') || types.has('handle') || choices.length === 0) choices.push({ kind: 'password', label: 'Password' });
  if (types.has('email')) choices.push({ kind: 'email', label: 'Email code' });
  return choices;
}

/**
 * "Confirm it is you", as a modal dialog: sensitive changes (link, unlink, a new password, deletion)
 * need a sign-in from the last minutes (docs/auth-methods.md, Step-up). It offers the person's own
 * methods (POST /api/v2/auth/step-up with a `purpose: "step-up"` ceremony, or a fresh password sign-in)
 * and explains why an email code does not count for a person who holds something stronger.
 * `redirects: false` leaves out social sign-in, whose round trip to the provider would lose the page.
 */
export function StepUpForm({ onConfirmed, onCancel, redirects = true }: { onConfirmed: () => Promise<void>; onCancel: () => void; redirects?: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [graph, setGraph] = useState<IdentityGraph | null | undefined>(undefined);
  const [chosen, setChosen] = useState<Kind | null>(null);
  useEffect(() => {
    dialog.current?.showModal();
    graphApi.read().then(setGraph, () => setGraph(null));
  }, []);
  const choices = graph === undefined ? [] : choicesOf(graph, redirects);
  const current = choices.find((choice) => choice.kind === chosen) ?? choices[0];
  return (
    <dialog ref={dialog} aria-labelledby={`${id}-title`} aria-describedby={`${id}-why`} onCancel={(event) => {
      event.preventDefault();
      onCancel();
    }}>
      <div class="stack">
        <h2 id={`${id}-title`}>Confirm it is you</h2>
        <p id={`${id}-why`} class="small">This change needs a sign-in from the last few minutes. Confirm with one of your own sign-in methods.</p>
        {graph === undefined && <p aria-busy="true">Loading your methods…</p>}
        {choices.length > 1 && (
          <div class="segmented" role="group" aria-label="Confirm with">
            {choices.map((choice) => (
              <button key={choice.kind} type="button" class="button" aria-pressed={current?.kind === choice.kind} onClick={() => setChosen(choice.kind)}>{choice.label}</button>
            ))}
          </div>
        )}
        {current && <StepUpMethod kind={current.kind} graph={graph ?? null} onConfirmed={onConfirmed} />}
        <div class="actions">
          <button class="button" type="button" onClick={onCancel}>Cancel</button>
        </div>
      </div>
    </dialog>
  );
}

/** One method's step-up ceremony; the person's graph supplies what it already knows (a key, the providers). */
function StepUpMethod({ kind, graph, onConfirmed }: { kind: Kind; graph: IdentityGraph | null; onConfirmed: () => Promise<void> }) {
  const accounts = graph?.accounts ?? [];
  const confirmWith = (strategy: Strategy) => async (proof: Proof) => {
    await spendProof('step-up', strategy, proof);
    await onConfirmed();
  };
  switch (kind) {
    case 'password':
      return (
        <PasswordForm label="Confirm it is you" submit="Confirm" note="Enter your email or handle and password again." onCredentials={async (credentials) => {
          // Signing in again counts as a step-up (a new session for the same account).
          await api.post('/auth/login', credentials);
          await onConfirmed();
        }} />
      );
    case 'passkey':
      return <PasskeyCeremony purpose="step-up" modes={['authenticate']} onProof={confirmWith('passkey')} />;
    case 'wallet':
      return <WalletCeremony purpose="step-up" onProof={confirmWith('wallet')} />;
    case 'key': {
      const did = accounts.find((account) => account.type === 'key' && account.did)?.did;
      return <KeyCeremony purpose="step-up" knownPublicKey={(did && publicKeyOfDid(did)) || ''} onProof={confirmWith('key')} />;
    }
    case 'social': {
      const providers = [...new Set(accounts.flatMap((account) => (account.type === 'social' && account.provider ? [account.provider] : [])))];
      return (
        <SocialButtons purpose="step-up" providers={providers} returnTo={window.location.pathname}
          note="You will sign in at the provider and come back to this page; then make the change again within a few minutes." />
      );
    }
    case 'email':
      // Known to be refused (the person shows a stronger method): say why rather than mail a useless code.
      return accounts.some((account) => AUTHENTICATOR_TYPES.has(account.type))
        ? <div class="notice notice-error" role="alert"><p>{TOO_WEAK_TEXT}</p></div>
        : <EmailCodeCeremony purpose="step-up" onProof={confirmWith('email')} hints={{ [TOO_WEAK]: TOO_WEAK_TEXT }} />;
  }
}

/**
 * Sensitive changes with their step-up: `guard(change)` runs the change; when the service answers
 * STEP_UP_REQUIRED, `dialog` asks the person to confirm it is them, then `run`s the change again (in
 * the screen's own action, so its errors show where the screen shows errors). A change that failed
 * for want of a step-up changed nothing, and a ceremony's proof is not spent by it: it is retried as is.
 */
export function useStepUp(run: (action: () => Promise<void>) => Promise<void>, options: { redirects?: boolean; onCancel?: () => void } = {}) {
  const [waiting, setWaiting] = useState<(() => Promise<void>) | null>(null);
  const guard = async (change: () => Promise<void>): Promise<void> => {
    try {
      await change();
    } catch (error) {
      if (!needsStepUp(error)) throw error;
      setWaiting(() => change);
    }
  };
  const dialog = waiting && (
    <StepUpForm redirects={options.redirects} onCancel={() => {
      setWaiting(null);
      options.onCancel?.();
    }} onConfirmed={async () => {
      setWaiting(null);
      await run(() => guard(waiting));
    }} />
  );
  /** Runs a change in the screen's action, guarded: the usual way to make a sensitive change. */
  const runGuarded = (change: () => Promise<void>) => run(() => guard(change));
  return { guard, run: runGuarded, dialog };
}
