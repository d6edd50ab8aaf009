import { describe, expect, it } from 'vitest';
import { nextAttemptAt, wantsEvent, webhookUrlProblem } from './webhook.js';
import { WebhookSecretBox } from './webhook-secret-box.js';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './webhook-signature.js';

describe('webhook URLs', () => {
  it.each(['https://hooks.example.com/personae', 'http://127.0.0.1:8080/hook?source=personae', 'https://[::1]/x'])('accepts %s', (url) => {
    expect(webhookUrlProblem(url)).toBeNull();
  });

  it.each([
    ['ftp://example.com/x', 'must use http or https'],
    ['file:///etc/passwd', 'must use http or https'],
    ['javascript:alert(1)', 'must use http or https'],
    ['/relative/path', 'is not an absolute URL'],
    ['https://user:secret@example.com/', 'must not carry credentials'],
    ['https://example.com/#frag', 'must not carry a fragment'],
    [`https://example.com/${'a'.repeat(2100)}`, 'is longer than 2048 characters'],
  ])('refuses %s', (url, problem) => {
    expect(webhookUrlProblem(url)).toBe(problem);
  });
});

describe('event type filters', () => {
  it('an empty filter takes every type; a list takes only its own', () => {
    expect(wantsEvent([], 'PersonBanned')).toBe(true);
    expect(wantsEvent(['PersonBanned'], 'PersonBanned')).toBe(true);
    expect(wantsEvent(['PersonBanned'], 'PersonaCreated')).toBe(false);
  });
});

describe('retry schedule', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5000 };
  const now = new Date('2030-01-01T00:00:00Z');
  const delay = (attempts: number, random: number) => (nextAttemptAt(now, attempts, policy, () => random)?.getTime() ?? NaN) - now.getTime();

  it('doubles from the base, up to the cap, with half of each step random', () => {
    expect([1, 2, 3, 4].map((attempts) => delay(attempts, 1))).toEqual([1000, 2000, 4000, 5000]);
    expect([1, 2, 3, 4].map((attempts) => delay(attempts, 0))).toEqual([500, 1000, 2000, 2500]);
    expect(delay(2, 0.5)).toBe(1500);
  });

  it('gives up once the attempts are spent', () => {
    expect(nextAttemptAt(now, 5, policy)).toBeNull();
    expect(nextAttemptAt(now, 6, policy)).toBeNull();
  });
});

describe('signatures (Standard Webhooks)', () => {
  it('reproduces the published test vector, so receivers\' libraries accept ours', () => {
    const signature = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies what it signs, and nothing altered, stale or signed with another secret', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const request = { id: 'e1', timestamp: '1000', body: '{"a":1}', signature: signWebhook(secret, 'e1', 1000, '{"a":1}') };
    expect(verifyWebhook(secret, request, 1000)).toBe(true);
    expect(verifyWebhook(secret, { ...request, signature: `v1,bm9wZQ== ${request.signature}` }, 1000)).toBe(true);
    expect(verifyWebhook(secret, { ...request, body: '{"a":2}' }, 1000)).toBe(false);
    expect(verifyWebhook(secret, { ...request, id: 'e2' }, 1000)).toBe(false);
    expect(verifyWebhook(secret, request, 1000 + 301)).toBe(false);
    expect(verifyWebhook(generateWebhookSecret(), request, 1000)).toBe(false);
  });
});

describe('sealed webhook secrets', () => {
  it('open only with the same server secret and for the same webhook', () => {
    const box = new WebhookSecretBox('a'.repeat(43));
    const sealed = box.seal('hook-1', 'whsec_abc');
    expect(box.open('hook-1', sealed)).toBe('whsec_abc');
    expect(box.open('hook-2', sealed)).toBeNull();
    expect(new WebhookSecretBox('b'.repeat(43)).open('hook-1', sealed)).toBeNull();
    expect(sealed.includes(Buffer.from('whsec_abc'))).toBe(false);
  });
});
