import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { databaseKind, postgresUrl } from '../support/database.js';
import { holdInserts, waitFor, type HeldInsert } from '../support/held-insert.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const db = () => test.database.db;

describe(`a transaction PostgreSQL undoes for a conflict (${databaseKind})`, () => {
  afterEach(async () => {
    await sql`drop trigger if exists conflict_on_create on outbox`.execute(db());
    await sql`drop function if exists conflict_on_create()`.execute(db());
  });

  // A real database error, raised by the server (or PGlite) in the middle of a request's transaction.
  for (const [sqlstate, condition] of [['40P01', 'deadlock_detected'], ['40001', 'serialization_failure']] as const) {
    it(`answers ${sqlstate} (${condition}) 503 TRANSACTION_CONFLICT with Retry-After, having changed nothing`, async () => {
      await sql`
        create function conflict_on_create() returns trigger language plpgsql as $$
        begin raise exception 'simulated' using errcode = ${sql.lit(condition)}; end;
        $$`.execute(db());
      await sql`create trigger conflict_on_create after insert on outbox for each row when (new.type = 'PersonaCreated') execute function conflict_on_create()`.execute(db());
      const visitor = new Visitor(test.app);
      await visitor.start();
      const displayName = `Conflicted ${sqlstate}`;
      const response = await visitor.request('POST', '/personas', { displayName });
      expect(response.statusCode, response.body).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json()).toEqual({ code: 'TRANSACTION_CONFLICT', message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
      expect(await db().selectFrom('personas').select('id').where('display_name', '=', displayName).execute()).toEqual([]);
      // As promised: the same request again succeeds.
      await sql`drop trigger conflict_on_create on outbox`.execute(db());
      expect((await visitor.request('POST', '/personas', { displayName })).statusCode).toBe(201);
    });
  }
});

describe(`a recovery and an appeal for one person at once (${databaseKind})`, () => {
  // A recovery once took the person NO KEY UPDATE (its code's territory write), then FOR UPDATE (the
  // sign-in); an appeal opened meanwhile takes KEY SHARE (its foreign key), then NO KEY UPDATE (its
  // statement's territory write). Interleaved, each waited for the other: PostgreSQL aborted one (40P01).
  // On PostgreSQL the recovery is held right after its code is consumed while the appeal runs as far
  // as it can; PGlite runs the two one after the other.
  it('both succeed, however the two interleave', async () => {
    const browser = new Browser(test.app);
    const { email: _email, ...rest } = newPerson('dl');
    const person = { ...rest, handle: `dl_${Date.now().toString(36)}` };
    const registered = await browser.request('POST', '/auth/register', person);
    expect(registered.statusCode, registered.body).toBe(201);
    const { personaId, recoveryCodes } = registered.json() as { personaId: string; recoveryCodes: string[] };

    const held: HeldInsert | null = postgresUrl ? await holdInserts(test.database.url!, 'outbox', `new.type = 'RecoveryCodeUsed'`) : null;
    try {
      const recovering = new Browser(test.app).request('POST', '/auth/recover', {
        handle: person.handle, recoveryCode: recoveryCodes[0], newPassword: 'amber lantern drifts past the northern pier',
      });
      if (held) await waitFor(async () => (await held.waiters()) >= 1);
      let appealed = false;
      const appealing = test.app
        .inject({ method: 'POST', url: '/admin/appeals', headers: test.adminHeaders, payload: { personaId, statement: 'Please look again.' } })
        .finally(() => (appealed = true));
      if (held) {
        await waitFor(async () => appealed || (await held.waiters()) >= 2);
        await held.release();
      }
      const [recovery, appeal] = await Promise.all([recovering, appealing]);
      expect([recovery.statusCode, appeal.statusCode], `${recovery.body} ${appeal.body}`).toEqual([200, 201]);
    } finally {
      await held?.close();
    }
  });
});
