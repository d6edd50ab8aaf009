import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { openTerritoryDatabases } from './db/territory-databases.js';
import { createTerritoryRepository, type TerritoryChanges } from './modules/territories/territory-repository.js';
import { createTerritoryService } from './modules/territories/territory-service.js';
import { DOMAIN_PATTERN, TERRITORY_CODE_PATTERN, type Territory, type TerritoryStatus } from './modules/territories/territory.js';

export const TERRITORIES_USAGE = [
  'usage: personae territories                      list territories',
  '       personae territories create <code> <name> [--federation-domain d] [--matrix-domain m] [--invite-only]',
  '       personae territories update <code> [--name n] [--federation-domain d|--no-federation-domain]',
  '                                          [--matrix-domain m|--no-matrix-domain] [--invite-only|--open] [--status active|closed]',
].join('\n');

/** A mistake in the command line: the usage is shown and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Print = (line: string) => void;

const OPTIONS = {
  name: { type: 'string' },
  'federation-domain': { type: 'string' },
  'no-federation-domain': { type: 'boolean' },
  'matrix-domain': { type: 'string' },
  'no-matrix-domain': { type: 'boolean' },
  'invite-only': { type: 'boolean' },
  open: { type: 'boolean' },
  status: { type: 'string' },
} as const;

const CODE = new RegExp(TERRITORY_CODE_PATTERN);
const DOMAIN = new RegExp(DOMAIN_PATTERN);

function code(value: string | undefined): string {
  if (value === undefined || !CODE.test(value)) throw new UsageError('a territory code is a letter, then letters or digits; 2–16 in all (e.g. dk)');
  return value;
}

function name(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > 100) throw new UsageError('a territory name has 1 to 100 characters');
  return trimmed;
}

/** A domain option: the given DNS name, null when its `--no-` form is set, undefined when neither is. */
function domain(value: string | undefined, cleared: boolean | undefined, option: string): string | null | undefined {
  if (value !== undefined && cleared) throw new UsageError(`--${option} and --no-${option} contradict each other`);
  if (cleared) return null;
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower.length > 253 || !DOMAIN.test(lower)) throw new UsageError(`--${option} must be a DNS name (e.g. dk.example.org)`);
  return lower;
}

function changesOf(values: ReturnType<typeof parse>['values']): TerritoryChanges {
  if (values['invite-only'] && values.open) throw new UsageError('--invite-only and --open contradict each other');
  if (values.status !== undefined && values.status !== 'active' && values.status !== 'closed') throw new UsageError('--status is active or closed');
  const changes: { -readonly [K in keyof TerritoryChanges]: TerritoryChanges[K] } = {};
  if (values.name !== undefined) changes.name = name(values.name);
  const federationDomain = domain(values['federation-domain'], values['no-federation-domain'], 'federation-domain');
  if (federationDomain !== undefined) changes.federationDomain = federationDomain;
  const matrixDomain = domain(values['matrix-domain'], values['no-matrix-domain'], 'matrix-domain');
  if (matrixDomain !== undefined) changes.matrixDomain = matrixDomain;
  if (values['invite-only'] || values.open) changes.inviteOnly = values['invite-only'] === true;
  if (values.status !== undefined) changes.status = values.status as TerritoryStatus;
  return changes;
}

function parse(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** One line per territory: what an operator needs to see at a glance. */
export function territoryLine(territory: Territory): string {
  return [
    territory.code,
    JSON.stringify(territory.name),
    `federation=${territory.federationDomain}`,
    `matrix=${territory.matrixDomain}`,
    territory.inviteOnly ? 'invite-only' : 'open',
    territory.status,
    territory.remote ? 'remote' : 'local',
    ...(territory.isDefault ? ['default'] : []),
  ].join('  ');
}

/**
 * `personae territories [create|update] …`: the admin API's territory operations for an operator at
 * a shell, through the same service, so a territory made here has its schema migrated where it
 * lives (TERRITORY_DATABASE_URLS) and is audited, with `cli` as the actor.
 */
export async function territoriesCommand(db: Db, config: Config, args: readonly string[], print: Print): Promise<void> {
  const { positionals, values } = parse(args);
  const [action, ...rest] = positionals;
  const databases = openTerritoryDatabases(db, config.federation.territoryDatabaseUrls, 1);
  const territories = createTerritoryService({
    territories: createTerritoryRepository(db),
    databases,
    publicHost: new URL(config.publicOrigin).hostname,
  });
  const actor = { actor: 'cli', correlationId: randomUUID() };
  try {
    if (action === undefined || action === 'list') {
      if (rest.length > 0 || Object.keys(values).length > 0) throw new UsageError('list takes no arguments');
      for (const territory of await territories.list()) print(territoryLine(territory));
    } else if (action === 'create') {
      if (rest.length !== 2) throw new UsageError('create takes a code and a name');
      const changes = changesOf(values);
      if (changes.status !== undefined || changes.inviteOnly === false || values['no-federation-domain'] || values['no-matrix-domain'] || values.name !== undefined) {
        throw new UsageError('create takes only --federation-domain, --matrix-domain and --invite-only');
      }
      const created = await territories.create(
        {
          code: code(rest[0]),
          name: name(rest[1] as string),
          federationDomain: changes.federationDomain ?? null,
          matrixDomain: changes.matrixDomain ?? null,
          inviteOnly: changes.inviteOnly ?? false,
        },
        actor,
      );
      print(`created: ${territoryLine(created)}`);
    } else if (action === 'update') {
      if (rest.length !== 1) throw new UsageError('update takes one code');
      const changes = changesOf(values);
      if (Object.keys(changes).length === 0) throw new UsageError('update needs at least one change');
      print(`updated: ${territoryLine(await territories.update(code(rest[0]), changes, actor))}`);
    } else {
      throw new UsageError(`unknown territories action: ${action}`);
    }
  } finally {
    await databases.close();
  }
}
