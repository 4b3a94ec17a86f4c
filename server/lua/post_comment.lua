-- Append a comment to a meeting's stream, atomically with its guards and projections.
-- KEYS: 1 stream, 2 meeting hash, 3 idempotency hash, 4 slow-mode bucket, 5 held counts,
--       6 items hash, 7 texts of the questions others may repeat
-- ARGV: 1 client_msg_id, 2 kind, 3 data (JSON), 4 hold reason or '',
--       5 JSON of the item it creates (a question) or ''
-- Returns {'ok', id}, {'dup', 'id reason'}, {'missing', ''}, {'closed', status},
-- or {'rate', milliseconds to wait}.
local seen = redis.call('HGET', KEYS[3], ARGV[1])
if seen then return {'dup', seen} end
local meeting = redis.call('HMGET', KEYS[2], 'status', 'slow_mode_seconds', 'slow_mode_burst')
if not meeting[1] then return {'missing', ''} end
if meeting[1] ~= 'live' then return {'closed', meeting[1]} end
-- Slow mode as GCRA: one comment per interval, bursts of `burst` (R3: never zero).
local interval = math.floor(tonumber(meeting[2]) * 1000)
if interval > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local burst = tonumber(meeting[3])
  local tat = tonumber(redis.call('GET', KEYS[4]) or '0')
  if tat < now then tat = now end
  local wait = tat - (burst - 1) * interval - now
  if wait > 0 then return {'rate', string.format('%d', wait)} end
  tat = tat + interval
  redis.call('SET', KEYS[4], string.format('%d', tat), 'PX', string.format('%d', tat - now + 1000))
end
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[2], 'd', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], id .. ' ' .. ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[6], id, ARGV[5])
  redis.call('HSET', KEYS[7], id, cjson.decode(ARGV[5]).text)
elseif ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[4], 1) end
return {'ok', id}
