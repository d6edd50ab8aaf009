import { createTransport } from 'nodemailer';
import type { Config } from '../../config.js';
import { MailDrop, mailDropDir } from './mail-drop.js';

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Sends one message; rejects when it could not be handed over. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

/**
 * The mailer the configuration asks for: SMTP when SMTP_URL is set; otherwise, outside production
 * only, the development mail drop in `<dataDir>/mail`. Null in production without SMTP: codes
 * cannot be delivered, so the email strategy is not offered.
 */
export function openMailer(config: Config): Mailer | null {
  const { smtpUrl, from } = config.signIn.email;
  if (smtpUrl) return new SmtpMailer(smtpUrl, from);
  if (config.environment === 'production') return null;
  return new MailDrop(mailDropDir(config.dataDir), from);
}

/** Bounded waits, so a sign-in never hangs on a slow mail server for nodemailer's minutes-long defaults. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

/** Delivery through an SMTP server (smtp:// with STARTTLS when offered, smtps:// for implicit TLS). */
export class SmtpMailer implements Mailer {
  readonly #transport;
  readonly #from: string;

  constructor(url: string, from: string) {
    // nodemailer's own logger stays off (its default): its lines would carry addresses.
    this.#transport = createTransport({ url, ...SMTP_TIMEOUTS, logger: false });
    this.#from = from;
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.#transport.sendMail({ from: this.#from, to: mail.to, subject: mail.subject, text: mail.text });
  }
}
