import { api } from '../../api/client.ts';
import { graphApi } from '../identity-graph-api.ts';

/** The methods with a ceremony of their own (a password has none: POST /auth/login, or step-up's `password`). */
export type Strategy = 'email' | 'wallet' | 'social' | 'passkey' | 'key';

/**
 * Why a ceremony runs (`purpose` of POST /api/v2/auth/challenge): to sign in, to link the method to
 * the signed-in person, or to confirm it is them (step-up). A link or step-up ceremony belongs to
 * the signed-in session that asks for it.
 */
export type Purpose = 'sign-in' | 'link' | 'step-up';

/** What a ceremony proves: the method's body of authenticate, link-accounts' `proof`, or step-up (all but `strategy`). */
export type Proof = Record<string, unknown>;

/** Each screen decides what a proof is for; the ceremony only makes it. */
export type OnProof = (proof: Proof) => Promise<void>;

export const startCeremony = <T>(strategy: Strategy, purpose: Purpose, body: Record<string, unknown> = {}) =>
  api.post<T>('/api/v2/auth/challenge', { strategy, purpose, ...body });

/** Where a proof goes for its purpose: the one place that knows the three routes. */
export async function spendProof(purpose: Purpose, strategy: Strategy, proof: Proof): Promise<void> {
  if (purpose === 'sign-in') await api.post('/api/v2/auth/authenticate', { strategy, ...proof });
  else if (purpose === 'link') await graphApi.link(strategy, proof);
  else await api.post('/api/v2/auth/step-up', { strategy, ...proof });
}

/** How a purpose words its buttons: "Sign in with a wallet", "Link a wallet", "Confirm with a wallet". */
export const withMethod = (purpose: Purpose, method: string) =>
  purpose === 'sign-in' ? `Sign in with ${method}` : purpose === 'link' ? `Link ${method}` : `Confirm with ${method}`;

/** The last button of a ceremony: `linkText` names what linking adds ("Link this key"). */
export const finishLabel = (purpose: Purpose, linkText: string) =>
  purpose === 'sign-in' ? 'Sign in' : purpose === 'link' ? linkText : 'Confirm';
