import type { Clock } from '../../clock.js';
import type { AppTickets } from '../../crypto/app-tickets.js';
import { newToken, type TokenHasher } from '../../crypto/tokens.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { AppError } from '../../errors.js';
import { reviewRequiredFor } from '../accountability/accountability.js';
import type { SessionService } from '../sessions/session-service.js';
import { API_KEY_PREFIX, type AppSummary, type AppView } from './app.js';
import type { Actor } from '../audit/audit-repository.js';
import type { AppRepository } from './app-repository.js';

export interface AppService {
  /** Registers an app; its API key is returned this once and stored only as a keyed hash. */
  create(name: string, admin: Actor): Promise<{ readonly app: AppSummary; readonly apiKey: string }>;
  list(): Promise<AppSummary[]>;
  revoke(id: string, admin: Actor): Promise<void>;
  /** The app behind an API key, or null for a wrong, malformed or revoked key. */
  authenticate(apiKey: string): Promise<{ readonly id: string } | null>;
  /** A short-lived ticket that introduces the visitor holding `token` to one app, and only to it. */
  /**
   * A ticket for the visitor's current credential: their signed-in session when they have a live one
   * (`sessionToken`), else their anonymous token, so an app sees the same person the service does.
   */
  issueTicket(
    credential: { readonly anonToken: string; readonly sessionToken: string | null },
    appId: string,
  ): Promise<{ readonly ticket: string; readonly expiresAt: string }>;
  /**
   * What an app may know of the visitor a ticket introduces. Reads fresh (no cache), so a ban shows
   * at once. With `start`, a visitor with no state yet gets a guest identity first.
   */
  view(appId: string, ticket: string, start: boolean): Promise<AppView>;
}

/** Long enough for a browser to hand the ticket to its app, short enough to be useless if leaked. */
export const TICKET_LIFETIME_SECONDS = 300;

export interface AppServiceDeps {
  readonly apps: AppRepository;
  readonly sessions: SessionService;
  readonly hasher: TokenHasher;
  readonly pseudonyms: Pseudonyms;
  readonly tickets: AppTickets;
  readonly clock: Clock;
}

export function createAppService({ apps, sessions, hasher, pseudonyms, tickets, clock }: AppServiceDeps): AppService {
  return {
    async create(name, admin) {
      const apiKey = `${API_KEY_PREFIX}${newToken()}`;
      const app = await apps.create(name, hasher.hash('api-key', apiKey), { ...admin, action: 'app.create', detail: { name } });
      return { app, apiKey };
    },

    list: () => apps.list(),

    async revoke(id, admin) {
      if (!(await apps.revoke(id, clock.now(), { ...admin, action: 'app.revoke' }))) {
        throw new AppError('APP_NOT_FOUND', 'No active app has that id.');
      }
    },

    async authenticate(apiKey) {
      if (!apiKey.startsWith(API_KEY_PREFIX) || apiKey.length > 100) return null;
      return apps.findActiveByKeyHash(hasher.hash('api-key', apiKey));
    },

    async issueTicket({ anonToken, sessionToken }, appId) {
      if (!(await apps.isActive(appId))) throw new AppError('APP_NOT_FOUND', 'No active app has that id.');
      const expiresAtSeconds = Math.floor(clock.now().getTime() / 1000) + TICKET_LIFETIME_SECONDS;
      const tokenHash = sessionToken === null ? hasher.hash('anonymous', anonToken) : hasher.hash('session', sessionToken);
      return {
        ticket: tickets.issue({ tokenHash, signedIn: sessionToken !== null, appId, expiresAtSeconds }),
        expiresAt: new Date(expiresAtSeconds * 1000).toISOString(),
      };
    },

    async view(appId, ticket, start) {
      const introduced = tickets.read(ticket);
      const nowSeconds = clock.now().getTime() / 1000;
      // Another app's ticket is as invalid as a forged one: tickets are not transferable.
      if (!introduced || introduced.appId !== appId || introduced.expiresAtSeconds <= nowSeconds) {
        throw new AppError('INVALID_TICKET', 'The ticket is not valid for this app, or has expired.');
      }
      // Only a guest's identity can be started by an app; a signed-in session exists or has ended.
      const context = start && !introduced.signedIn
        ? (await sessions.startGuestByHash(introduced.tokenHash)).context
        : await sessions.resolveByHash(introduced.tokenHash);
      if (!context) return { started: false, persona: null, banned: false, personHash: null, reviewRequired: false };
      const profileId = context.accountabilityProfileId;
      const facts = await apps.findPersonFacts(appId, profileId);
      // Stored on first use, so the value an app holds never changes when pseudonym keys rotate.
      const personHash = facts.personHash ?? (await apps.savePersonHash(appId, profileId, pseudonyms.personHash(appId, profileId)));
      return {
        started: true,
        persona: context.persona,
        banned: context.banned,
        personHash,
        reviewRequired: reviewRequiredFor(facts.riskLevel),
      };
    },
  };
}
