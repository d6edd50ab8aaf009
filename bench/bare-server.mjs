// The baseline: the least a GET /session could do. Parse and verify the signed `anon_id` cookie with
// @fastify/cookie exactly as the service does, and answer a session-shaped object held in memory.
// No database, cache, hooks or schemas: the gap between this and the real route is the service's own cost.
import { randomBytes, randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify from 'fastify';

const { PORT, HOST = '127.0.0.1', COOKIE_SECRET } = process.env;
if (!PORT || !COOKIE_SECRET) throw new Error('PORT and COOKIE_SECRET are required');

// Same shape checks as src/http/anon-cookie.ts: `<43-char token>.<base36 seconds>`.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const ISSUED_SHAPE = /^[0-9a-z]{1,10}$/;

const SESSION = Object.freeze({
  started: true,
  anonymous: true,
  banned: false,
  persona: Object.freeze({
    id: '0b7e5a52-6f1c-4b1e-9a53-2f4e8d7c1a90',
    displayName: 'Quiet Otter 4821',
    trustLevel: 'NEW',
    authorId: 'k1.Xb2cQ9rT0aLmN4pZ7wYvE1sK',
  }),
});
const NOT_STARTED = Object.freeze({ started: false, anonymous: true, banned: false, persona: null });

// The service logs through pino at its defaults, which write no line for a quick answer. Same here.
const app = Fastify({ logger: { level: 'warn' } });
await app.register(fastifyCookie, { secret: [COOKIE_SECRET] });

app.get('/session', async (request) => {
  const raw = request.cookies.anon_id;
  const unsigned = raw && raw.length <= 200 ? request.unsignCookie(raw) : null;
  const [token, issued, extra] = unsigned?.valid && unsigned.value !== null ? unsigned.value.split('.') : [];
  const valid = extra === undefined && token && issued && TOKEN_SHAPE.test(token) && ISSUED_SHAPE.test(issued);
  return { ...(valid ? SESSION : NOT_STARTED), correlationId: request.id };
});
// The least a guest start could do (bench/guest.mjs): mint a token, keep a guest for it in memory, set
// the signed cookie as the service sets it. No database: the service's gap to this is its own cost.
const guests = new Map();
app.post('/session', async (request, reply) => {
  const token = randomBytes(32).toString('base64url');
  const persona = { ...SESSION.persona, id: randomUUID() };
  guests.set(token, persona);
  reply.setCookie('anon_id', `${token}.${Math.floor(Date.now() / 1000).toString(36)}`, {
    signed: true, httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: 315_360_000,
  });
  return reply.code(201).send({ ...SESSION, persona, correlationId: request.id });
});
// The bench waits on the same readiness path for every server.
app.get('/readyz', async () => ({ status: 'ready' }));

await app.listen({ host: HOST, port: Number(PORT) });
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void app.close());
