import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lengthPrefixed } from '../../src/crypto/length-prefixed.js';
import { open } from '../../src/crypto/sealed-box.js';
import { deriveTokenKeys } from '../../src/crypto/token-derived-keys.js';
import { registerApp, resolveForApp, startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const alice = { email: 'alice@example.org', name: 'Alice Liddell' };
const countRows = async (table: 'identity_links' | 'accounts') =>
  Number((await test.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
const countLinks = () => countRows('identity_links');
const link = (visitor: Visitor, payload: unknown) => visitor.request('POST', '/identity-link', payload);
const rawTokenOf = (visitor: Visitor) => visitor.token.split('.')[0] ?? '';

interface Cell {
  readonly table: string;
  readonly column: string;
  readonly text: string;
  readonly bytes: Buffer;
}
type Row = Cell[];

/**
 * A full dump: every row of every global table and of every territory schema (tables named
 * `territory_<code>.<table>` there), each value as text and as bytes (bytea raw).
 */
async function dumpDatabase(): Promise<Row[]> {
  const columns = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select case when table_schema = 'public' then table_name else table_schema || '.' || table_name end as table_name, column_name, data_type
    from information_schema.columns
    where table_schema = 'public' or table_schema like 'territory\_%'`.execute(test.database.db);
  const rows: Row[] = [];
  for (const table of new Set(columns.rows.map((column) => column.table_name))) {
    const own = columns.rows.filter((column) => column.table_name === table);
    const select = own.flatMap(({ column_name: name, data_type: type }, i) => [
      sql`${sql.ref(name)}::text as ${sql.id(`t${i}`)}`,
      type === 'bytea' ? sql`${sql.ref(name)} as ${sql.id(`b${i}`)}` : sql`null as ${sql.id(`b${i}`)}`,
    ]);
    const query = sql<Record<string, unknown>>`select ${sql.join(select)} from ${sql.table(table)}`;
    const result = await query.execute(test.database.db);
    for (const values of result.rows) {
      rows.push(
        own.flatMap(({ column_name: column }, i) => {
          const text = values[`t${i}`] as string | null;
          const raw = values[`b${i}`] as Uint8Array | null;
          return text === null ? [] : [{ table, column, text, bytes: raw ? Buffer.from(raw) : Buffer.from(text, 'utf8') }];
        }),
      );
    }
  }
  return rows;
}

describe('consent', () => {
  it('refuses consent: false with CONSENT_REQUIRED and stores nothing', async () => {
    const before = await countLinks();
    const response = await link(new Visitor(test.app), { identityData: alice, consent: false });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('CONSENT_REQUIRED');
    expect(await countLinks()).toBe(before);
  });

  it('refuses a missing consent (the schema requires it) and stores nothing', async () => {
    const before = await countLinks();
    const response = await link(new Visitor(test.app), { identityData: alice });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('VALIDATION_FAILED');
    expect(await countLinks()).toBe(before);
  });

  // Consent is the JSON boolean true, nothing that a lax parser turns into it.
  it.each([['the string "true"', 'true'], ['the number 1', 1], ['"yes"', 'yes'], ['null', null], ['0', 0]])(
    'does not take %s as consent',
    async (_kind, consent) => {
      const before = await countLinks();
      const response = await link(new Visitor(test.app), { identityData: alice, consent });
      expect(response.statusCode).toBe(400);
      expect(['CONSENT_REQUIRED', 'VALIDATION_FAILED']).toContain(response.json().code);
      expect(await countLinks()).toBe(before);
    },
  );
});

describe('an identity link', () => {
  it('is stored encrypted, read back, replaced and really deleted', async () => {
    const visitor = new Visitor(test.app);
    await visitor.start();
    const before = await countLinks();

    const created = await link(visitor, { identityData: alice, consent: true });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ identityData: alice, consentedAt: expect.any(String) });
    expect(await countLinks()).toBe(before + 1);

    // The data is in no column of any table, in no encoding.
    const json = JSON.stringify(alice);
    const forms = [alice.email, alice.name, json].flatMap((value) => {
      const bytes = Buffer.from(value);
      return [value, bytes.toString('hex'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url')];
    });
    const leaks = (await dumpDatabase()).flat().filter((cell) =>
      forms.some((form) => cell.text.includes(form) || cell.bytes.includes(Buffer.from(form))),
    );
    expect(leaks.map((cell) => `${cell.table}.${cell.column}`)).toEqual([]);

    const read = await visitor.request('GET', '/identity-link');
    expect(read.statusCode).toBe(200);
    const { consentedAt } = created.json();
    expect(read.json()).toEqual({ identityData: alice, consentedAt, correlationId: read.headers['x-correlation-id'] });

    const replacement = { email: 'alice.new@example.org' };
    expect((await link(visitor, { identityData: replacement, consent: true })).statusCode).toBe(201);
    expect(await countLinks()).toBe(before + 1); // one link per token: replaced, not added
    expect((await visitor.request('GET', '/identity-link')).json().identityData).toEqual(replacement);

    const deleted = await visitor.request('DELETE', '/identity-link');
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().deleted).toBe(true);
    expect(await countLinks()).toBe(before);
    const gone = await visitor.request('GET', '/identity-link');
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe('IDENTITY_LINK_NOT_FOUND');
    expect((await visitor.request('DELETE', '/identity-link')).json().deleted).toBe(false);
  });

  it('works for a visitor who never started a guest identity, creating no account', async () => {
    const accountsBefore = await countRows('accounts');
    const visitor = new Visitor(test.app);
    expect((await link(visitor, { identityData: alice, consent: true })).statusCode).toBe(201);
    expect((await visitor.request('GET', '/identity-link')).json().identityData).toEqual(alice);
    expect((await visitor.request('GET', '/session')).json().started).toBe(false);
    expect(await countRows('accounts')).toBe(accountsBefore);
  });

  it('refuses identity data over 8 KiB with PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const before = await countLinks();
    const response = await link(new Visitor(test.app), { identityData: { note: 'x'.repeat(9 * 1024) }, consent: true });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('PAYLOAD_TOO_LARGE');
    expect(await countLinks()).toBe(before);
  });

  it('cannot be written by a banned person, but can be deleted by them', async () => {
    const visitor = new Visitor(test.app);
    const { persona } = await visitor.start();
    expect((await link(visitor, { identityData: alice, consent: true })).statusCode).toBe(201);
    const ban = await test.app.inject({
      method: 'POST',
      url: '/admin/bans',
      headers: test.adminHeaders,
      payload: { subject: { personaId: persona.id }, reason: 'spam' },
    });
    expect(ban.statusCode).toBe(200);

    const refused = await link(visitor, { identityData: { email: 'mallory@example.org' }, consent: true });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('BANNED');
    expect((await visitor.request('GET', '/identity-link')).json().identityData).toEqual(alice); // unchanged

    const before = await countLinks();
    const deleted = await visitor.request('DELETE', '/identity-link');
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().deleted).toBe(true);
    expect(await countLinks()).toBe(before - 1);
  });
});

describe('zero knowledge (spec 000): the database plus every server key, without the token', () => {
  it('gives identity links no owner, no timestamp and no foreign key: nothing to correlate on', async () => {
    const columnsOf = async (schema: string, table: string) =>
      (await sql<{ column_name: string; data_type: string }>`
        select column_name, data_type from information_schema.columns
        where table_schema = ${schema} and table_name = ${table} order by column_name`.execute(test.database.db)).rows;
    // Global: where the row is (lookup key, territory); the territory: the sealed payload (migration 0012).
    expect(await columnsOf('public', 'identity_links')).toEqual([
      { column_name: 'lookup_key', data_type: 'bytea' },
      { column_name: 'territory_code', data_type: 'text' },
    ]);
    expect(await columnsOf('territory_main', 'sealed_identity_links')).toEqual([
      { column_name: 'lookup_key', data_type: 'bytea' },
      { column_name: 'sealed', data_type: 'bytea' },
    ]);
    const foreignKeys = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.table_constraints tc
      left join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name
      where tc.constraint_type = 'FOREIGN KEY'
        and (tc.table_name in ('identity_links', 'sealed_identity_links') or ccu.table_name in ('identity_links', 'sealed_identity_links'))`.execute(test.database.db);
    expect(foreignKeys.rows[0]?.n).toBe(0);
  });

  /**
   * An attacker with a full dump and every server secret. It derives candidates from every value
   * it knows (the dump, the secrets, and `extra`, which models a dump that also held a token) in
   * every way the code or a careless variant of it might: the values themselves, SHA-256, HMAC
   * under each secret (plain and as the token hasher frames it), HKDF with the real labels, and
   * the real derivation. It then tries to find each row's lookup key and to open each row.
   */
  function attack(dump: readonly Row[], secrets: readonly string[], extra: readonly string[] = []) {
    const value = (row: Row, column: string) => row.find((cell) => cell.column === column)!.bytes;
    // A link is one row split in two: the global pointer and the territory's sealed payload, both
    // under the same lookup key. Together they are "the row itself"; every other table is outside.
    const isLink = (table: string) => table === 'identity_links' || table.endsWith('.sealed_identity_links');
    const links = dump
      .filter((row) => row[0]?.table.endsWith('.sealed_identity_links'))
      .map((row) => ({ lookupKey: value(row, 'lookup_key'), sealed: value(row, 'sealed') }));
    const cells = dump.flat();
    const secretForms = secrets.flatMap((secret) => [Buffer.from(secret), Buffer.from(secret, 'base64url')]);
    const hkdf = (ikm: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
    // HKDF unsalted, with the real salt, and "under" each secret (the secret as salt).
    const salts = [Buffer.alloc(0), Buffer.from('personae/token-derived/v1'), ...secrets.map((secret) => Buffer.from(secret))];
    const infos = ['', 'identity-link/lookup', 'identity-link/seal'];
    const derive = (inputs: Buffer[]) => {
      const out = new Map<string, Buffer>();
      const add = (candidate: Buffer) => out.set(candidate.toString('hex'), candidate);
      for (const input of new Map(inputs.map((bytes) => [bytes.toString('hex'), bytes])).values()) {
        add(input);
        add(createHash('sha256').update(input).digest());
        for (const secret of secretForms) {
          add(createHmac('sha256', secret).update(input).digest());
          for (const purpose of ['anonymous', 'identity-link']) {
            add(createHmac('sha256', secret).update(lengthPrefixed([purpose, input.toString()])).digest());
          }
        }
        for (const salt of salts) for (const info of infos) add(hkdf(input, salt, info));
        const real = deriveTokenKeys(input.toString(), 'identity-link');
        add(real.lookupKey);
        add(real.sealKey);
      }
      return out;
    };
    const asInputs = (some: Cell[]) => some.flatMap((cell) => [cell.bytes, Buffer.from(cell.text)]);
    const elsewhere = cells.filter((cell) => !isLink(cell.table));
    // Knowledge that is not the row itself; the row's own values only help to open it, not to place it.
    const outside = derive([...asInputs(elsewhere), ...secretForms, ...extra.map((v) => Buffer.from(v))]);
    const candidates = new Map([...outside, ...derive(asInputs(cells.filter((cell) => isLink(cell.table))))]);

    // (a) Attribution: a row's key derivable from outside knowledge, or found in any other table.
    const attributed = links
      .map((row) => row.lookupKey)
      .filter(
        (key) =>
          outside.has(key.toString('hex')) ||
          elsewhere.some((cell) => cell.bytes.includes(key) || cell.text.toLowerCase().includes(key.toString('hex'))),
      );
    // (b) Decryption: AES-256-GCM (iv ‖ tag ‖ ciphertext) with every 32-byte candidate, the lookup key as AAD.
    const keys = [...candidates.values()].filter((key) => key.length === 32);
    const opened = links.flatMap(({ lookupKey, sealed }) =>
      keys.map((key) => open(key, sealed, lookupKey)).filter((plain): plain is Buffer => plain !== null).map(String),
    );
    return { rows: links.length, candidates: candidates.size, attributed, opened };
  }

  it('can neither attribute nor open any row; the same attacker with the token can', async () => {
    const app = await registerApp(test, 'zk');
    const visitors = Array.from({ length: 3 }, () => new Visitor(test.app));
    for (const [i, visitor] of visitors.entries()) {
      await visitor.start();
      await resolveForApp(test, app, visitor);
      expect((await link(visitor, { identityData: { email: `zk${i}@example.org` }, consent: true })).statusCode).toBe(201);
    }
    const linkOnly = new Visitor(test.app);
    expect((await link(linkOnly, { identityData: { email: 'zk-link-only@example.org' }, consent: true })).statusCode).toBe(201);

    const dump = await dumpDatabase();
    const { secrets } = test.config;
    const pseudonymSecrets = secrets.pseudonymKeys.map((key) => key.secret);
    const allSecrets = [...secrets.cookieSecrets, secrets.tokenHashKey, ...pseudonymSecrets, secrets.adminToken];

    const blind = attack(dump, allSecrets);
    expect(blind.rows).toBe(await countLinks());
    expect(blind.rows).toBeGreaterThanOrEqual(4);
    expect(blind.attributed).toEqual([]);
    expect(blind.opened).toEqual([]);

    // Control: the very same code, also knowing one visitor's token, finds and opens exactly that row.
    const target = visitors[1]!;
    const informed = attack(dump, allSecrets, [rawTokenOf(target)]);
    expect(informed.attributed).toEqual([deriveTokenKeys(rawTokenOf(target), 'identity-link').lookupKey]);
    expect(informed.opened).toHaveLength(1);
    expect(JSON.parse(informed.opened[0]!).identityData).toEqual({ email: 'zk1@example.org' });
  }, 120_000); // thousands of candidate keys against every row, twice
});
