import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { seal } from '../../src/crypto/sealed-box.js';
import { newToken } from '../../src/crypto/tokens.js';
import { deriveTokenKeys } from '../../src/crypto/token-derived-keys.js';
import { IDENTITY_LINK_PURPOSE } from '../../src/modules/identification/identification.js';

/** Rows as the releases before migration 0012 wrote them, for the in-place upgrade tests. */

export interface OldAppeal {
  readonly id: string;
  readonly profileId: string;
  readonly statement: string;
  readonly territory: string;
  readonly openedAt: Date;
}

/** A person (in `territory`) with a persona and an open appeal whose statement is a global column. */
export async function oldAppeal(db: Kysely<any>, territory: string): Promise<OldAppeal> {
  const profile = await db.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  const tag = randomBytes(4).toString('hex');
  const persona = randomUUID();
  await db.insertInto('personas').values({ id: persona, accountability_profile_id: profile.id, display_name: `Appellant ${tag}`, display_name_key: `appellant ${tag}`, author_id: `a.${tag}` }).execute();
  if (territory !== 'main') {
    await db.insertInto('citizenships').values({ accountability_profile_id: profile.id, territory_code: territory, territory_user_id: randomUUID(), is_primary: true }).execute();
  }
  const statement = `It was not me (${tag}), I promise.`;
  const openedAt = new Date('2026-03-04T05:06:07Z');
  const row = await db.insertInto('appeals').values({ persona_id: persona, accountability_profile_id: profile.id, statement, opened_at: openedAt }).returning('id').executeTakeFirstOrThrow();
  return { id: row.id, profileId: profile.id, statement, territory, openedAt };
}

export interface OldIdentification {
  readonly token: string;
  readonly lookupKey: Buffer;
  readonly data: string;
}

/** A browser's voluntary identification, sealed under its token's keys in the global table. */
export async function oldIdentification(db: Kysely<any>): Promise<OldIdentification> {
  const token = newToken();
  const keys = deriveTokenKeys(token, IDENTITY_LINK_PURPOSE);
  const data = JSON.stringify({ identityData: { name: `Old Visitor ${randomBytes(3).toString('hex')}` }, consentedAt: '2026-01-01T00:00:00.000Z' });
  await db.insertInto('identity_links').values({ lookup_key: keys.lookupKey, sealed: seal(keys.sealKey, Buffer.from(data), keys.lookupKey) }).execute();
  return { token, lookupKey: keys.lookupKey, data };
}

/**
 * A key sign-in in flight, its public key in the record as then, and a social one with a returnTo.
 * Answers the key challenge's hash (hex), to find its record again.
 */
export async function oldVerifications(db: Kysely<any>): Promise<string> {
  const keyChallenge = randomBytes(32);
  const expires = new Date(Date.now() + 300_000);
  await db.insertInto('verifications').values({ strategy: 'key', challenge_hash: keyChallenge, state: JSON.stringify({ publicKey: 'A'.repeat(43) }), expires_at: expires }).execute();
  await db
    .insertInto('verifications')
    .values({ strategy: 'social', challenge_hash: randomBytes(32), state: JSON.stringify({ provider: 'idp', binding: 'ab', returnTo: '/u/someone?email=x@example.org' }), expires_at: expires })
    .execute();
  return keyChallenge.toString('hex');
}
