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
 * methods (POST /api/v2/auth/step-up with a `purpose: "step-up"` ceremony, or with a password of their own)
 * and explains why an email code does not count for a person who holds something stronger.
 * `redirects: false` leaves out social sign-in, whose round trip to the provider would lose the page.
 */
export function StepUpForm({ onConfirmed, onCancel, redirects = true, change }: {
  onConfirmed: () => Promise<void>;
  onCancel: () => void;
  redirects?: boolean;
  /** The name of the change waiting, carried through a social step-up's round trip (NamedChange). */
  change?: string | undefined;
}) {
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
        {current && <StepUpMethod kind={current.kind} graph={graph ?? null} onConfirmed={onConfirmed} change={change} />}
        <div class="actions">
          <button class="button" type="button" onClick={onCancel}>Cancel</button>
        </div>
      </div>
    </dialog>
  );
}

/** One method's step-up ceremony; the person's graph supplies what it already knows (a key, the providers). */
function StepUpMethod({ kind, graph, onConfirmed, change }: { kind: Kind; graph: IdentityGraph | null; onConfirmed: () => Promise<void>; change: string | undefined }) {
  const accounts = graph?.accounts ?? [];
  const confirmWith = (strategy: Strategy) => async (proof: Proof) => {
    await spendProof('step-up', strategy, proof);
    await onConfirmed();
  };
  switch (kind) {
    case 'password':
      return (
        <PasswordForm label="Confirm it is you" submit="Confirm" note="Enter your own email or handle and its password again." onCredentials={async (credentials) => {
          // Not a sign-in: the service checks the password against this person's own accounts, so
          // another account's credentials are refused rather than switching the session to it.
          await api.post('/api/v2/auth/step-up', { strategy: 'password', ...credentials });
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
          beforeLeaving={async () => (change ? { change } : {})}
          note={change
            ? 'You will sign in at the provider and come back to this page, which then offers to make your change again.'
            : 'You will sign in at the provider and come back to this page; then make the change again within a few minutes.'} />
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
 * A sensitive change, named so that it can be offered again after a social step-up, which leaves the
 * page for the provider. Only the name travels (beside the ceremony's verification id, in
 * sessionStorage, removed on return): never what the person typed, never a token.
 */
export type NamedChange = {
  /** Lower-case words joined by dashes (`recovery-codes`), one per screen that offers it. */
  readonly name: string;
  /** What the person was doing, to end "You were about to …". */
  readonly doing: string;
} & (
  /** The change again at a click (its own label, beside the screen's button), when it needs nothing the person typed. */
  | { readonly redo: { readonly label: string; readonly run: () => void } }
  /** Else what to do again, in words (what the person typed was not kept). */
  | { readonly hint: string }
);

const CHANGE_NAME = /^[a-z]+(-[a-z]+)*$/;

// Handed from the callback page to the screen it returns to, in memory (one route change apart).
let returnedFor: string | null = null;

/** After a social step-up: the change that was waiting, by name, for the screen the callback returns to. */
export const resumedChange = {
  set(name: string): void {
    returnedFor = CHANGE_NAME.test(name) ? name : null;
  },
  /** Whether the person came back to make this change (without taking it). */
  waits: (name: string): boolean => returnedFor === name,
  take(name: string): boolean {
    if (returnedFor !== name) return false;
    returnedFor = null;
    return true;
  },
};

/** Back from the provider: the session is confirmed; the change the person was making is offered again. */
function ResumeOffer({ change, onDone }: { change: NamedChange; onDone: () => void }) {
  const redo = 'redo' in change ? change.redo : null;
  return (
    <div class="notice">
      <p role="status">
        Confirmed: for the next few minutes you can make sensitive changes. You were about to {change.doing}.
        {'hint' in change && ` ${change.hint}`}
      </p>
      {redo && (
        <div class="actions">
          <button type="button" class="button primary" onClick={() => {
            onDone();
            redo.run();
          }}>{redo.label}</button>
          <button type="button" class="button" onClick={onDone}>Not now</button>
        </div>
      )}
    </div>
  );
}

/**
 * Sensitive changes with their step-up: `guard(change)` runs the change; when the service answers
 * STEP_UP_REQUIRED, `dialog` asks the person to confirm it is them, then `run`s the change again (in
 * the screen's own action, so its errors show where the screen shows errors). A change that failed
 * for want of a step-up changed nothing, and a ceremony's proof is not spent by it: it is retried as is.
 * With `change`, a social step-up's return to the page offers the change again (in `dialog`'s place).
 */
export function useStepUp(
  run: (action: () => Promise<void>) => Promise<void>,
  options: { redirects?: boolean; onCancel?: () => void; change?: NamedChange } = {},
) {
  const [waiting, setWaiting] = useState<(() => Promise<void>) | null>(null);
  const [resumed, setResumed] = useState(() => options.change !== undefined && resumedChange.take(options.change.name));
  const guard = async (change: () => Promise<void>): Promise<void> => {
    try {
      await change();
    } catch (error) {
      if (!needsStepUp(error)) throw error;
      setResumed(false);
      setWaiting(() => change);
    }
  };
  const dialog = waiting ? (
    <StepUpForm redirects={options.redirects} change={options.change?.name} onCancel={() => {
      setWaiting(null);
      options.onCancel?.();
    }} onConfirmed={async () => {
      setWaiting(null);
      await run(() => guard(waiting));
    }} />
  ) : resumed && options.change ? <ResumeOffer change={options.change} onDone={() => setResumed(false)} /> : null;
  /** Runs a change in the screen's action, guarded: the usual way to make a sensitive change. */
  const runGuarded = (change: () => Promise<void>) => run(() => guard(change));
  return { guard, run: runGuarded, dialog };
}
