import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The soak's mixed load: what a community front end does all day. Each operation is one or two
 * requests as a real client sends them, with its own cookies; an answer the rules give (a persona
 * limit, a cooldown: 4xx with a typed code) is an outcome, a 5xx or a dropped connection a failure.
 */

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Settings for a service under this load: one client address makes all of it, and the per-client limits would stop it, not the service. */
export const UNLIMITED_CLIENT_LIMITS = { LOGIN_ATTEMPTS_PER_CLIENT: '100000', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000', LOOKUPS_PER_CLIENT: '10000000' };

/** The cookies a response set, merged into a jar (name → value), as a browser keeps them. */
function keepCookies(jar, response) {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.slice(0, line.indexOf(';'));
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
}

const cookieHeader = (jar) => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

/** One request, timed; the body is read whole so the connection is free again. */
async function send(base, path, { method = 'GET', jar, body } = {}) {
  const headers = { ...(body === undefined ? {} : JSON_HEADERS), ...(jar && jar.size > 0 ? { cookie: cookieHeader(jar) } : {}) };
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (jar) keepCookies(jar, response);
  return { status: response.status, json: () => JSON.parse(text), text };
}

/** The shared state of the load: guests and members to act as, handles to look up. */
export class SoakPopulation {
  guests = [];
  members = [];
  handles = [];
  #next = 0;

  constructor(base) {
    this.base = base;
  }

  pick(list) {
    return list[Math.floor(Math.random() * list.length)];
  }

  /** A fresh, unique suffix for emails and handles. */
  unique() {
    return `${process.pid.toString(36)}${(this.#next++).toString(36)}${randomBytes(3).toString('hex')}`;
  }

  /** Who there is to act as (a deep copy), to go back to with `restore` when the service's data goes back too. */
  snapshot() {
    return structuredClone({ guests: this.guests, members: this.members, handles: this.handles });
  }

  restore(snapshot) {
    Object.assign(this, structuredClone(snapshot));
  }

  /** Keeps the pools bounded: the newest few hundred identities are the active ones. */
  remember(list, item, max = 500) {
    list.push(item);
    if (list.length > max) list.splice(0, list.length - max);
  }
}

/** Signs up a member with email and handle; remembers its cookies and handle. */
async function signUp(population) {
  const suffix = population.unique();
  const jar = new Map();
  const member = { email: `soak-${suffix}@example.org`, handle: `soak_${suffix}`, password: `soak passphrase ${suffix} long enough`, jar };
  const response = await send(population.base, '/auth/register', {
    method: 'POST',
    jar,
    body: { email: member.email, handle: member.handle, password: member.password, initialDisplayName: `Soak ${suffix}` },
  });
  if (response.status === 201) {
    population.remember(population.members, member);
    population.remember(population.handles, member.handle);
  }
  return response.status;
}

/** Weighted operations; each answers the status of its last request. */
export const OPERATIONS = [
  {
    name: 'guest creation',
    weight: 12,
    async run(population) {
      const jar = new Map();
      const response = await send(population.base, '/session', { method: 'POST', jar });
      if (response.status === 201) population.remember(population.guests, jar);
      return response.status;
    },
  },
  {
    name: 'session resolution',
    weight: 40,
    async run(population) {
      const jar = population.pick(population.guests);
      return (await send(population.base, '/session', { jar })).status;
    },
  },
  { name: 'sign-up', weight: 2, run: signUp },
  {
    name: 'sign-in',
    weight: 3,
    async run(population) {
      const member = population.pick(population.members);
      return (await send(population.base, '/auth/login', { method: 'POST', jar: member.jar, body: { email: member.email, password: member.password } })).status;
    },
  },
  {
    name: 'persona ops',
    weight: 13,
    async run(population) {
      const member = population.pick(population.members);
      const listed = await send(population.base, '/personas', { jar: member.jar });
      if (listed.status !== 200) return listed.status;
      const personas = listed.json().personas;
      const roll = Math.random();
      // Every persona deactivated by another client of the same member at this instant: listing was the operation.
      if (personas.length === 0) return listed.status;
      if (roll < 0.25 && personas.length < 3) {
        return (await send(population.base, '/personas', { method: 'POST', jar: member.jar, body: { displayName: `Soak alias ${population.unique()}` } })).status;
      }
      const persona = population.pick(personas);
      if (roll < 0.6) return (await send(population.base, '/session/active-persona', { method: 'PUT', jar: member.jar, body: { personaId: persona.id } })).status;
      // Deactivate and bring back: the lifecycle, without using up the person's persona budget.
      const deactivated = await send(population.base, `/personas/${persona.id}/deactivate`, { method: 'POST', jar: member.jar });
      if (deactivated.status !== 200) return deactivated.status;
      return (await send(population.base, `/personas/${persona.id}/reactivate`, { method: 'POST', jar: member.jar })).status;
    },
  },
  {
    name: 'lookups',
    weight: 30,
    async run(population) {
      const handle = population.pick(population.handles);
      const roll = Math.random();
      const path =
        roll < 0.4 ? `/identities/${handle}` : roll < 0.8 ? `/.well-known/webfinger?resource=acct:${handle}@localhost` : `/handles/${handle}`;
      return (await send(population.base, path)).status;
    },
  },
];

/** Guests and members to start from, so every operation has someone to act as from the first second. */
export async function seedPopulation(population, { guests = 50, members = 10 } = {}) {
  for (let index = 0; index < guests; index++) await OPERATIONS[0].run(population);
  for (let index = 0; index < members; index++) {
    const status = await signUp(population);
    if (status !== 201) throw new Error(`seeding: sign-up answered ${status}`);
  }
}

/** Picks an operation by weight. */
export function pickOperation() {
  const total = OPERATIONS.reduce((sum, operation) => sum + operation.weight, 0);
  let roll = Math.random() * total;
  for (const operation of OPERATIONS) {
    roll -= operation.weight;
    if (roll < 0) return operation;
  }
  return OPERATIONS[OPERATIONS.length - 1];
}

/** One operation of the mix, timed: its name, when it began, how long it took, and its outcome (a status, or the error that stood for one). */
export async function runOperation(population) {
  const operation = pickOperation();
  const began = performance.now();
  let outcome;
  try {
    outcome = await operation.run(population);
  } catch (error) {
    outcome = `error: ${error.cause?.code ?? error.message}`;
  }
  return { name: operation.name, began, elapsed: performance.now() - began, outcome, failed: typeof outcome !== 'number' || outcome >= 500 };
}

/**
 * `clients` clients sending the mix until `end` (a `performance.now()` time): `rate` operations/s in
 * all, each client on its own schedule, or back to back when `rate` is 0. Each answer goes to `onAnswer`.
 */
export async function driveClients(population, { clients, end, rate, onAnswer }) {
  const intervalMs = rate > 0 ? (clients * 1000) / rate : 0;
  async function client() {
    let next = performance.now() + Math.random() * intervalMs;
    while (performance.now() < end) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      // Behind schedule: go on at once, without a burst to catch up (the load stays steady).
      next = Math.max(next + intervalMs, performance.now());
      onAnswer(await runOperation(population));
    }
  }
  await Promise.all(Array.from({ length: clients }, client));
}
