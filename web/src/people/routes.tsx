import type { ComponentType } from 'preact';
import { Account } from './account.tsx';
import { Identification } from './identification.tsx';
import { InviteLanding } from './invite.tsx';
import { LinkedAccounts } from './linked-accounts.tsx';
import { Personas } from './personas.tsx';
import { Recover } from './recover.tsx';
import { Security } from './security.tsx';
import { SignIn } from './sign-in.tsx';
import { SignUp } from './sign-up.tsx';
import { SocialCallback } from './social-callback.tsx';
import { TerritoryPage } from './territory.tsx';
import { Welcome } from './welcome.tsx';

/** The people's screens. Paths stay clear of the API's GET routes (/session, /personas, /invitations…). */
export const peopleRoutes: ReadonlyArray<{ path: string; component: ComponentType }> = [
  { path: '/', component: Welcome },
  { path: '/sign-in', component: SignIn },
  { path: '/sign-up', component: SignUp },
  { path: '/recover', component: Recover },
  { path: '/me/personas', component: Personas },
  { path: '/me/security', component: Security },
  { path: '/me/account', component: Account },
  { path: '/me/links', component: LinkedAccounts },
  { path: '/me/identification', component: Identification },
  { path: '/me/territory', component: TerritoryPage },
  { path: '/invite', component: InviteLanding },
  // The provider's redirect target (SOCIAL_CALLBACK_PATH, registered at each provider); the API has no GET here.
  { path: '/api/v2/auth/social/callback', component: SocialCallback },
];
