/**
 * The Lua that counts one attempt against `KEYS[1]` within a window of `ARGV[1]` milliseconds,
 * leaving `count` and `ttl` (ms) in locals. Increment and expiry in one script: Redis runs a script
 * atomically, so concurrent attempts from every node are counted exactly, and a key can never be
 * left without an expiry (a crash between INCR and PEXPIRE would otherwise lock its subject out).
 * Shared by the attempt limiter and the lookup gate, so a lookup counts as a `reserve` would.
 */
export const COUNT_ATTEMPT_LUA = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
`;
