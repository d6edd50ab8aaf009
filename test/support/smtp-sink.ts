import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { parseMessage } from '../../src/auth/email/mail-drop.js';

export interface ReceivedMail {
  /** The envelope recipients (RCPT TO), as the SMTP server got them. */
  readonly recipients: readonly string[];
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly raw: string;
}

export interface SmtpSinkOptions {
  /** Refuse every recipient with 550, quoting the address (a mail server's usual wording). */
  readonly rejectRecipients?: boolean;
}

/**
 * A real SMTP server on a free local port that keeps every message it accepts: the service sends to
 * it over a real SMTP conversation, exactly as to a production relay. Plain text only (no STARTTLS,
 * no AUTH): it listens on 127.0.0.1 for one test file.
 */
export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  readonly #server: SMTPServer;
  #port = 0;

  private constructor(options: SmtpSinkOptions) {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        if (!options.rejectRecipients) return callback();
        // As a real server words it: the address quoted back in the refusal.
        const refusal = Object.assign(new Error(`<${address.address}>: Recipient address rejected: User unknown`), { responseCode: 550 });
        callback(refusal);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', callback);
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.messages.push({ recipients: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw, ...parseMessage(raw) });
          callback();
        });
      },
    });
  }

  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(options);
    await new Promise<void>((resolve, reject) => {
      sink.#server.once('error', reject);
      const server = sink.#server.listen(0, '127.0.0.1', () => {
        sink.#port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
    return sink;
  }

  /** The SMTP_URL that sends here. */
  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`;
  }

  /** Messages whose envelope names this recipient, oldest first. */
  to(address: string): ReceivedMail[] {
    return this.messages.filter((message) => message.recipients.includes(address));
  }

  /** The six-digit code of the newest message to this recipient. */
  lastCodeFor(address: string): string {
    const last = this.to(address).at(-1);
    const code = last && /^\s+(\d{6})$/m.exec(last.text)?.[1];
    if (!code) throw new Error('no code was mailed to this recipient');
    return code;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
