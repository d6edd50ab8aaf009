import type { Clock } from '../../clock.js';
import { newToken, type TokenHasher } from '../../crypto/tokens.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { AppError } from '../../errors.js';
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
  /**
   * What an app may know of the visitor holding `token`. Reads fresh (no cache), so a ban shows at
   * once. With `start`, a visitor with no state yet gets a guest identity first.
   */
  view(appId: string, token: string, start: boolean): Promise<AppView>;
}

export interface AppServiceDeps {
  readonly apps: AppRepository;
  readonly sessions: SessionService;
  readonly hasher: TokenHasher;
  readonly pseudonyms: Pseudonyms;
  readonly clock: Clock;
}

export function createAppService({ apps, sessions, hasher, pseudonyms, clock }: AppServiceDeps): AppService {
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

    async view(appId, token, start) {
      const context = start ? (await sessions.startGuest(token)).context : await sessions.resolve(token, { fresh: true });
      if (!context) return { started: false, persona: null, banned: false, personHash: null };
      const profileId = context.accountabilityProfileId;
      // Stored on first use, so the value an app holds never changes when pseudonym keys rotate.
      const personHash =
        (await apps.findPersonHash(appId, profileId)) ??
        (await apps.savePersonHash(appId, profileId, pseudonyms.personHash(appId, profileId)));
      return { started: true, persona: context.persona, banned: context.banned, personHash };
    },
  };
}
