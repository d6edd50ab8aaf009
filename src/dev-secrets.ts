import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_NAMES = ['COOKIE_SECRETS', 'TOKEN_HASH_KEY', 'PSEUDONYM_KEYS', 'ADMIN_TOKEN', 'EMAIL_KEYS'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export const SECRETS_FILE = 'secrets.json';

/**
 * Development and test only: the secrets this service made for itself on its first start, kept in
 * `<dataDir>/secrets.json` with mode 0600 so a restart keeps every cookie, hash and pseudonym valid.
 * Production never calls this; it refuses to start without secrets from the environment.
 */
export function loadDevelopmentSecrets(dataDir: string): Record<SecretName, string> {
  const path = join(dataDir, SECRETS_FILE);
  const stored = readStored(path);
  const complete = SECRET_NAMES.every((name) => typeof stored[name] === 'string');
  if (complete) return stored as Record<SecretName, string>;

  const generated: Record<SecretName, string> = {
    COOKIE_SECRETS: randomSecret(),
    TOKEN_HASH_KEY: randomSecret(),
    PSEUDONYM_KEYS: `k1:${randomSecret()}`,
    ADMIN_TOKEN: randomSecret(),
    EMAIL_KEYS: `k1:${randomSecret()}`,
  };
  const secrets = { ...generated, ...stored } as Record<SecretName, string>;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // the mode option applies only when the file is created
  return secrets;
}

function readStored(path: string): Partial<Record<SecretName, unknown>> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<SecretName, unknown>>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
