import { Histogram, type Registry } from 'prom-client';

/**
 * Time spent in argon2id (hashes and verifications alike), so an operator can see what share of
 * sign-in latency the password policy costs, and raise or keep it knowingly.
 */
export function passwordHashingTimer(registry: Registry): (seconds: number) => void {
  const histogram = new Histogram({
    name: 'personae_password_hashing_seconds',
    help: 'Time spent hashing or verifying a password with argon2id.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return (seconds) => histogram.observe(seconds);
}
