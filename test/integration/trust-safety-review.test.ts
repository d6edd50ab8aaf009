import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp, resolveForApp, startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const admin = (method: 'POST' | 'PUT', url: string, payload: object) =>
  test.app.inject({ method, url, headers: test.adminHeaders, payload });

async function person(): Promise<{ visitor: Visitor; personaId: string; profileId: string }> {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  const row = await test.database.db
    .selectFrom('personas')
    .select('accountability_profile_id')
    .where('id', '=', persona.id)
    .executeTakeFirstOrThrow();
  return { visitor, personaId: persona.id, profileId: row.accountability_profile_id };
}

describe('what apps and the public see', () => {
  it('apps get reviewRequired for MEDIUM and HIGH risk, never the level or score', async () => {
    const app = await registerApp(test, `review-${randomUUID().slice(0, 8)}`);
    const { visitor, profileId } = await person();
    const resolve = async () => {
      const response = await resolveForApp(test, app, visitor);
      expect(response.statusCode).toBe(200);
      expect(Object.keys(response.json()).sort()).toEqual(['banned', 'correlationId', 'personHash', 'persona', 'reviewRequired', 'started']);
      return response;
    };
    expect((await resolve()).json().reviewRequired).toBe(false);
    for (const [score, review] of [[0.45, true], [0.85, true], [0.05, false]] as const) {
      expect((await admin('PUT', `/admin/people/${profileId}/abuse-score`, { score })).statusCode).toBe(200);
      const response = await resolve();
      expect(response.json().reviewRequired).toBe(review);
      for (const needle of ['riskLevel', 'abuseScore', 'MEDIUM', 'HIGH', String(score), profileId]) expect(response.body).not.toContain(needle);
    }
    // A ban makes the person HIGH risk: their posts need review, and stay so once the ban is lifted.
    const subject = { personHash: (await resolve()).json().personHash };
    expect((await admin('POST', '/admin/bans', { subject, reason: 'spam' })).statusCode).toBe(200);
    expect((await resolve()).json()).toMatchObject({ banned: true, reviewRequired: true });
    expect((await admin('POST', '/admin/bans/lift', { subject })).statusCode).toBe(200);
    expect((await resolve()).json()).toMatchObject({ banned: false, reviewRequired: true });
  });

  it('answers reviewRequired false for a visitor with no state yet', async () => {
    const app = await registerApp(test, `fresh-${randomUUID().slice(0, 8)}`);
    const fresh = new Visitor(test.app);
    await fresh.request('GET', '/session');
    const response = await resolveForApp(test, app, fresh);
    expect(response.json()).toMatchObject({ started: false, reviewRequired: false });
  });

  it('shows no trust & safety data on the person\'s own routes', async () => {
    const { visitor, personaId, profileId } = await person();
    await admin('PUT', `/admin/people/${profileId}/abuse-score`, { score: 0.55 });
    await admin('PUT', `/admin/people/${profileId}/verified`, { verified: true });
    await admin('PUT', `/admin/people/${profileId}/legal-hold`, { legalHold: true });
    await admin('POST', `/admin/personas/${personaId}/flags`, { reason: 'flag-reason-internal' });
    const responses = [
      await visitor.request('GET', '/session'),
      await visitor.request('POST', '/session'),
      await visitor.request('POST', '/spaces/ts-check/join'),
      await visitor.request('GET', '/spaces/ts-check/membership'),
    ];
    for (const response of responses) {
      expect(response.statusCode).toBeLessThan(300);
      for (const needle of ['riskLevel', 'abuseScore', 'legalHold', 'MEDIUM', '0.55', 'flag-reason-internal', profileId]) {
        expect(response.body).not.toContain(needle);
      }
    }
  });
});
