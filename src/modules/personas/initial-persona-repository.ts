import type { Insertable } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { PersonasTable } from '../../db/schema.js';

/** A person's first persona, as every way of arriving makes it (guest, registration, any sign-in method). */
export interface InitialPersona {
  readonly id: string;
  readonly displayName: string;
  readonly displayNameKey: string;
  readonly authorId: string;
}

/**
 * Inserts the first persona of a new person, made by (and accessible to) its first account, inside
 * the transaction that creates them. The caller writes any event.
 */
export async function insertInitialPersona(trx: Tx, profileId: string, accountId: string, persona: InitialPersona): Promise<void> {
  await trx.insertInto('personas').values(initialPersonaRow(profileId, accountId, persona)).execute();
  await trx.insertInto('persona_access').values({ account_id: accountId, persona_id: persona.id }).execute();
}

/**
 * The persona row of a person's first persona, for a caller that writes it in a statement of its own
 * (guest starts insert many people in one statement); with its `persona_access` row, as above.
 */
export function initialPersonaRow(profileId: string, accountId: string, persona: InitialPersona): Insertable<PersonasTable> {
  return {
    id: persona.id,
    accountability_profile_id: profileId,
    display_name: persona.displayName,
    display_name_key: persona.displayNameKey,
    author_id: persona.authorId,
    origin: 'initial',
    owner_account_id: accountId,
  };
}
