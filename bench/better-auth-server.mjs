// The peer: Better Auth (the version the issue measured) with its anonymous plugin, on PostgreSQL through
// its own Kysely adapter over a pg pool of the service's size. Its anonymous sign-in is the nearest thing
// to the service's guest start: a user row, a session row and a signed session cookie per request.
// Rate limiting and telemetry are off, as the service's limiter is off for the guest route in the bench.
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { anonymous } from 'better-auth/plugins';
import pg from 'pg';

const { PORT, HOST = '127.0.0.1', DATABASE_URL, AUTH_SECRET, POOL_SIZE = '10' } = process.env;
if (!PORT || !DATABASE_URL || !AUTH_SECRET) throw new Error('PORT, DATABASE_URL and AUTH_SECRET are required');

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: Number(POOL_SIZE) });
const auth = betterAuth({
  database: pool,
  secret: AUTH_SECRET,
  baseURL: `http://${HOST}:${PORT}`,
  plugins: [anonymous()],
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: 'error' },
});
await (await getMigrations(auth.options)).runMigrations();

const handle = toNodeHandler(auth);
const server = createServer((request, response) => {
  // The bench waits on the same readiness path for every server.
  if (request.url === '/readyz') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    return;
  }
  handle(request, response);
});
server.listen(Number(PORT), HOST);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => server.close(() => void pool.end()));
}
