// The baseline of bench/federation.mjs: the least a WebFinger or identity lookup could do. Parse the
// query or the path, check the handle's shape, and answer a document held in memory, with the same
// headers the service sends. No database, limiter, hooks or schemas: the gap is the service's own cost.
import Fastify from 'fastify';

const { PORT, HOST = '127.0.0.1' } = process.env;
if (!PORT) throw new Error('PORT is required');

const HANDLE = /^[a-z0-9_]{3,50}$/;
const origin = `http://127.0.0.1:${PORT}`;
const identityOf = (handle) => ({
  handle,
  displayName: 'Bench Person',
  avatarUrl: null,
  address: `${handle}@main`,
  matrixId: `@${handle}:localhost`,
  aliases: [],
  publicKeyHash: 'f'.repeat(64),
  territory: { code: 'main', name: 'Main' },
});
const jrdOf = (handle) => ({
  subject: `acct:${handle}@localhost`,
  aliases: [`${origin}/identities/${handle}`, `matrix:u/${handle}:localhost`],
  properties: { 'http://packetizer.com/ns/name': 'Bench Person' },
  links: [
    { rel: 'self', type: 'application/json', href: `${origin}/identities/${handle}` },
    { rel: 'http://webfinger.net/rel/profile-page', href: `${origin}/identities/${handle}` },
  ],
});

const app = Fastify({ logger: { level: 'warn' } });

app.get('/.well-known/webfinger', async (request, reply) => {
  const match = /^acct:([^@]+)@localhost$/.exec(String(request.query.resource ?? ''));
  reply.header('access-control-allow-origin', '*').header('cache-control', 'no-store');
  if (!match || !HANDLE.test(match[1].toLowerCase())) return reply.code(404).send({ code: 'IDENTITY_NOT_FOUND' });
  return reply.type('application/jrd+json').send(JSON.stringify(jrdOf(match[1].toLowerCase())));
});

app.get('/identities/:handle', async (request, reply) => {
  const handle = request.params.handle.toLowerCase();
  reply.header('cache-control', 'no-store');
  if (!HANDLE.test(handle)) return reply.code(404).send({ code: 'IDENTITY_NOT_FOUND' });
  return { identity: identityOf(handle), correlationId: request.id };
});

app.get('/readyz', async () => ({ status: 'ready' }));

await app.listen({ host: HOST, port: Number(PORT) });
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void app.close());
