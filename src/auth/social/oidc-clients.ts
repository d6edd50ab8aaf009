import { allowInsecureRequests, discovery, type Configuration } from 'openid-client';
import type { Clock } from '../../clock.js';
import { ConfigError, type OidcProviderConfig } from '../../config.js';

/** Hosts whose issuer may be plain http: only this machine (a development or test provider). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Discovery gives up after this long, so a hung provider cannot hold a sign-in for minutes. */
const DISCOVERY_TIMEOUT_SECONDS = 10;

/** The discovered client configuration of each provider, discovered on first use and kept. */
export interface OidcClients {
  /**
   * The provider's openid-client configuration (its metadata, endpoints and, once fetched, its
   * keys); null while the provider cannot be discovered. A failed discovery is retried on a later
   * call, at most once per `retryAfterMs`, so a provider down at boot never stops the service and
   * is picked up as soon as it answers again.
   */
  configurationOf(provider: OidcProviderConfig): Promise<Configuration | null>;
}

/** Throws a ConfigError for a provider that could never be used safely: an http issuer off this machine. */
export function checkIssuer(provider: OidcProviderConfig): void {
  const issuer = new URL(provider.issuer);
  if (issuer.protocol === 'https:') return;
  if (issuer.protocol === 'http:' && LOOPBACK_HOSTS.has(issuer.hostname)) return;
  throw new ConfigError(`Invalid configuration: OIDC_PROVIDERS "${provider.name}" needs an https issuer (plain http only on localhost).`);
}

export function createOidcClients(clock: Clock, retryAfterMs = 5_000): OidcClients {
  const discovered = new Map<string, Promise<Configuration>>();
  const failedAt = new Map<string, number>();

  function discover(provider: OidcProviderConfig): Promise<Configuration> {
    const issuer = new URL(provider.issuer);
    // openid-client refuses plain http; a loopback issuer (checked at start-up) is allowed it, alone.
    const execute = issuer.protocol === 'http:' ? [allowInsecureRequests] : [];
    // The issuer the document names must equal the configured one (openid-client checks it, RFC 8414 §3.3).
    return discovery(issuer, provider.clientId, provider.clientSecret, undefined, { execute, timeout: DISCOVERY_TIMEOUT_SECONDS });
  }

  return {
    async configurationOf(provider) {
      let pending = discovered.get(provider.name);
      if (!pending) {
        const failure = failedAt.get(provider.name);
        if (failure !== undefined && clock.now().getTime() - failure < retryAfterMs) return null;
        pending = discover(provider);
        // Concurrent sign-ins share one discovery; a failure is forgotten so that a later call retries.
        discovered.set(provider.name, pending);
        pending.then(
          () => failedAt.delete(provider.name),
          () => {
            discovered.delete(provider.name);
            failedAt.set(provider.name, clock.now().getTime());
          },
        );
      }
      try {
        return await pending;
      } catch {
        return null;
      }
    },
  };
}
