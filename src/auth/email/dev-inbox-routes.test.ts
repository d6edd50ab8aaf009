import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnvironment } from '../../../test/support/app.js';
import { loadConfig } from '../../config.js';
import { devInboxEnabled, devInboxRoutes } from './dev-inbox-routes.js';
import { MailDrop, mailDropDir } from './mail-drop.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'personae-inbox-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('devInboxEnabled', () => {
  const config = (env: Record<string, string>) => loadConfig(testEnvironment({ DATA_DIR: dataDir, ...env }));

  it('is on only outside production and without SMTP_URL', () => {
    expect(devInboxEnabled(config({ NODE_ENV: 'development' }))).toBe(true);
    expect(devInboxEnabled(config({ NODE_ENV: 'test' }))).toBe(true);
    expect(devInboxEnabled(config({ NODE_ENV: 'development', SMTP_URL: 'smtp://127.0.0.1:2525' }))).toBe(false);
    expect(devInboxEnabled(config({ NODE_ENV: 'production' }))).toBe(false);
    expect(devInboxEnabled(config({ NODE_ENV: 'production', SMTP_URL: 'smtp://127.0.0.1:2525' }))).toBe(false);
  });
});

describe('GET /api/v2/dev/inbox', () => {
  it('lists the dropped messages newest first, at most 50, with to, subject, text and sentAt', async () => {
    const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    await app.register(devInboxRoutes, { dataDir });
    const empty = await app.inject({ method: 'GET', url: '/api/v2/dev/inbox' });
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ messages: [], correlationId: expect.any(String) });

    const drop = new MailDrop(mailDropDir(dataDir), 'personae <no-reply@localhost>');
    for (let i = 0; i < 52; i++) {
      await drop.send({ to: `n${i}@example.org`, subject: `Message ${i}`, text: `Body ${i}\n` });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const response = await app.inject({ method: 'GET', url: '/api/v2/dev/inbox' });
    const { messages } = response.json() as { messages: Array<Record<string, string>> };
    expect(messages).toHaveLength(50);
    expect(messages[0]).toEqual({ to: 'n51@example.org', subject: 'Message 51', text: 'Body 51\n', sentAt: expect.any(String) });
    expect(messages[49]?.subject).toBe('Message 2');
    expect(Object.keys(messages[0]!).sort()).toEqual(['sentAt', 'subject', 'text', 'to']);
    await app.close();
  });
});
