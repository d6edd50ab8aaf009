import { randomBytes } from 'node:crypto';
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
  #dummy: Promise<string> | undefined;

  /** `timed` is told how long each hash or verification took (a metric). */
  constructor(policy: PasswordHashingPolicy, timed: (seconds: number) => void = () => undefined) {
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
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.#timed((performance.now() - started) / 1000);
    }
  }
}
