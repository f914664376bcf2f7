"""Lua run atomically inside Redis: each is one round trip and cannot interleave with another
worker's call."""

# KEYS: stream, byte total. ARGV: max entries, max bytes, then request id and entry for each of
# the entries appended (the concurrent requests of one worker: one call for all of them).
# The stream is trimmed exactly (oldest first) so the byte total always matches what it holds;
# XADD's MAXLEN ~ would drop entries without telling us their size.
JOURNAL_APPEND = """
local limit, max_bytes, writer = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local bytes = 0
for i = 4, #ARGV, 2 do
  local size = string.len(ARGV[i + 1])
  redis.call('XADD', KEYS[1], '*', 'i', ARGV[i], 'e', ARGV[i + 1], 's', size, 'w', writer)
  bytes = redis.call('INCRBY', KEYS[2], size)
end
local count = redis.call('XLEN', KEYS[1])
while count > 1 and (count > limit or bytes > max_bytes) do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  redis.call('XDEL', KEYS[1], oldest[1])
  local fields = oldest[2]
  for i = 1, #fields, 2 do
    if fields[i] == 's' then bytes = redis.call('DECRBY', KEYS[2], tonumber(fields[i + 1])) end
  end
  count = count - 1
end
return count
"""

# KEYS: counters hash, fixture-set version. ARGV: fixture, the step this worker took, 1 if any
# step will do, the fixture-set version the worker answered under.
# Nothing is claimed if the fixtures changed since (the worker answers again under the new
# ones: a replaced fixture's counter is not the old one's). The step is claimed only if nobody
# took it meanwhile (compare and set), unless the fixture answers every use alike (one reply,
# no `times`): then the use is only counted.
CLAIM_STEP = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[4] then return 0 end
if ARGV[3] ~= '1' then
  local now = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  if now ~= tonumber(ARGV[2]) then return 0 end
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""

# KEYS: the key's budget hash. ARGV: rpm (-1: none), tpm (-1: none), tokens, window ms.
# Redis's clock, so every worker agrees when a window ends.
RATE_CHARGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm, tpm, tokens, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'started', 'requests', 'tokens')
local started, used_r, used_t = tonumber(b[1]), tonumber(b[2]) or 0, tonumber(b[3]) or 0
if started == nil or now - started >= window then
  started, used_r, used_t = now, 0, 0
end
local over = 0
if rpm >= 0 and used_r >= rpm then over = 1
elseif tpm >= 0 and used_t + tokens > tpm then over = 2 end
if over == 0 then used_r, used_t = used_r + 1, used_t + tokens end
redis.call('HSET', KEYS[1], 'started', started, 'requests', used_r, 'tokens', used_t)
redis.call('PEXPIRE', KEYS[1], window + 1000)
return {used_r, used_t, window - (now - started), over}
"""
