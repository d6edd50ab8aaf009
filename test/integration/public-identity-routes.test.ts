import { routesOf } from '../support/routes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * Every non-GET route decides whether it can change what a public lookup answers (GET
 * /identities/{handle}, WebFinger: a persona's liveness, name and avatar, a handle's persona, the
 * person's territory and old territories, a territory's name and domains, the key behind a did).
 * Those that can declare `config: { changesPublicIdentity: true }` and bump the identity generation
 * on every answer; those that cannot are listed below with the reason. A new route in neither list
 * fails this test, so its author has to decide.
 */
const CHANGES_PUBLIC_IDENTITY = [
  'POST /personas/:id/rotate', // the old persona retires: its handle stops answering
  'POST /personas/:id/deactivate',
  'POST /personas/:id/reactivate',
  'POST /personas/:id/delete-permanent',
  'PUT /personas/:id/handle', // a claim: the handle starts answering
  'POST /personas/:id/handle/move', // the handle answers with another persona's face
  'POST /admin/territories', // may become a territory people are counted in (the default's domains, aliases)
  'PATCH /admin/territories/:code', // name and domains are in every identity of its people
  'DELETE /api/v2/federation/citizenships/:code', // finishes an interrupted move first
  'POST /api/v2/federation/moves', // a new current territory, the old address as an alias
  'POST /api/v2/federation/moves/resume',
  'POST /api/v2/auth/link-accounts', // a merged guest's personas join the person (territory, key hash)
  'DELETE /api/v2/auth/accounts/:ref', // an unlinked key leaves the handles (their did)
  'DELETE /api/v2/auth/identity', // every persona of the person is deleted
];

/** Non-GET routes that cannot change a public identity, and why. */
const CANNOT_CHANGE_PUBLIC_IDENTITY: Record<string, string> = {
  'POST /session': 'starts a guest: a new persona, without a handle',
  'POST /session/app-ticket': 'a ticket for an app',
  'PUT /session/active-persona': 'which persona a session acts as',
  'POST /apps/resolve': 'an app introduction (a pairwise hash; may start a guest without a handle)',
  'POST /personas': 'a new persona has no handle yet',
  'POST /policy/check': 'a read',
  'POST /spaces/:id/join': 'memberships are not public identity',
  'POST /spaces/:id/leave': 'memberships are not public identity',
  'POST /identity-link': 'identity data is private',
  'DELETE /identity-link': 'identity data is private',
  'POST /invitations': 'an invitation is not an identity',
  'POST /invitations/inspect': 'a read',
  'POST /invitations/qr': 'a picture of an invitation',
  'POST /invitations/:id/revoke': 'an invitation is not an identity',
  'POST /auth/register': 'a new person, whose new handle no cache holds (not-found is never cached)',
  'POST /auth/login': 'a session',
  'POST /auth/recover': 'a password and a session',
  'POST /auth/logout': 'a session',
  'PUT /api/v2/auth/password': 'a credential',
  'POST /api/v2/auth/recovery-codes': 'credentials',
  'POST /api/v2/auth/refresh': 'tokens',
  'POST /api/v2/auth/step-up': 'a session',
  'POST /api/v2/auth/sessions/revoke-others': 'sessions',
  'DELETE /api/v2/auth/sessions/:id': 'a session',
  'POST /api/v2/auth/challenge': 'a ceremony',
  'POST /api/v2/auth/authenticate': 'a first sign-in makes a new person without a handle; a key joins an existing person only through link-accounts',
  'PUT /api/v2/auth/link-privacy': 'who may act as which persona, not what a lookup shows',
  'POST /api/v2/profiles/:id/session-wallet': 'a wallet address is not in the public identity',
  'POST /admin/tokens': 'operators',
  'DELETE /admin/tokens/:id': 'operators',
  'POST /admin/apps': 'apps',
  'DELETE /admin/apps/:id': 'apps',
  'POST /admin/appeals': 'trust and safety records (hiding a persona is a deactivation)',
  'POST /admin/appeals/:id/resolve': 'trust and safety records',
  'POST /admin/bans': 'a ban refuses sign-ins; it does not hide personas',
  'POST /admin/bans/lift': 'see bans',
  'POST /admin/webhooks': 'webhooks',
  'DELETE /admin/webhooks/:id': 'webhooks',
  'POST /admin/personas/:id/flags': 'a flag is internal',
  'POST /admin/personas/:id/trust-level': 'the trust level is not in the public identity',
  'PUT /admin/people/:profileId/abuse-score': 'internal',
  'PUT /admin/people/:profileId/risk-level': 'internal',
  'PUT /admin/people/:profileId/verified': 'internal',
  'PUT /admin/people/:profileId/legal-hold': 'delays a purge; hides nothing',
  'PUT /admin/policies/:name': 'policies',
  'DELETE /admin/policies/:name': 'policies',
  'POST /admin/invitations': 'an invitation is not an identity',
  'POST /admin/invitations/:id/revoke': 'an invitation is not an identity',
};

let test: TestApp;
let bumps = 0;
beforeAll(async () => {
  test = await startTestApp();
  // Without Redis, a bump is an `identities` message on the bus (LocalIdentityGeneration).
  test.invalidation.subscribe((message) => {
    if (message.kind === 'identities') bumps++;
  });
});
afterAll(() => test.close());

/** Every non-GET route, as "METHOD /path". */
const writeRoutes = () => routesOf(test.app).filter((route) => !['GET', 'OPTIONS'].includes(route.split(' ')[0]!));

describe('routes that can change a public identity', () => {
  it('every non-GET route is either flagged or listed as unable to change one, and the lists are current', () => {
    const routes = writeRoutes();
    expect(routes.length).toBeGreaterThan(40);
    const undecided = routes.filter((route) => !CHANGES_PUBLIC_IDENTITY.includes(route) && !(route in CANNOT_CHANGE_PUBLIC_IDENTITY));
    expect(undecided, 'flag these routes changesPublicIdentity, or list them as unable to change a public identity').toEqual([]);
    const gone = [...CHANGES_PUBLIC_IDENTITY, ...Object.keys(CANNOT_CHANGE_PUBLIC_IDENTITY)].filter((route) => !routes.includes(route));
    expect(gone).toEqual([]);
    expect(CHANGES_PUBLIC_IDENTITY.filter((route) => route in CANNOT_CHANGE_PUBLIC_IDENTITY)).toEqual([]);
  });

  it('a flagged route bumps the generation on any answer (a refusal included), and no listed route does', async () => {
    const wrong: string[] = [];
    for (const route of writeRoutes()) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000');
      const before = bumps;
      // No session, no body: every route refuses; a flagged one bumps all the same.
      await test.app.inject({ method: method as 'POST', url });
      const bumped = bumps > before;
      if (bumped !== CHANGES_PUBLIC_IDENTITY.includes(route)) wrong.push(`${route} ${bumped ? 'bumps' : 'does not bump'}`);
    }
    expect(wrong).toEqual([]);
  });
});
