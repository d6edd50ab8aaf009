import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hash, parseOptions, verify, type Algorithm, type Options } from '@node-rs/argon2';

/** argon2id cost parameters; OWASP's floor is m = 19 MiB, t = 2, p = 1 (the config refuses less). */
export interface PasswordHashingPolicy {
  readonly memoryKib: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** Hashes and checks passwords; every call runs off the event loop. */
export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`): the parameters travel with the hash. */
  hash(password: string): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
  /**
   * Runs a full verification against a hash of nothing anyone knows, and answers false. Called when
   * there is no account, so that "no such email" costs exactly what "wrong password" costs.
   */
  verifyNothing(password: string): Promise<false>;
  /** True when the hash was made with weaker parameters than the current policy (or another algorithm). */
  needsRehash(phc: string): boolean;
}

/** `Algorithm.Argon2id`: a const enum, which isolated modules cannot read from a declaration file. */
const ARGON2ID = 2 as Algorithm;

/**
 * argon2id through @node-rs/argon2, whose async calls run on the libuv thread pool: a login storm
 * occupies those threads, never the event loop that answers GET /session.
 *
 * Passwords are NFC-normalized first, so the same characters typed on two keyboards (a composed é
 * or e + combining accent) are the same password.
 */
export class Argon2PasswordHasher implements PasswordHasher {
  readonly #policy: PasswordHashingPolicy;
  readonly #options: Options;
  readonly #timed: (seconds: number) => void;
  readonly #slots: HashingSlots;
  #dummy: Promise<string> | undefined;

  /**
   * `timed` is told how long each hash or verification took (a metric). `concurrency` caps the
   * hashes running at once: each takes a whole core, so with one per core a sign-in storm would
   * leave the event loop, which answers every other request, waiting for a CPU.
   */
  constructor(
    policy: PasswordHashingPolicy,
    timed: (seconds: number) => void = () => undefined,
    concurrency: number = defaultHashingConcurrency(),
  ) {
    this.#slots = new HashingSlots(concurrency);
    this.#policy = policy;
    this.#options = {
      algorithm: ARGON2ID,
      memoryCost: policy.memoryKib,
      timeCost: policy.timeCost,
      parallelism: policy.parallelism,
    };
    this.#timed = timed;
  }

  hash(password: string): Promise<string> {
    return this.#time(() => hash(password.normalize('NFC'), this.#options));
  }

  verify(phc: string, password: string): Promise<boolean> {
    return this.#time(() => verify(phc, password.normalize('NFC')));
  }

  async verifyNothing(password: string): Promise<false> {
    // Made once, under the current policy, from random bytes nobody holds: it matches no password,
    // and verifying against it costs what verifying against a real hash of the same policy costs.
    this.#dummy ??= hash(randomBytes(32), this.#options);
    await this.verify(await this.#dummy, password);
    return false;
  }

  needsRehash(phc: string): boolean {
    const current = parseOptions(phc);
    return (
      current.algorithm !== ARGON2ID ||
      current.memoryCost < this.#policy.memoryKib ||
      current.timeCost < this.#policy.timeCost ||
      current.parallelism !== this.#policy.parallelism
    );
  }

  /** Prepares the dummy hash ahead of the first unknown-email login, so that one is not slower. */
  async warmUp(): Promise<void> {
    this.#dummy ??= hash(randomBytes(32), this.#options);
    await this.#dummy;
  }

  async #time<T>(work: () => Promise<T>): Promise<T> {
    await this.#slots.acquire();
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.#timed((performance.now() - started) / 1000);
      this.#slots.release();
    }
  }
}

/** All cores but one for hashing (at least one): the event loop keeps a core of its own. */
export function defaultHashingConcurrency(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** A counting semaphore: at most `size` holders; the others wait in arrival order. */
class HashingSlots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next(); // the slot passes straight to the next in line
    else this.#free++;
  }
}
