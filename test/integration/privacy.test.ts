import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { registerApp, resolveForApp, resolveTicket, startTestApp, ticketFor, Visitor, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { newKeyPair, signKeyChallenge } from '../support/key-signer.js';
import { routesOf } from '../support/routes.js';
import { webAppWalk } from '../support/web-app-routes.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

/** The raw anonymous token: the part of the cookie value before the first '.'. */
const rawTokenOf = (visitor: Visitor) => visitor.token.split('.')[0] ?? '';

/** Every way a secret could sit in a column or a response: as it is, and its bytes in hex and base64. */
function encodingsOf(label: string, value: string, bytes?: Buffer): Array<[string, string]> {
  const forms: Array<[string, string]> = [[label, value]];
  if (bytes) {
    forms.push([`${label} (hex)`, bytes.toString('hex')]);
    forms.push([`${label} (base64)`, bytes.toString('base64').replace(/=+$/, '')]);
    forms.push([`${label} (base64url)`, bytes.toString('base64url')]);
  }
  return forms;
}

/** Labels of the needles found in a text (hex is compared case-insensitively). */
function found(text: string, needles: Array<[string, string]>): string[] {
  const lower = text.toLowerCase();
  return needles
    .filter(([label, needle]) => text.includes(needle) || (label.endsWith('(hex)') && lower.includes(needle)))
    .map(([label]) => label);
}

const TICKET_PREFIX = 'at1.';

/**
 * What a ticket gives away: labels of the needles in the ticket string or in its base64url-decoded
 * bytes (read as text, as hex, and searched as raw bytes). A sealed ticket should give away nothing.
 */
function ticketLeaks(ticket: string, needles: Array<[string, string]>, rawBytes: Array<[string, Buffer]>): string[] {
  const decoded = Buffer.from(ticket.startsWith(TICKET_PREFIX) ? ticket.slice(TICKET_PREFIX.length) : ticket, 'base64url');
  const texts = [ticket, decoded.toString('utf8'), decoded.toString('latin1'), decoded.toString('hex')].join('\n');
  return [
    ...found(texts, needles),
    ...rawBytes.filter(([, bytes]) => bytes.length > 0 && decoded.includes(bytes)).map(([label]) => `${label} (raw bytes)`),
  ];
}

/** The internals a ticket must not reveal for one visitor: raw token, token hash and internal ids. */
async function ticketSecretsOf(visitor: Visitor, appId?: string) {
  const token = rawTokenOf(visitor);
  const tokenHash = new TokenHasher(test.config.secrets.tokenHashKey).hash('anonymous', token);
  const ids = await test.database.db
    .selectFrom('sessions as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['s.id as sessionId', 'a.id as accountId', 'a.accountability_profile_id as profileId'])
    .where('s.token_hash', '=', tokenHash)
    .executeTakeFirst();
  const needles: Array<[string, string]> = [
    ...encodingsOf('raw token', token, Buffer.from(token, 'base64url')),
    ['cookie value', visitor.token],
    ...encodingsOf('token hash', 'n/a', tokenHash).slice(1),
    ...(ids
      ? ([['profile id', ids.profileId], ['account id', ids.accountId], ['session id', ids.sessionId]] as Array<[string, string]>)
      : []),
    ...(appId ? ([['app id', appId]] as Array<[string, string]>) : []),
  ];
  const rawBytes: Array<[string, Buffer]> = [
    ['raw token', Buffer.from(token, 'base64url')],
    ['token hash', tokenHash],
    ...(ids ? ([['profile id', Buffer.from(ids.profileId.replaceAll('-', ''), 'hex')]] as Array<[string, Buffer]>) : []),
  ];
  return { needles, rawBytes, tokenHash };
}

interface Cell {
  readonly at: string;
  readonly texts: string[];
  readonly bytes: Buffer | null;
}

/**
 * Every value of every column of every table in the public schema and the territory schemas
 * (`territory_<code>.<table>`), as text and (bytea) in every encoding.
 */
async function dumpDatabase(): Promise<Cell[]> {
  const columns = await sql<{ table_schema: string; table_name: string; column_name: string; data_type: string }>`
    select table_schema, table_name, column_name, data_type from information_schema.columns
    where table_schema = 'public' or table_schema like 'territory\_%' order by table_schema, table_name, ordinal_position`.execute(test.database.db);
  const cells: Cell[] = [];
  for (const { table_schema: schema, table_name: name, column_name: column, data_type: type } of columns.rows) {
    const table = schema === 'public' ? name : `${schema}.${name}`;
    const rows = await sql<{ text: string | null; raw: unknown }>`
      select ${sql.ref(column)}::text as text, ${type === 'bytea' ? sql.ref(column) : sql`null`} as raw
      from ${sql.table(table)}`.execute(test.database.db);
    for (const row of rows.rows) {
      const bytes = row.raw ? Buffer.from(row.raw as Uint8Array) : null;
      const texts = [row.text ?? ''];
      const encodings = ['hex', 'base64', 'base64url', 'utf8', 'latin1'] as const;
      if (bytes) texts.push(...encodings.map((encoding) => bytes.toString(encoding)));
      cells.push({ at: `${table}.${column}`, texts, bytes });
    }
  }
  return cells;
}

describe('the database', () => {
  it('holds no raw token, cookie, ticket, API key, admin token or configured secret anywhere', async () => {
    const app = await registerApp(test, 'privacy-scan');
    const visitors = Array.from({ length: 4 }, () => new Visitor(test.app));
    const ticketed: Array<[Visitor, string]> = [];
    for (const [i, visitor] of visitors.entries()) {
      await visitor.start();
      ticketed.push([visitor, await ticketFor(visitor, app.id)]);
      expect((await resolveTicket(test, app.apiKey, ticketed.at(-1)![1])).statusCode).toBe(200);
      const identityData = { email: `scan${i}@example.org` };
      expect((await visitor.request('POST', '/identity-link', { identityData, consent: true })).statusCode).toBe(201);
    }
    // A visitor the app itself starts, and one who links identity without ever starting.
    const appStarted = new Visitor(test.app);
    await appStarted.request('GET', '/session');
    ticketed.push([appStarted, await ticketFor(appStarted, app.id)]);
    expect((await resolveTicket(test, app.apiKey, ticketed.at(-1)![1], true)).json().started).toBe(true);
    const tickets = ticketed.map(([, ticket]) => ticket);
    const linkOnly = new Visitor(test.app);
    expect((await linkOnly.request('POST', '/identity-link', { identityData: { n: 1 }, consent: true })).statusCode).toBe(201);
    // People who registered (one from a guest's browser) and signed in again: emails, passwords, session tokens.
    const members = [newPerson('scan'), newPerson('scan')].map((person) => ({ person, browser: new Browser(test.app) }));
    await members[1]!.browser.request('POST', '/session');
    for (const { person, browser } of members) {
      expect((await browser.register(person)).statusCode).toBe(201);
      expect((await browser.login(person)).statusCode).toBe(200);
    }
    // A person with a handle and no email: their recovery codes (one spent, one regenerated set) are secrets too.
    const handleMember = new Browser(test.app);
    const handleRegistration = await handleMember.request('POST', '/auth/register', { handle: 'scan_handle', password: 'quiet meadow under a copper sky', initialDisplayName: 'Scan Handle' });
    expect(handleRegistration.statusCode, handleRegistration.body).toBe(201);
    const firstCodes = handleRegistration.json().recoveryCodes as string[];
    const regenerated = await handleMember.request('POST', '/api/v2/auth/recovery-codes');
    expect(regenerated.statusCode, regenerated.body).toBe(200);
    const recoveryCodes = [...firstCodes, ...(regenerated.json().recoveryCodes as string[])];
    const recovered = await new Browser(test.app).request('POST', '/auth/recover', { handle: 'scan_handle', recoveryCode: recoveryCodes.at(-1), newPassword: 'silver fern beside the winter road' });
    expect(recovered.statusCode, recovered.body).toBe(200);

    const { secrets } = test.config;
    const needles: Array<[string, string]> = [
      ...[...visitors, appStarted, linkOnly].flatMap((visitor, i) => {
        const token = rawTokenOf(visitor);
        return [
          ...encodingsOf(`token ${i}`, token, Buffer.from(token, 'base64url')),
          [`cookie ${i}`, visitor.token] as [string, string],
          [`cookie ${i} (as sent)`, visitor.cookie ?? ''] as [string, string],
        ];
      }),
      // Tickets are handed out, never kept.
      ...tickets.flatMap((ticket, i) => encodingsOf(`ticket ${i}`, ticket, Buffer.from(ticket.slice(TICKET_PREFIX.length), 'base64url'))),
      ...encodingsOf('api key', app.apiKey, Buffer.from(app.apiKey)),
      ...encodingsOf('admin token', secrets.adminToken, Buffer.from(secrets.adminToken)),
      ...encodingsOf('token hash key', secrets.tokenHashKey, Buffer.from(secrets.tokenHashKey)),
      ...secrets.cookieSecrets.flatMap((secret, i) => encodingsOf(`cookie secret ${i}`, secret, Buffer.from(secret))),
      ...secrets.pseudonymKeys.flatMap((key) => encodingsOf(`pseudonym key ${key.id}`, key.secret, Buffer.from(key.secret))),
      ...secrets.emailKeys.flatMap((key) => encodingsOf(`email key ${key.id}`, key.secret, Buffer.from(key.secret))),
      ...members.flatMap(({ person, browser }, i): Array<[string, string]> => [
        ...encodingsOf(`email ${i}`, person.email, Buffer.from(person.email)),
        [`email ${i} (local part)`, person.email.split('@')[0]!],
        ...encodingsOf(`password ${i}`, person.password, Buffer.from(person.password)),
        ...encodingsOf(`session token ${i}`, browser.sessionToken, Buffer.from(browser.sessionToken, 'base64url')),
        ...encodingsOf(`member anon token ${i}`, browser.anonToken, Buffer.from(browser.anonToken, 'base64url')),
      ]),
      ...recoveryCodes.flatMap((code, i) => [
        ...encodingsOf(`recovery code ${i}`, code, Buffer.from(code)),
        ...encodingsOf(`recovery code ${i} (bare)`, code.replaceAll('-', ''), Buffer.from(code.replaceAll('-', ''))),
      ]),
      ...encodingsOf('handle member password', 'quiet meadow under a copper sky', Buffer.from('quiet meadow under a copper sky')),
      ...encodingsOf('handle member new password', 'silver fern beside the winter road', Buffer.from('silver fern beside the winter road')),
    ];
    // The bytes behind each base64url token and secret, in case a column keeps them undecorated.
    const allSecrets = [
      ...secrets.cookieSecrets,
      secrets.tokenHashKey,
      secrets.adminToken,
      ...secrets.pseudonymKeys.map((k) => k.secret),
      ...secrets.emailKeys.map((k) => k.secret),
    ];
    const tokens = [
      ...[...visitors, appStarted, linkOnly].map(rawTokenOf),
      ...members.flatMap(({ browser }) => [browser.sessionToken, browser.anonToken]),
    ];
    const rawBytes = [...tokens, ...allSecrets].map((value) => Buffer.from(value, 'base64url'));

    const cells = await dumpDatabase();
    // The scan must cover the tables that hold tokens and keys, or it proves nothing.
    const tables = new Set(cells.map((cell) => cell.at.split('.')[0]));
    for (const table of ['accounts', 'sessions', 'identity_links', 'apps', 'app_person_hashes', 'audit_log', 'outbox', 'territory_main']) {
      expect(tables).toContain(table);
    }
    // Sealed emails and password hashes live in the territory schema now.
    expect(cells.map((cell) => cell.at)).toEqual(expect.arrayContaining(['territory_main.account_emails.sealed', 'territory_main.password_credentials.hash']));
    // Control: the scan does see what is stored, e.g. the keyed hash of a token in bytea columns.
    const hashHex = new TokenHasher(secrets.tokenHashKey).hash('anonymous', rawTokenOf(visitors[0]!)).toString('hex');
    expect(cells.filter((cell) => found(cell.texts.join('\n'), [['hash (hex)', hashHex]]).length > 0).map((c) => c.at)).toEqual(
      expect.arrayContaining(['accounts.lookup_key', 'sessions.token_hash']),
    );

    const leaks = cells.flatMap((cell) => [
      ...found(cell.texts.join('\n'), needles).map((label) => `${cell.at}: ${label}`),
      ...(cell.bytes && rawBytes.some((bytes) => cell.bytes!.includes(bytes)) ? [`${cell.at}: raw token or secret bytes`] : []),
    ]);
    expect(leaks).toEqual([]);

    // And the tickets the app was handed reveal none of what the database keeps about the visitor.
    const ticketLeakLabels: string[] = [];
    for (const [i, [visitor, ticket]] of ticketed.entries()) {
      const { needles: internals, rawBytes: internalBytes } = await ticketSecretsOf(visitor, app.id);
      ticketLeakLabels.push(...ticketLeaks(ticket, internals, internalBytes).map((label) => `ticket ${i}: ${label}`));
    }
    expect(ticketLeakLabels).toEqual([]);
  });

  it('gets nothing from a ticket: no raw token, token hash or internal id in it or its decoded bytes', async () => {
    const app = await registerApp(test, 'ticket-scan');
    const started = new Visitor(test.app);
    await started.start();
    const fresh = new Visitor(test.app);
    await fresh.request('GET', '/session');
    const freshTicket = await ticketFor(fresh, app.id); // no state yet, so nothing but the token to leak
    expect((await resolveTicket(test, app.apiKey, freshTicket, true)).json().started).toBe(true);

    const leaks: string[] = [];
    for (const [name, visitor, ticket] of [
      ['started', started, await ticketFor(started, app.id)],
      ['app-started', fresh, freshTicket],
      ['app-started, later', fresh, await ticketFor(fresh, app.id)],
    ] as const) {
      expect(ticket.startsWith(TICKET_PREFIX)).toBe(true);
      const { needles, rawBytes } = await ticketSecretsOf(visitor, app.id);
      expect(needles.map(([label]) => label)).toContain('profile id');
      leaks.push(...ticketLeaks(ticket, needles, rawBytes).map((label) => `${name}: ${label}`));
    }
    expect(leaks).toEqual([]);

    // Control: the same check does see a ticket that merely encoded what a sealed one carries.
    const { needles, rawBytes, tokenHash } = await ticketSecretsOf(started, app.id);
    const unsealed = `${TICKET_PREFIX}${Buffer.from(JSON.stringify({ h: tokenHash.toString('base64url'), a: app.id, e: 0 })).toString('base64url')}`;
    expect(ticketLeaks(unsealed, needles, rawBytes)).toEqual(expect.arrayContaining(['token hash (base64url)', 'app id']));
    expect(ticketLeaks(`${TICKET_PREFIX}${tokenHash.toString('base64url')}`, needles, rawBytes)).toContain('token hash (raw bytes)');
  });
});

/** Names of internal fields; a public body or schema that carries one has leaked the internals. */
const internalFieldNames = [
  ...['abuse_score', 'abuseScore', 'risk_level', 'riskLevel'],
  ...['accountabilityProfileId', 'accountability_profile_id', 'accountId', 'sessionId', 'tokenHash'],
];

describe('public responses', () => {
  let owner: Visitor;
  let other: Visitor;
  /** A registered person, signed in; the persona routes are walked as them. */
  let member: Browser;
  const memberPerson = newPerson('walk');
  const newcomer = newPerson('newcomer');
  const personaIds: Record<'created' | 'rotated' | 'wallet', string> = { created: '', rotated: '', wallet: '' };
  const memberKey = newKeyPair();
  const keyProof = async (purpose: string) =>
    signKeyChallenge((await member.request('POST', '/api/v2/auth/challenge', { strategy: 'key', publicKey: memberKey.publicKey, purpose })).json(), memberKey);
  let app: { id: string; apiKey: string };
  const ownerData = { email: 'owner.walk@example.org', name: 'Owner Walk' };
  const banReason = 'ban-reason-not-for-the-public';
  const handleWalker = { handle: 'walk_recovery', password: 'granite owl above the silent valley', browser: null as unknown as Browser, codes: [] as string[] };
  const inviter = { browser: undefined as unknown as Browser, id: '', token: '' };

  beforeAll(async () => {
    app = await registerApp(test, 'walk');
    owner = new Visitor(test.app);
    const { persona } = await owner.start();
    expect((await owner.request('POST', '/identity-link', { identityData: ownerData, consent: true })).statusCode).toBe(201);
    // A ban history: banned, then lifted, so every route still answers normally.
    const subject = { personaId: persona.id };
    const admin = (url: string, payload: object) => test.app.inject({ method: 'POST', url, headers: test.adminHeaders, payload });
    expect((await admin('/admin/bans', { subject, reason: banReason })).statusCode).toBe(200);
    expect((await admin('/admin/bans/lift', { subject })).statusCode).toBe(200);
    // Someone else's identity data must never show up in the owner's responses.
    other = new Visitor(test.app);
    await other.start();
    await other.request('POST', '/identity-link', { identityData: { email: 'someone.else@example.org' }, consent: true });
    member = new Browser(test.app);
    expect((await member.register(memberPerson)).statusCode).toBe(201);
    // A person with a handle and no email, for the recovery routes.
    handleWalker.browser = new Browser(test.app);
    const registered = await handleWalker.browser.request('POST', '/auth/register', { handle: handleWalker.handle, password: handleWalker.password, initialDisplayName: 'Handle Walker' });
    expect(registered.statusCode, registered.body).toBe(201);
    handleWalker.codes = registered.json().recoveryCodes;
  });

  /** One scripted request per public route; a route missing here fails the walk. */
  const walk: Record<string, () => Promise<LightMyRequestResponse>> = {
    'GET /healthz': () => owner.request('GET', '/healthz'),
    'GET /readyz': () => owner.request('GET', '/readyz'),
    'GET /metrics': () => owner.request('GET', '/metrics'),
    'GET /openapi.json': () => owner.request('GET', '/openapi.json'),
    'GET /docs': () => owner.request('GET', '/docs'),
    'GET /docs/': () => owner.request('GET', '/docs/'),
    'GET /docs/json': () => owner.request('GET', '/docs/json'),
    'GET /docs/yaml': () => owner.request('GET', '/docs/yaml'),
    'GET /docs/static/index.html': () => owner.request('GET', '/docs/static/index.html'),
    'GET /docs/static/swagger-initializer.js': () => owner.request('GET', '/docs/static/swagger-initializer.js'),
    'GET /docs/static/*': () => owner.request('GET', '/docs/static/index.css'),
    'GET /session': () => owner.request('GET', '/session'),
    'POST /session': () => owner.request('POST', '/session'),
    'POST /identity-link': () => owner.request('POST', '/identity-link', { identityData: ownerData, consent: true }),
    'GET /identity-link': () => owner.request('GET', '/identity-link'),
    'POST /session/app-ticket': () => owner.request('POST', '/session/app-ticket', { appId: app.id }),
    'POST /apps/resolve': () => resolveForApp(test, app, owner),
    'DELETE /identity-link': () => owner.request('DELETE', '/identity-link'),
    'POST /auth/register': () => new Browser(test.app).register(newcomer),
    'POST /auth/login': () => member.login(memberPerson),
    'GET /personas': () => member.request('GET', '/personas'),
    'POST /personas': async () => {
      const response = await member.request('POST', '/personas', { displayName: 'Walk Persona One' });
      personaIds.created = response.json().persona?.id;
      return response;
    },
    'PUT /personas/:id/handle': () => member.request('PUT', `/personas/${personaIds.created}/handle`, { handle: 'walk_handle' }),
    'POST /personas/:id/rotate': async () => {
      const response = await member.request('POST', `/personas/${personaIds.created}/rotate`, { newDisplayName: 'Walk Persona Two' });
      personaIds.rotated = response.json().persona?.id;
      return response;
    },
    // Rotation leaves the handle on the retired persona; an explicit move brings it along.
    'POST /personas/:id/handle/move': () => member.request('POST', `/personas/${personaIds.created}/handle/move`, { toPersonaId: personaIds.rotated }),
    'POST /personas/:id/deactivate': () => member.request('POST', `/personas/${personaIds.rotated}/deactivate`),
    'POST /personas/:id/reactivate': () => member.request('POST', `/personas/${personaIds.rotated}/reactivate`),
    'PUT /session/active-persona': () => member.request('PUT', '/session/active-persona', { personaId: personaIds.rotated }),
    'POST /policy/check': () => member.request('POST', '/policy/check', { action: 'persona.create' }),
    'POST /spaces/:id/join': () => member.request('POST', '/spaces/walk:1/join'),
    'GET /spaces/:id/membership': () => member.request('GET', '/spaces/walk:1/membership'),
    'POST /spaces/:id/leave': () => member.request('POST', '/spaces/walk:1/leave'),
    'POST /personas/:id/delete-permanent': () => member.request('POST', `/personas/${personaIds.rotated}/delete-permanent`),
    // A guest is an account too: its own session list and graph (the member's graph answers link, privacy and unlink).
    'GET /api/v2/auth/sessions': () => owner.request('GET', '/api/v2/auth/sessions'),
    'DELETE /api/v2/auth/sessions/:id': async () => {
      const laptop = new Browser(test.app);
      expect((await laptop.login(memberPerson)).statusCode).toBe(200);
      const { sessions } = (await laptop.request('GET', '/api/v2/auth/sessions')).json() as { sessions: Array<{ id: string; current: boolean }> };
      return member.request('DELETE', `/api/v2/auth/sessions/${sessions.find((session) => session.current)?.id}`);
    },
    'POST /api/v2/auth/sessions/revoke-others': () => member.request('POST', '/api/v2/auth/sessions/revoke-others'),
    'POST /api/v2/profiles/:id/session-wallet': async () => {
      const { personas } = (await member.request('GET', '/personas')).json() as { personas: Array<{ id: string; active: boolean }> };
      personaIds.wallet = personas.find((persona) => persona.active)?.id ?? '';
      return member.request('POST', `/api/v2/profiles/${personaIds.wallet}/session-wallet`);
    },
    'GET /api/v2/profiles/:id/session-wallet': () => member.request('GET', `/api/v2/profiles/${personaIds.wallet}/session-wallet`),
    'GET /territories': () => owner.request('GET', '/territories'),
    'GET /handles/:handle': () => owner.request('GET', '/handles/walk_handle'),
    // Moves: the member (freshly signed in) moves to a new territory keeping the old one, then ends it.
    'POST /api/v2/federation/moves': async () => {
      await test.app.inject({ method: 'POST', url: '/admin/territories', headers: test.adminHeaders, payload: { code: 'walk', name: 'Walk' } });
      return member.request('POST', '/api/v2/federation/moves', { to: 'walk', dualCitizenship: true });
    },
    'POST /api/v2/federation/moves/resume': () => member.request('POST', '/api/v2/federation/moves/resume'),
    'GET /api/v2/federation/citizenships': () => member.request('GET', '/api/v2/federation/citizenships'),
    'DELETE /api/v2/federation/citizenships/:code': () => member.request('DELETE', '/api/v2/federation/citizenships/main'),
    // Invitations: a person an operator made REGULAR invites; anyone holding the token inspects and prints it.
    'POST /invitations': async () => {
      inviter.browser = new Browser(test.app);
      const registered = await inviter.browser.register(newPerson('inviter'));
      await test.app.inject({ method: 'POST', url: `/admin/personas/${registered.json().personaId}/trust-level`, headers: test.adminHeaders, payload: { trustLevel: 'REGULAR' } });
      const response = await inviter.browser.request('POST', '/invitations', { kind: 'group', maxUses: 5, handle: 'walk_invitee' });
      [inviter.id, inviter.token] = [response.json().invitation?.id, response.json().token];
      return response;
    },
    'GET /invitations': () => inviter.browser.request('GET', '/invitations'),
    'GET /invitations/:id/uses': () => inviter.browser.request('GET', `/invitations/${inviter.id}/uses`),
    'POST /invitations/inspect': () => owner.request('POST', '/invitations/inspect', { token: inviter.token }),
    'POST /invitations/qr': () => owner.request('POST', '/invitations/qr', { token: inviter.token, format: 'svg' }),
    'POST /invitations/:id/revoke': () => inviter.browser.request('POST', `/invitations/${inviter.id}/revoke`),
    'POST /api/v2/auth/challenge': () => owner.request('POST', '/api/v2/auth/challenge', { strategy: 'wallet' }),
    'POST /api/v2/auth/link-accounts': async () => {
      const { strategy: _strategy, ...proof } = await keyProof('link');
      return member.request('POST', '/api/v2/auth/link-accounts', { targetType: 'key', proof });
    },
    'GET /api/v2/auth/identity-graph': () => owner.request('GET', '/api/v2/auth/identity-graph'),
    'PUT /api/v2/auth/link-privacy': () => member.request('PUT', '/api/v2/auth/link-privacy', { privacyMode: 'linked' }),
    'POST /api/v2/auth/step-up': async () => member.request('POST', '/api/v2/auth/step-up', await keyProof('step-up')),
    'DELETE /api/v2/auth/accounts/:ref': async () => {
      const { accounts } = (await member.request('GET', '/api/v2/auth/identity-graph')).json() as { accounts: Array<{ ref: string; type: string }> };
      return member.request('DELETE', `/api/v2/auth/accounts/${accounts.find((account) => account.type === 'key')?.ref}`);
    },
    'PUT /api/v2/auth/password': () => member.request('PUT', '/api/v2/auth/password', { newPassword: memberPerson.password }),
    'GET /api/v2/auth/recovery-codes': () => handleWalker.browser.request('GET', '/api/v2/auth/recovery-codes'),
    'POST /api/v2/auth/recovery-codes': async () => {
      expect((await handleWalker.browser.request('POST', '/auth/login', { handle: handleWalker.handle, password: handleWalker.password })).statusCode).toBe(200);
      const response = await handleWalker.browser.request('POST', '/api/v2/auth/recovery-codes');
      handleWalker.codes = response.json().recoveryCodes;
      return response;
    },
    // Last of the three: a recovery ends every other session of the account.
    'POST /auth/recover': () =>
      new Browser(test.app).request('POST', '/auth/recover', { handle: handleWalker.handle, recoveryCode: handleWalker.codes.pop(), newPassword: handleWalker.password }),
    'POST /auth/logout': () => member.request('POST', '/auth/logout'),
    'DELETE /api/v2/auth/identity': async () => {
      const leaving = new Browser(test.app);
      expect((await leaving.register(newPerson('leaving'))).statusCode).toBe(201);
      return leaving.request('DELETE', '/api/v2/auth/identity');
    },
    'GET /.well-known/jwks.json': () => owner.request('GET', '/.well-known/jwks.json'),
    'GET /api/v2/dev/inbox': () => owner.request('GET', '/api/v2/dev/inbox'),
    'GET /api/v2/auth/strategies': () => owner.request('GET', '/api/v2/auth/strategies'),
    'POST /api/v2/auth/authenticate': () => owner.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest' }),
    'POST /api/v2/auth/refresh': async () => {
      const { refreshToken } = (await owner.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest', client: 'api' })).json();
      return owner.request('POST', '/api/v2/auth/refresh', { refreshToken });
    },
    // The public lookups of spec 004: the owner's persona takes a handle (walk_handle is retired by now).
    'GET /identities/:handle': async () => {
      const { persona } = (await owner.request('GET', '/session')).json() as { persona: { id: string } };
      expect((await owner.request('PUT', `/personas/${persona.id}/handle`, { handle: 'walk_public' })).statusCode).toBe(200);
      return owner.request('GET', '/identities/walk_public');
    },
    'GET /.well-known/webfinger': () => owner.request('GET', '/.well-known/webfinger?resource=acct:walk_public@localhost'),
    // The web app's pages and assets (when built): static files, the same for everyone.
    ...webAppWalk((url) => owner.request('GET', url)),
  };
  /**
   * The API documents describe the admin routes too, whose schemas name internal fields; their
   * public part is checked on its own below, so here they are scanned for values only.
   */
  const documentRoutes = new Set(['GET /openapi.json', 'GET /docs/json', 'GET /docs/yaml']);
  /** Routes whose answer is the owner's own identity data, read back by the owner's own cookie. */
  const ownDataRoutes = new Set(['POST /identity-link', 'GET /identity-link']);

  it('carry no internal id, token, hash, risk field or email, on every public route', async () => {
    const routes = routesOf(test.app);
    // The router parse must agree with the OpenAPI document, or the walk could miss routes.
    const { paths } = test.app.swagger() as { paths: Record<string, object> };
    const documented = Object.entries(paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(routes).toEqual(expect.arrayContaining(documented));
    const publicRoutes = routes.filter((route) => !route.split(' ')[1]!.startsWith('/admin/'));
    expect(publicRoutes.filter((route) => !(route in walk))).toEqual([]);
    expect(Object.keys(walk).filter((route) => !publicRoutes.includes(route))).toEqual([]);

    const ids = await test.database.db
      .selectFrom('sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['s.id as sessionId', 's.token_hash as sessionHash', 'a.id as accountId', 'a.lookup_key as accountKey'])
      .select('a.accountability_profile_id as profileId')
      .where('s.token_hash', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('anonymous', rawTokenOf(owner)))
      .executeTakeFirstOrThrow();
    const memberIds = await test.database.db
      .selectFrom('sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['s.id as sessionId', 'a.id as accountId', 'a.accountability_profile_id as profileId'])
      .where('s.token_hash', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('session', member.sessionToken))
      .executeTakeFirstOrThrow();
    const linkRows = await test.database.db.selectFrom('identity_links').select('lookup_key').execute();
    const linkKeys = linkRows.map((row) => row.lookup_key);
    const forbidden: Array<[string, string]> = [
      ['accountability profile id', ids.profileId],
      ['account id', ids.accountId],
      ['session id', ids.sessionId],
      ...encodingsOf('session token hash', 'n/a', Buffer.from(ids.sessionHash)).slice(1),
      ...encodingsOf('account lookup key', 'n/a', Buffer.from(ids.accountKey)).slice(1),
      ...linkKeys.flatMap((key, i) => encodingsOf(`identity link key ${i}`, 'n/a', Buffer.from(key)).slice(1)),
      ...encodingsOf('raw token', rawTokenOf(owner), Buffer.from(rawTokenOf(owner), 'base64url')),
      ['other person\'s email', 'someone.else@example.org'],
      ['member profile id', memberIds.profileId],
      ['member account id', memberIds.accountId],
      ['member session id', memberIds.sessionId],
      ['member email', memberPerson.email],
      ['member password', memberPerson.password],
      ['newcomer email', newcomer.email],
      ['newcomer password', newcomer.password],
      ['ban reason', banReason],
      ...internalFieldNames.map((name): [string, string] => [`field ${name}`, name]),
    ];
    const ownData: Array<[string, string]> = [['owner email', ownerData.email], ['owner name', ownerData.name]];

    const leaks: string[] = [];
    let tickets = 0;
    for (const [route, send] of Object.entries(walk)) {
      const response = await send();
      expect(response.statusCode, route).toBeLessThan(400);
      // The visitor's own cookie is the one place its token may travel; everything else is scanned.
      const headers = Object.entries(response.headers)
        .map(([name, value]) => `${name}: ${String(value)}`)
        .map((line) => (line.startsWith('set-cookie:') ? line.replaceAll(rawTokenOf(owner), '[own cookie]') : line));
      const text = `${headers.join('\n')}\n${response.body}`;
      const values = documentRoutes.has(route) ? forbidden.filter(([label]) => !label.startsWith('field ')) : forbidden;
      const needles = ownDataRoutes.has(route) ? values : [...values, ...ownData];
      leaks.push(...found(text, needles).map((label) => `${route}: ${label}`));
      // A ticket is opaque: not even its decoded bytes may reveal the token, its hash or an internal id.
      const ticket: unknown = response.headers['content-type']?.toString().includes('json') ? response.json().ticket : undefined;
      if (typeof ticket === 'string') {
        tickets++;
        const rawBytes: Array<[string, Buffer]> = [
          ['raw token', Buffer.from(rawTokenOf(owner), 'base64url')],
          ['session token hash', Buffer.from(ids.sessionHash)],
          ['account lookup key', Buffer.from(ids.accountKey)],
        ];
        leaks.push(...ticketLeaks(ticket, needles, rawBytes).map((label) => `${route} ticket: ${label}`));
      }
    }
    expect(tickets).toBe(1);
    expect(leaks).toEqual([]);
  });

  it('are documented without internal fields: no public path of the OpenAPI document names one', async () => {
    const document = (await owner.request('GET', '/openapi.json')).json() as {
      paths: Record<string, unknown>;
      components?: { schemas?: Record<string, unknown> };
    };
    const publicPaths = Object.entries(document.paths).filter(([path]) => !path.startsWith('/admin/'));
    expect(publicPaths.length).toBeGreaterThan(15);
    // A public path's schemas, with the shared component schemas it refers to.
    let text = JSON.stringify(publicPaths);
    for (const [, name] of text.matchAll(/#\/components\/schemas\/([\w.-]+)/g)) {
      text += JSON.stringify(document.components?.schemas?.[name!] ?? {});
    }
    expect(internalFieldNames.filter((name) => text.includes(`"${name}"`))).toEqual([]);
    // Control: the admin part does name them, so the check would see a leak.
    expect(JSON.stringify(document).includes('"accountabilityProfileId"')).toBe(true);
  });

  it('that carry personal data are marked no-store', async () => {
    await owner.request('POST', '/identity-link', { identityData: ownerData, consent: true });
    for (const response of [
      await owner.request('GET', '/session'),
      await owner.request('GET', '/identity-link'),
      await resolveForApp(test, app, owner),
    ]) {
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
    }
    // A ticket introduces the visitor to an app: no shared cache may keep one either.
    const ticket = await owner.request('POST', '/session/app-ticket', { appId: app.id });
    expect(ticket.statusCode).toBe(201);
    expect(ticket.headers['cache-control']).toBe('no-store');
  });
});
