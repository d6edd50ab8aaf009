import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const SECRETS = ['COOKIE_SECRETS', 'TOKEN_HASH_KEY', 'PSEUDONYM_KEYS', 'ADMIN_TOKEN', 'EMAIL_KEYS'] as const;
const secret = () => randomBytes(32).toString('base64url');
const allSecrets = () => ({
  COOKIE_SECRETS: secret(),
  TOKEN_HASH_KEY: secret(),
  PSEUDONYM_KEYS: `k1:${secret()}`,
  ADMIN_TOKEN: secret(),
  EMAIL_KEYS: `k1:${secret()}`,
});

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'personae-config-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The ConfigError loadConfig throws for `env` (fails the test if it throws nothing or something else). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** Production with all secrets but one replaced. */
const production = (overrides: Record<string, string> = {}) => ({
  NODE_ENV: 'production',
  DATA_DIR: tempDir(),
  ...allSecrets(),
  ...overrides,
});

describe('secrets in production', () => {
  it('refuses to start without secrets, naming all four', () => {
    const error = configError({ NODE_ENV: 'production', DATA_DIR: tempDir() });
    for (const name of SECRETS) expect(error.message).toContain(name);
  });

  it('names exactly the one missing secret', () => {
    const error = configError(production({ TOKEN_HASH_KEY: '' }));
    expect(error.message).toContain('TOKEN_HASH_KEY');
    for (const name of SECRETS.filter((n) => n !== 'TOKEN_HASH_KEY')) expect(error.message).not.toContain(name);
  });

  it.each([
    ['COOKIE_SECRETS', 'too-short'],
    ['COOKIE_SECRETS', `${secret()},short`], // every rotation secret counts, not only the first
    ['TOKEN_HASH_KEY', 'x'.repeat(31)],
    ['PSEUDONYM_KEYS', 'k1:short'],
    ['ADMIN_TOKEN', 'changeme'],
    ['EMAIL_KEYS', 'k1:short'],
  ])('names exactly %s when it is too short', (name, value) => {
    const error = configError(production({ [name]: value }));
    expect(error.message).toMatch(/too short/i);
    expect(error.message).toContain(name);
    for (const other of SECRETS.filter((n) => n !== name)) expect(error.message).not.toContain(other);
  });

  it('accepts secrets of exactly 32 characters', () => {
    const config = loadConfig(production({ ADMIN_TOKEN: 'a'.repeat(32) }));
    expect(config.secrets.adminToken).toBe('a'.repeat(32));
  });

  it('never writes a secrets file in production', () => {
    const env = production();
    loadConfig(env);
    expect(existsSync(join(env.DATA_DIR, 'secrets.json'))).toBe(false);
  });

  it.each([
    ['no key id', secret()],
    ['an empty key id', `:${secret()}`],
    ['an upper-case key id', `K1:${secret()}`],
    ['a key id over 8 characters', `k12345678:${secret()}`],
    ['an empty secret', 'k1:'],
    ['one malformed entry among good ones', `k2:${secret()},oops`],
  ])('refuses PSEUDONYM_KEYS with %s', (_problem, value) => {
    expect(configError(production({ PSEUDONYM_KEYS: value })).message).toContain('PSEUDONYM_KEYS');
  });

  it('reads rotation lists: the first key is current, all are kept in order', () => {
    const [a, b] = [secret(), secret()];
    const config = loadConfig(production({ PSEUDONYM_KEYS: `k2:${a}, k1:${b}`, COOKIE_SECRETS: `${a},${b}` }));
    expect(config.secrets.pseudonymKeys).toEqual([
      { id: 'k2', secret: a },
      { id: 'k1', secret: b },
    ]);
    expect(config.secrets.cookieSecrets).toEqual([a, b]);
  });
});

describe('environment values', () => {
  const valid = () => ({ NODE_ENV: 'test', DATA_DIR: tempDir(), ...allSecrets() });

  it.each(['abc', '70000', '-1', '3000.5'])('refuses PORT=%s, naming PORT', (port) => {
    expect(configError({ ...valid(), PORT: port }).message).toContain('PORT');
  });

  it.each([
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['BODY_LIMIT_BYTES', '10'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(configError({ ...valid(), [name]: value }).message).toContain(name);
  });

  it('converts numbers and applies defaults', () => {
    const config = loadConfig({ ...valid(), PORT: '8080', BODY_LIMIT_BYTES: '2048' });
    expect(config.port).toBe(8080);
    expect(config.bodyLimitBytes).toBe(2048);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBeUndefined();
  });

  it('resolves DATA_DIR to an absolute path', () => {
    expect(loadConfig({ ...valid(), DATA_DIR: 'relative/data' }).dataDir).toBe(resolve('relative/data'));
  });

  it('splits ALLOWED_ORIGINS on commas, trimming and dropping empty entries', () => {
    const config = loadConfig({ ...valid(), ALLOWED_ORIGINS: ' https://a.example ,https://b.example:8443,, ' });
    expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(loadConfig(valid()).allowedOrigins).toEqual([]);
  });

  it('answers a deeply frozen object', () => {
    const config = loadConfig(valid());
    for (const part of [config, config.secrets, config.secrets.cookieSecrets, config.secrets.pseudonymKeys, config.allowedOrigins, config.sessionCache]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(Object.isFrozen(config.secrets.pseudonymKeys[0])).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('secrets outside production', () => {
  const development = (dataDir: string, extra: Record<string, string> = {}) => ({ NODE_ENV: 'development', DATA_DIR: dataDir, ...extra });

  it('generates missing secrets once, in <DATA_DIR>/secrets.json with mode 0600', () => {
    const dir = join(tempDir(), 'not-yet-created');
    const config = loadConfig(development(dir));
    const file = join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored.ADMIN_TOKEN).toBe(config.secrets.adminToken);
    for (const name of SECRETS) expect(String(stored[name]).length).toBeGreaterThanOrEqual(32);
  });

  it('reuses the same secrets on the next start', () => {
    const dir = tempDir();
    const first = loadConfig(development(dir));
    const second = loadConfig(development(dir));
    expect(second.secrets).toEqual(first.secrets);
  });

  it('lets environment values override the file, and keeps the file as it was', () => {
    const dir = tempDir();
    const generated = loadConfig(development(dir));
    const before = readFileSync(join(dir, 'secrets.json'), 'utf8');
    const adminToken = secret();
    const config = loadConfig(development(dir, { ADMIN_TOKEN: adminToken }));
    expect(config.secrets.adminToken).toBe(adminToken);
    expect(config.secrets.tokenHashKey).toBe(generated.secrets.tokenHashKey);
    expect(readFileSync(join(dir, 'secrets.json'), 'utf8')).toBe(before);
  });

  it('completes a partial file without replacing what it holds', () => {
    const dir = tempDir();
    const adminToken = secret();
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ ADMIN_TOKEN: adminToken }));
    const config = loadConfig(development(dir));
    expect(config.secrets.adminToken).toBe(adminToken);
    expect(JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).ADMIN_TOKEN).toBe(adminToken);
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
  });

  it('still refuses a too-short secret given in the environment', () => {
    expect(configError(development(tempDir(), { ADMIN_TOKEN: 'short' })).message).toContain('ADMIN_TOKEN');
  });

  it('does not touch the data folder when every secret is given', () => {
    const dir = tempDir();
    loadConfig({ ...development(dir), ...allSecrets() });
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
  });
});
