import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { randomSecret } from '../support/app.js';
import { inconsistencies, tally } from '../support/consistency.js';
import { postgresUrl } from '../support/database.js';
import { HttpVisitor, isTypedError } from '../support/http-visitor.js';
import { killHard, startService, stopGracefully, tempFolder, type ServiceNode } from '../support/service-process.js';
import { writeBurst } from '../support/write-burst.js';

/**
 * The embedded server (PGlite in DATA_DIR) killed with SIGKILL in the middle of writes, as a power
 * cut or the OOM killer would: started again on the same data directory, it must start, keep every
 * write it acknowledged, and hold no half-written request. (The PostgreSQL side of the same promise
 * is cluster.test.ts, in the services suite.)
 */
describe.skipIf(postgresUrl)('kill -9 of the embedded server during writes (embedded suite only: PostgreSQL faults are in cluster.test.ts)', () => {
  const folder = tempFolder('crash');
  const adminToken = randomSecret();
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATA_DIR: folder.path,
    LOGIN_ATTEMPTS_PER_CLIENT: '10000',
    PASSWORD_HASHING_CONCURRENCY: '1',
    COOKIE_SECRETS: randomSecret(),
    TOKEN_HASH_KEY: randomSecret(),
    PSEUDONYM_KEYS: `k1:${randomSecret()}`,
    ADMIN_TOKEN: adminToken,
    EMAIL_KEYS: `k1:${randomSecret()}`,
  };
  let server: ServiceNode | undefined;

  afterAll(async () => {
    if (server) await killHard(server);
    folder.remove();
  });

  it('restarts on the same data directory, keeps every acknowledged write, and holds no partial request', async ({ annotate }) => {
    // A new cluster takes many seconds to initialize: start from the suite's migrated template instead.
    const template = inject('pgliteTemplate');
    if (template) {
      const seed = new PGlite(join(folder.path, 'pglite'), { loadDataDir: new Blob([await readFile(template)]) });
      await seed.waitReady;
      await seed.close();
    }
    server = await startService('embedded', env);
    const port = server.port;

    let writing = true;
    const burst = writeBurst(() => [server as ServiceNode], () => writing, { workers: 6, adminToken });
    // Kill once enough writes have landed (bounded in time on a slow machine), with six more in flight.
    const deadline = Date.now() + 15_000;
    while (burst.answered() < 30 && Date.now() < deadline) await delay(50);
    await killHard(server); // SIGKILL: no shutdown hook, no checkpoint, requests cut mid-flight
    writing = false;
    const { answers, unanswered, acknowledgedGuests } = await burst.done;
    await annotate(`${answers.length} answered (${acknowledgedGuests.length} guests acknowledged), ${unanswered.length} cut off or refused`);
    expect(acknowledgedGuests.length).toBeGreaterThan(0);
    for (const answer of answers.filter((each) => each.status >= 400)) expect(isTypedError(answer), answer.text).toBe(true);

    const restartedAt = Date.now();
    server = await startService('embedded, restarted', env, { port });
    await annotate(`healthy again ${Date.now() - restartedAt} ms after the restart began`);
    // Every guest whose creation was answered 201 is there, with the same persona.
    for (const { visitor, personaId } of acknowledgedGuests) {
      const session = await visitor.request(server.base, 'GET', '/session');
      expect((session.body?.persona as { id: string } | null)?.id, session.text).toBe(personaId);
    }
    expect((await new HttpVisitor().request(server.base, 'POST', '/session')).status).toBe(201);
    await stopGracefully(server);

    // The service is down; read its data directory directly.
    const database = openDatabase({ dataDir: folder.path });
    try {
      expect(await inconsistencies(database.db)).toEqual({});
      await annotate(`after the crash and restart: ${JSON.stringify(await tally(database.db))}`);
    } finally {
      await database.close();
    }
  }, 180_000);
});
