import type { Clock } from '../../clock.js';
import { secretsEqual } from '../../crypto/secret-compare.js';
import { isTokenShaped, newToken, type TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import {
  actorOfToken,
  ADMIN_TOKEN_PREFIX,
  BOOTSTRAP_ADMIN,
  type AdminIdentity,
  type AdminRole,
  type AdminTokenSummary,
} from './admin.js';
import type { AdminTokenRepository } from './admin-token-repository.js';

export interface AdminTokenService {
  /** Issues a token for a role; the token is answered this once and stored only as a keyed hash. */
  create(name: string, role: AdminRole, admin: Actor): Promise<{ readonly adminToken: AdminTokenSummary; readonly token: string }>;
  list(): Promise<AdminTokenSummary[]>;
  /** Revokes a token at once: the very next request bearing it is refused. */
  revoke(id: string, admin: Actor): Promise<void>;
  /** The admin behind a bearer credential, or null for a wrong, malformed or revoked one. */
  authenticate(bearer: string): Promise<AdminIdentity | null>;
}

export interface AdminTokenServiceDeps {
  readonly tokens: AdminTokenRepository;
  readonly hasher: TokenHasher;
  /** The operator's ADMIN_TOKEN from the configuration. */
  readonly bootstrapToken: string;
  readonly clock: Clock;
}

export function createAdminTokenService({ tokens, hasher, bootstrapToken, clock }: AdminTokenServiceDeps): AdminTokenService {
  return {
    async create(name, role, admin) {
      const token = `${ADMIN_TOKEN_PREFIX}${newToken()}`;
      const adminToken = await tokens.create(
        { name, role, tokenHash: hasher.hash('admin-token', token) },
        { ...admin, action: 'admin-token.create', detail: { name, role } },
      );
      return { adminToken, token };
    },

    list: () => tokens.list(),

    async revoke(id, admin) {
      if (!(await tokens.revoke(id, clock.now(), { ...admin, action: 'admin-token.revoke' }))) {
        throw new AppError('ADMIN_TOKEN_NOT_FOUND', 'No active admin token has that id.');
      }
    },

    async authenticate(bearer) {
      // The bootstrap token is compared in constant time; it is configuration, not a stored hash.
      if (secretsEqual(bearer, bootstrapToken)) return BOOTSTRAP_ADMIN;
      if (!bearer.startsWith(ADMIN_TOKEN_PREFIX) || !isTokenShaped(bearer.slice(ADMIN_TOKEN_PREFIX.length))) return null;
      // A keyed-hash lookup: the database never holds the token, and an index lookup by an HMAC
      // leaks nothing useful about the token through its timing.
      const found = await tokens.findActiveByHash(hasher.hash('admin-token', bearer));
      return found ? { actor: actorOfToken(found.id), role: found.role, name: found.name } : null;
    },
  };
}
