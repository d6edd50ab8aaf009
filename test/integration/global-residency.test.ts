import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { territoryDb } from '../support/territory-db.js';
import { didKeyOf } from '../../src/auth/key/did-key.js';
import { newKeyPair, rawPublicKey, signKeyChallenge } from '../support/key-signer.js';
import { SoftwareAuthenticator } from '../support/software-authenticator.js';

/**
 * Data residency (DESIGN.md §2b, §5): the global (`public`) schema holds only what lookups need;
 * personal data lives in territory schemas. Every column of the global schema is classified here, so
 * a new column cannot land without someone saying what it holds; and the data itself is checked.
 */

/** What a global column may hold: nothing that names or describes a person. */
type Lookup =
  /** Internal ids (uuid, sequence) and references between rows. */
  | 'id'
  /** Keyed hashes (HMAC under server keys) and pseudonyms: findable, not reversible. */
  | 'keyed-hash'
  | 'time'
  /** Enums, flags, counters, types: the state machines of the service. */
  | 'state'
  /** Public by design: a persona's display name, avatar, handle, author id and key hash (spec 004). */
  | 'public'
  /** The service's own configuration and keys, not about any person (territories, policies, webhooks, signing keys). */
  | 'operator'
  /**
   * The accountability profile (abuse score, risk, ban) is global by design: it follows the person
   * across territories (DESIGN.md §2.4). It names nobody: no email, no key, no identifier.
   */
  | 'accountability';

const GLOBAL_SCHEMA: Readonly<Record<string, Readonly<Record<string, Lookup>>>> = {
  account_links: { id: 'id', from_account_id: 'id', to_account_id: 'id', kind: 'state', privacy_mode: 'state', created_at: 'time', confidence: 'state' },
  account_persona_selections: { account_id: 'id', persona_id: 'id' },
  accountability_profiles: {
    id: 'id', abuse_score: 'accountability', risk_level: 'accountability', is_verified: 'accountability', legal_hold: 'accountability',
    banned_at: 'accountability', ban_reason: 'accountability', created_at: 'time',
  },
  accounts: { id: 'id', type: 'state', lookup_key: 'keyed-hash', accountability_profile_id: 'id', created_at: 'time', verified: 'state', provider: 'state', privacy_mode: 'state' },
  admin_tokens: { id: 'id', name: 'operator', role: 'operator', token_hash: 'keyed-hash', created_at: 'time', revoked_at: 'time' },
  app_person_hashes: { app_id: 'id', accountability_profile_id: 'id', person_hash: 'keyed-hash', created_at: 'time' },
  // The statement (the person's own words) is in their territory's appeal_statements (migration 0012).
  appeals: { id: 'id', persona_id: 'id', accountability_profile_id: 'id', status: 'state', resolution: 'operator', opened_at: 'time', resolved_at: 'time' },
  apps: { id: 'id', name: 'operator', api_key_hash: 'keyed-hash', created_at: 'time', revoked_at: 'time' },
  audit_log: { id: 'id', at: 'time', actor: 'state', action: 'state', target: 'id', correlation_id: 'id', detail: 'public' },
  citizenships: { id: 'id', accountability_profile_id: 'id', territory_code: 'operator', territory_user_id: 'id', is_primary: 'state', started_at: 'time', ended_at: 'time' },
  display_name_holds: { display_name_key: 'public', accountability_profile_id: 'id', held_until: 'time' },
  identity_aliases: { handle: 'public', territory_code: 'operator', created_at: 'time' },
  // Voluntary identification: the sealed payload is in a territory's sealed_identity_links (migration
  // 0012); here only its token-derived lookup key and which territory holds it.
  identity_links: { lookup_key: 'keyed-hash', territory_code: 'operator' },
  invitation_uses: { invitation_id: 'id', accountability_profile_id: 'id', purpose: 'state', used_at: 'time' },
  invitations: {
    id: 'id', territory_code: 'operator', token_hash: 'keyed-hash', kind: 'state', max_uses: 'state', uses: 'state', expires_at: 'time', invited_handle: 'public',
    has_email: 'state', created_by_profile: 'id', created_by_admin: 'operator', revoked_at: 'time', created_at: 'time',
  },
  kysely_migration: { name: 'operator', timestamp: 'operator' },
  kysely_migration_lock: { id: 'operator', is_locked: 'operator' },
  outbox: { id: 'id', seq: 'id', type: 'state', payload: 'id', occurred_at: 'time', dispatched_at: 'time' },
  persona_access: { account_id: 'id', persona_id: 'id' },
  persona_flags: { id: 'id', persona_id: 'id', reason: 'operator', actor: 'operator', created_at: 'time' },
  persona_wallets: { persona_id: 'id', address: 'public', created_at: 'time' },
  personas: {
    id: 'id', accountability_profile_id: 'id', display_name: 'public', display_name_key: 'public', avatar_url: 'public', author_id: 'keyed-hash',
    trust_level: 'state', is_active: 'state', deleted_at: 'time', created_at: 'time', origin: 'state', rotated_from: 'id',
    trust_granted_at: 'time', deactivated_at: 'time', purge_after: 'time', owner_account_id: 'id',
  },
  policies: { name: 'operator', value: 'operator', updated_at: 'time' },
  refresh_tokens: { token_hash: 'keyed-hash', session_id: 'id', created_at: 'time', used_at: 'time' },
  retired_methods: { type: 'state', lookup_key: 'keyed-hash', accountability_profile_id: 'id', retired_at: 'time' },
  sessions: {
    id: 'id', token_hash: 'keyed-hash', account_id: 'id', active_persona_id: 'id', created_at: 'time', expires_at: 'time', last_seen_at: 'time',
    idle_timeout_seconds: 'state', public_id: 'id', authenticated_at: 'time', step_up_capable: 'state',
    client: 'state',
  },
  signing_keys: { kid: 'operator', public_jwk: 'operator', key_id: 'operator', private_sealed: 'operator', created_at: 'time', retired_at: 'time' },
  space_memberships: { space_id: 'operator', accountability_profile_id: 'id', persona_id: 'id', joined_at: 'time' },
  territories: {
    code: 'operator', name: 'operator', federation_domain: 'operator', matrix_domain: 'operator', invite_only: 'operator', status: 'operator',
    is_default: 'operator', remote: 'operator', created_at: 'time',
  },
  territory_moves: {
    id: 'id', accountability_profile_id: 'id', from_territory: 'operator', to_territory: 'operator', dual_citizenship: 'state', invitation_id: 'id',
    from_user_id: 'id', to_user_id: 'id', step: 'state', started_at: 'time', updated_at: 'time', finished_at: 'time', correlation_id: 'id',
  },
  user_identities: {
    id: 'id', handle: 'public', skeleton: 'public', public_key_hash: 'public', key_hash: 'public', persona_id: 'id', claimed_at: 'time', updated_at: 'time',
    // The did:key the lookup publishes for the handle, beside its hash (migration 0009): lookup data.
    key_public: 'public',
  },
  verifications: {
    id: 'id', strategy: 'state', challenge_hash: 'keyed-hash', subject_key: 'keyed-hash',
    // Since 0012 nothing personal: a passkey's mode, a social sign-in's provider and browser binding
    // (a keyed hash), a key sign-in's key as a keyed hash; no returnTo path, no raw key.
    state: 'state',
    attempts: 'state', created_at: 'time', expires_at: 'time', consumed_at: 'time',
  },
  webhook_deliveries: { event_id: 'id', webhook_id: 'id', attempts: 'state', next_attempt_at: 'time', delivered_at: 'time', last_error: 'operator' },
  webhooks: { id: 'id', url: 'operator', secret_sealed: 'operator', event_types: 'operator', created_at: 'time', revoked_at: 'time' },
};

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

async function globalColumns(): Promise<Array<{ table: string; column: string; type: string }>> {
  const rows = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select table_name, column_name, data_type from information_schema.columns
    where table_schema = 'public' order by table_name, ordinal_position`.execute(test.database.db);
  return rows.rows.map((row) => ({ table: row.table_name, column: row.column_name, type: row.data_type }));
}

describe('the global schema', () => {
  it('has every column classified, and no classification for a column that is gone', async () => {
    const actual = (await globalColumns()).map(({ table, column }) => `${table}.${column}`).sort();
    const classified = Object.entries(GLOBAL_SCHEMA).flatMap(([table, columns]) => Object.keys(columns).map((column) => `${table}.${column}`)).sort();
    expect(actual).toEqual(classified);
  });

  it('holds no personal data: every personal column lives in a territory schema', async () => {
    // Every global column is classified above as lookup data (no kind for personal data exists);
    // the personal tables exist only in territory schemas.
    const moved = await sql<{ table_schema: string }>`
      select table_schema from information_schema.tables
      where table_name in ('account_emails', 'account_identifiers', 'password_credentials', 'key_credentials', 'persona_wallet_keys', 'passkey_credentials', 'session_labels', 'appeal_statements', 'sealed_identity_links')`.execute(test.database.db);
    expect(moved.rows.every((row) => row.table_schema.startsWith('territory_'))).toBe(true);
    expect(moved.rows.length).toBeGreaterThanOrEqual(7);
  });

  it("keeps no trace of a person's email, password or sealed secrets in any global cell", async () => {
    const person = newPerson('resident');
    const browser = new Browser(test.app);
    expect((await browser.register(person)).statusCode).toBe(201);
    const handle = `res_${Date.now().toString(36)}`;
    const { email: _email, ...withoutEmail } = newPerson('handle');
    const byHandle = await new Browser(test.app).request('POST', '/auth/register', { ...withoutEmail, handle });
    expect(byHandle.statusCode, byHandle.body).toBe(201);

    const territory = territoryDb(test.database.db);
    const secrets = [
      ...(await territory.selectFrom('account_emails').select('sealed').execute()).map((row) => Buffer.from(row.sealed)),
      ...(await territory.selectFrom('account_identifiers').select('sealed').execute()).map((row) => Buffer.from(row.sealed)),
    ];
    const hashes = (await territory.selectFrom('password_credentials').select('hash').execute()).map((row) => row.hash);
    // Control: the territory does hold them (two sealed identifiers, two password hashes at least).
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    expect(hashes.length).toBeGreaterThanOrEqual(2);
    const needles = [person.email, person.email.split('@')[0]!, person.password, withoutEmail.password, ...hashes, ...hashes.map((hash) => hash.split('$').pop()!)];

    const leaks: string[] = [];
    const seenHandle: string[] = [];
    for (const { table, column, type } of await globalColumns()) {
      const kind = GLOBAL_SCHEMA[table]?.[column];
      if (kind === undefined) continue; // unclassified fails above
      const cells = await sql<{ text: string | null; raw: Uint8Array | null }>`
        select ${sql.ref(column)}::text as text, ${type === 'bytea' ? sql.ref(column) : sql`null`} as raw from ${sql.table(table)}`.execute(test.database.db);
      for (const cell of cells.rows) {
        const text = cell.text ?? '';
        if (text === handle) seenHandle.push(`${table}.${column}`);
        if (needles.some((needle) => text.includes(needle))) leaks.push(`${table}.${column}`);
        const bytes = cell.raw ? Buffer.from(cell.raw) : null;
        if (bytes && secrets.some((secret) => bytes.includes(secret.subarray(0, 24)))) leaks.push(`${table}.${column} (sealed bytes)`);
      }
    }
    // Control: the scan does read the cells (the public handle is found where it belongs).
    expect(seenHandle).toContain('user_identities.handle');
    expect([...new Set(leaks)]).toEqual([]);
  });

  it("keeps a key account's ed25519 key in its territory only, while it stands on no handle", async () => {
    const pair = newKeyPair();
    const asked = await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey: pair.publicKey } });
    const signedIn = await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: signKeyChallenge(asked.json(), pair) });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const raw = rawPublicKey(pair);
    // Control: the territory holds it.
    const held = await territoryDb(test.database.db).selectFrom('key_credentials').select('public_key').execute();
    expect(held.some((row) => Buffer.from(row.public_key).equals(raw))).toBe(true);
    const needles = [pair.publicKey, didKeyOf(raw).slice(9), raw.toString('hex')];
    const leaks: string[] = [];
    for (const { table, column, type } of await globalColumns()) {
      const kind = GLOBAL_SCHEMA[table]?.[column];
      if (kind === undefined) continue;
      const cells = await sql<{ text: string | null; raw: Uint8Array | null }>`
        select ${sql.ref(column)}::text as text, ${type === 'bytea' ? sql.ref(column) : sql`null`} as raw from ${sql.table(table)}`.execute(test.database.db);
      for (const cell of cells.rows) {
        if (needles.some((needle) => (cell.text ?? '').includes(needle))) leaks.push(`${table}.${column}`);
        if (cell.raw && Buffer.from(cell.raw).includes(raw)) leaks.push(`${table}.${column} (raw key)`);
      }
    }
    expect([...new Set(leaks)]).toEqual([]);
  });

  it("keeps a passkey's credential id and public key, and a session's device label, in the territory only", async () => {
    const browser = new Browser(test.app, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0' });
    const asked = await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'passkey', mode: 'register' });
    expect(asked.statusCode, asked.body).toBe(200);
    const { response, credential } = new SoftwareAuthenticator(test.config.publicOrigin).register(asked.json().options);
    const signedIn = await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'passkey', response });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    // Control: the territory holds the credential and the label.
    const territory = territoryDb(test.database.db);
    const held = await territory.selectFrom('passkey_credentials').select(['credential_id', 'public_key']).where('credential_id', '=', credential.id).executeTakeFirstOrThrow();
    const labels = (await territory.selectFrom('session_labels').select('label').execute()).map((row) => row.label);
    expect(labels).toContain('Firefox on Linux');
    const idBytes = Buffer.from(credential.id, 'base64url');
    const publicKey = Buffer.from(held.public_key);
    const needles = [credential.id, idBytes.toString('hex'), idBytes.toString('base64'), 'Firefox on Linux'];
    const leaks: string[] = [];
    for (const { table, column, type } of await globalColumns()) {
      const kind = GLOBAL_SCHEMA[table]?.[column];
      if (kind === undefined) continue;
      const cells = await sql<{ text: string | null; raw: Uint8Array | null }>`
        select ${sql.ref(column)}::text as text, ${type === 'bytea' ? sql.ref(column) : sql`null`} as raw from ${sql.table(table)}`.execute(test.database.db);
      for (const cell of cells.rows) {
        if (needles.some((needle) => (cell.text ?? '').includes(needle))) leaks.push(`${table}.${column}`);
        const bytes = cell.raw ? Buffer.from(cell.raw) : null;
        if (bytes && (bytes.includes(idBytes) || bytes.includes(publicKey.subarray(0, 32)))) leaks.push(`${table}.${column} (raw bytes)`);
      }
    }
    expect([...new Set(leaks)]).toEqual([]);
  });
});
