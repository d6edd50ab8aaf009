import { useId, useState } from 'preact/hooks';
import { ApiError } from '../api/client.ts';
import type { PublicSession } from '../api/types.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';
import { graphApi } from './identity-graph-api.ts';
import { resumedChange, useStepUp } from './step-up.tsx';

/**
 * Signing in from a browser that was a guest does not bring the guest's personas along (DESIGN.md
 * §2b): that takes the person's explicit consent, asked once they are signed in. The guest's persona
 * names are read just before the sign-in, while the session is still the guest's.
 */
export async function guestPersonasOf(session: PublicSession | null): Promise<string[]> {
  if (!session?.anonymous || !session.started) return [];
  try {
    return (await graphApi.read()).profiles.map((profile) => profile.displayName);
  } catch {
    return [];
  }
}

// In memory, for the next screen only: nothing about the guest is written to the browser's storage.
let offered: readonly string[] = [];

/** After a sign-in from a guest with personas, the home screen asks whether to bring them along. */
export function offerGuestMerge(personas: readonly string[]): void {
  offered = personas;
}

function takeOffer(): readonly string[] {
  const personas = offered;
  offered = [];
  return personas;
}

async function bringGuestAlong(): Promise<void> {
  try {
    await graphApi.bringGuestAlong();
  } catch (error) {
    // The service names nobody; say what it means here.
    if (error instanceof ApiError && error.code === 'IDENTITY_TAKEN') {
      throw new ApiError(error.status, error.code, 'This browser holds no guest to bring along: it was brought along already, or never used.', error.correlationId);
    }
    throw error;
  }
}

/** The name of this question's change, remembered through a social step-up (step-up.tsx, NamedChange). */
const GUEST_MERGE = 'guest-merge';

/** The home screen's question after a sign-in from a guest with personas; nothing when there is none. */
export function GuestMergeOffer() {
  const [personas] = useState(takeOffer);
  // Back from a social step-up asked for by this question: the names were in memory, gone with the page.
  const [resuming] = useState(() => resumedChange.waits(GUEST_MERGE));
  if (resuming) return <GuestMerge personas={null} canKeepApart />;
  return personas.length > 0 ? <GuestMerge personas={personas} canKeepApart /> : null;
}

/**
 * The consent to bring this browser's guest along (POST /api/v2/auth/link-accounts {targetType:
 * "guest"}), in plain words: what becomes of the guest's personas if they come along, and if not.
 * `personas` null: the names are not known (the linked-methods screen, after a reload).
 */
export function GuestMerge({ personas, canKeepApart = false, onMerged }: { personas: readonly string[] | null; canKeepApart?: boolean; onMerged?: () => Promise<void> }) {
  const action = useAction();
  const stepUp = useStepUp(action.run, {
    change: { name: GUEST_MERGE, doing: 'bring this browser\'s guest along', hint: 'Your answer was not sent: give it again.' },
  });
  const titleId = useId();
  const [outcome, setOutcome] = useState<string | null>(null);
  if (outcome) return <p class="notice" role="status">{outcome}</p>;
  const named = personas && personas.length > 0 ? personas : null;
  const merge = () => action.run(() => stepUp.guard(async () => {
    await bringGuestAlong();
    setOutcome(named
      ? `Brought along: ${named.join(', ')} ${named.length === 1 ? 'is now your persona' : 'are now your personas'}. The guest is gone from this browser.`
      : 'Brought along: the guest\'s personas are now yours. The guest is gone from this browser.');
    await onMerged?.();
  }));
  return (
    <section class="card stack" aria-labelledby={titleId}>
      <h2 id={titleId}>Bring this browser's guest along?</h2>
      {named ? (
        <>
          <p>Before you signed in, this browser was a guest with {named.length === 1 ? 'this persona' : 'these personas'}:</p>
          <ul data-testid="guest-personas">{named.map((name) => <li key={name}>{name}</li>)}</ul>
        </>
      ) : (
        <p>If you used this browser as a guest before you signed in, the guest's personas can become yours.</p>
      )}
      <p>
        <strong>If you bring them along</strong>, they become personas of this account: you can act as them wherever you sign
        in. Their names and public author ids stay the same, so nothing changes for the people who know them; apps that count
        one vote per person will count them as you. The guest itself ends (after you sign out, this browser starts a new
        one). This cannot be undone.
      </p>
      <p>
        <strong>If you keep them apart</strong>, they stay with this browser's guest: sign out to act as them again. Either
        way, a restriction placed on the guest, such as a ban, applies to your account too.
      </p>
      <ErrorNotice error={action.error} />
      <div class="actions">
        <button class="button primary" type="button" disabled={action.busy} onClick={() => void merge()}>Bring them along</button>
        {canKeepApart && (
          <button class="button" type="button" disabled={action.busy} onClick={() => setOutcome('Kept apart. Sign out to act as the guest\'s personas again.')}>Keep them apart</button>
        )}
      </div>
      {stepUp.dialog}
    </section>
  );
}
