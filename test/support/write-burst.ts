import { randomBytes } from 'node:crypto';
import { GOOD_PASSWORD } from './browser.js';
import { HttpVisitor, type HttpAnswer } from './http-visitor.js';

export interface BurstTarget {
  readonly base: string;
}

export interface BurstResult {
  readonly answers: HttpAnswer[];
  /** Requests that never got an answer (the connection broke: a killed process), by error message. */
  readonly unanswered: string[];
  /** Guests whose creation was answered 201, with the cookie that proves it: they must survive. */
  readonly acknowledgedGuests: Array<{ visitor: HttpVisitor; personaId: string }>;
}

/**
 * Writes for as long as `running()` holds, with `workers` requests in flight, spread over the
 * nodes: new guests (four tables in one transaction), registrations (account, persona, credential,
 * two events) and bans of earlier guests (state, event, audit row). Every answer is kept.
 */
export function writeBurst(
  targets: () => readonly BurstTarget[],
  running: () => boolean,
  options: { readonly workers: number; readonly adminToken: string },
): { readonly done: Promise<BurstResult>; answered(): number } {
  const answers: HttpAnswer[] = [];
  const unanswered: string[] = [];
  const acknowledgedGuests: BurstResult['acknowledgedGuests'] = [];
  const toBan: string[] = [];
  let turn = 0;

  const once = async () => {
    const i = turn++;
    const list = targets();
    const base = (list[i % list.length] as BurstTarget).base;
    const kind = i % 5;
    if (kind === 4 && toBan.length > 0) {
      const personaId = toBan.shift() as string;
      const subject = { subject: { personaId }, reason: 'burst' };
      answers.push(await new HttpVisitor().request(base, 'POST', '/admin/bans', subject, { authorization: `Bearer ${options.adminToken}` }));
    } else if (kind === 3) {
      const tag = randomBytes(6).toString('hex');
      const person = { email: `burst.${tag}@example.org`, password: GOOD_PASSWORD, initialDisplayName: `Burst ${tag}` };
      answers.push(await new HttpVisitor().request(base, 'POST', '/auth/register', person));
    } else {
      const visitor = new HttpVisitor();
      const answer = await visitor.request(base, 'POST', '/session');
      answers.push(answer);
      if (answer.status === 201) {
        const personaId = (answer.body?.persona as { id: string }).id;
        acknowledgedGuests.push({ visitor, personaId });
        toBan.push(personaId);
      }
    }
  };

  const worker = async () => {
    while (running()) {
      try {
        await once();
      } catch (error) {
        unanswered.push(error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error));
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, worker)).then(() => ({ answers, unanswered, acknowledgedGuests }));
  return { done, answered: () => answers.length };
}
