import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Config } from '../../config.js';
import { body } from '../../http/schemas.js';
import { mailDropDir, readMailDrop } from './mail-drop.js';

/** How many messages the inbox lists, newest first. */
const INBOX_SIZE = 50;

/**
 * The development inbox is on exactly when codes go to the mail drop: outside production, without
 * SMTP_URL. It shows every address's live codes, so it must never exist anywhere else.
 */
export function devInboxEnabled(config: Config): boolean {
  return config.environment !== 'production' && !config.signIn.email.smtpUrl;
}

export interface DevInboxOptions {
  readonly dataDir: string;
}

const Message = Type.Object(
  {
    to: Type.String(),
    subject: Type.String(),
    text: Type.String(),
    sentAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

/** `GET /api/v2/dev/inbox`: the mail drop's newest messages, for trying email sign-in without a mail server. */
export const devInboxRoutes: FastifyPluginAsyncTypebox<DevInboxOptions> = async (app, { dataDir }) => {
  const dir = mailDropDir(dataDir);
  app.get(
    '/api/v2/dev/inbox',
    {
      schema: {
        tags: ['development'],
        summary: 'Development only: the messages the service would have mailed, newest first',
        response: { 200: body({ messages: Type.Array(Message) }) },
      },
    },
    async (request) => ({ messages: await readMailDrop(dir, INBOX_SIZE), correlationId: request.id }),
  );
};
