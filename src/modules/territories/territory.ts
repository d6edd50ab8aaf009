/**
 * Territories (spec 004): data-residency regions. Each keeps its personal data in its own
 * PostgreSQL schema, `territory_<code>`, possibly on its own server. Pure rules only.
 */

/** The territory every installation starts with, and the home of anyone who never chose another. */
export const DEFAULT_TERRITORY_CODE = 'main';

/** A short lowercase code (`dk`, `no`, `eu1`): a letter, then letters or digits, 2–16 in all. */
export const TERRITORY_CODE_PATTERN = '^[a-z][a-z0-9]{1,15}$';

/** A DNS name: labels of letters, digits and hyphens, at least one dot (RFC 1123). */
export const DOMAIN_PATTERN = '^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$|^localhost$';

export type TerritoryStatus = 'active' | 'closed';

export interface Territory {
  readonly code: string;
  readonly name: string;
  /** Where `acct:handle@<domain>` is answered. */
  readonly federationDomain: string;
  /** The server part of Matrix ids, `@handle:<domain>`. */
  readonly matrixDomain: string;
  readonly inviteOnly: boolean;
  readonly status: TerritoryStatus;
  readonly isDefault: boolean;
  /** Lives on its own PostgreSQL server (TERRITORY_DATABASE_URLS). */
  readonly remote: boolean;
  readonly createdAt: Date;
}

export function schemaOf(code: string): string {
  if (!new RegExp(TERRITORY_CODE_PATTERN).test(code)) throw new Error(`not a territory code: ${code}`);
  return `territory_${code}`;
}

/** The federated address `handle@territory` (spec 004). */
export function addressOf(handle: string, territoryCode: string): string {
  return `${handle}@${territoryCode}`;
}

/** The Matrix user id `@handle:<matrix domain>`. */
export function matrixIdOf(handle: string, territory: Pick<Territory, 'matrixDomain'>): string {
  return `@${handle}:${territory.matrixDomain}`;
}

/** The WebFinger resource of a handle: `acct:handle@<federation domain>` (RFC 7565). */
export function acctOf(handle: string, territory: Pick<Territory, 'federationDomain'>): string {
  return `acct:${handle}@${territory.federationDomain}`;
}
