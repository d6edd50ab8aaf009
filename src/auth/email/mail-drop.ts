import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { Mailer, OutgoingMail } from './mailer.js';

/** Where development mail goes: `<dataDir>/mail`, one `.eml` file per message. */
export function mailDropDir(dataDir: string): string {
  return join(dataDir, 'mail');
}

/**
 * Development delivery without a mail server: nodemailer builds the real message (the same MIME an
 * SMTP server would get) and it is written to a file that any mail client opens. Files and folder
 * are readable by the service's user only: they hold live sign-in codes.
 */
export class MailDrop implements Mailer {
  readonly #transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  readonly #dir: string;
  readonly #from: string;

  constructor(dir: string, from: string) {
    this.#dir = dir;
    this.#from = from;
  }

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.#transport.sendMail({ from: this.#from, to: mail.to, subject: mail.subject, text: mail.text });
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    // The time first, zero-padded: names sort oldest to newest.
    const name = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}.eml`;
    await writeFile(join(this.#dir, name), info.message as Buffer, { mode: 0o600 });
  }
}

export interface DroppedMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly sentAt: string;
}

/** The newest `limit` messages of the mail drop, newest first; none when nothing was sent yet. */
export async function readMailDrop(dir: string, limit: number): Promise<DroppedMail[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const newest = names.filter((name) => name.endsWith('.eml')).sort().reverse().slice(0, limit);
  const messages = await Promise.all(
    newest.map(async (name) => {
      try {
        return parseMessage(await readFile(join(dir, name), 'utf8'));
      } catch (error) {
        // Removed by someone between listing and reading: it is simply gone.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    }),
  );
  return messages.filter((message): message is DroppedMail => message !== null);
}

/**
 * Reads back a single-part text message as nodemailer writes one (the only kind this service sends):
 * unfolded headers with RFC 2047 encoded words, a body in 7bit, quoted-printable or base64.
 */
export function parseMessage(raw: string): DroppedMail {
  const source = raw.replace(/\r\n/g, '\n');
  const split = source.indexOf('\n\n');
  const head = split === -1 ? source : source.slice(0, split);
  const body = split === -1 ? '' : source.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const date = new Date(headers.get('date') ?? '');
  return {
    to: decodeWords(headers.get('to') ?? ''),
    subject: decodeWords(headers.get('subject') ?? ''),
    text: decodeBody(body, (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase()),
    sentAt: (Number.isNaN(date.getTime()) ? new Date(0) : date).toISOString(),
  };
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body.replace(/=\n/g, ''));
  return body;
}

function decodeQuotedPrintable(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === '=' ? value.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`); white space between two of them is not text. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_word, _charset: string, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}
