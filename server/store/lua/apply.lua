-- One atomic write of the record: check every guard, then append the events and store the
-- projections, all at once; a refused guard changes nothing. The script knows no event kind,
-- status or reason (the domain decides those): they come in its arguments.
-- KEYS: every key the write touches (a meeting's keys share a hash tag).
-- ARGV: the number of guards, the guards, then the operations to the end. Each is a name and
-- its arguments; a key argument is an index into KEYS.
-- Guards, checked in order:
--   unseen k field              HGET must be nil, else {'seen', i, the value}
--   equal k field value         HGET (nil as '') must equal value, else {'blocked', i, actual}
--   absent k                    EXISTS must be 0, else {'blocked', i, '1'}
--   number k field n default    HGET as a number (nil as default) must be n
--   not_member k member         SISMEMBER must be 0, else {'blocked', i, '1'}
--   pace k interval burst       GCRA in ms: one per interval, bursts of burst, else
--                               {'paced', i, milliseconds to wait}; the bucket is set only
--                               when every guard passed
--   before deadline             Redis's TIME in ms must not be past deadline, else
--                               {'late', i, now}: a write whose sender stopped waiting for
--                               it never runs later
-- Operations, in order:
--   xadd k kind data            append an entry; its id is append n (n counts from 1)
--   hset k field value          hset_at k n value (the field is append n's id)
--   hset_id k field n suffix    (the value is append n's id, then suffix)
--   hdel k field                hincrby k field by
--   sadd k member               srem k member
--   sunionstore k a b           zadd k score member
--   sadd_at k n                 (the member is append n's id)
--   xlog k n data               append an entry to a stream that is not the record (an
--                               outbox): fields 'at' (append n's id, '' for n = 0) and 'd';
--                               its id is not among the write's ids
-- Returns {'ok', id of append 1, id of append 2, ...} or a guard's refusal.
local at = 1
local function take(count)
  local values = {}
  for j = 1, count do values[j] = ARGV[at + j - 1] end
  at = at + count
  return values
end
local function key(index) return KEYS[tonumber(index)] end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local paced = {}
local guards = tonumber(ARGV[at]); at = at + 1
for i = 1, guards do
  local name = ARGV[at]; at = at + 1
  if name == 'unseen' then
    local a = take(2)
    local seen = redis.call('HGET', key(a[1]), a[2])
    if seen then return {'seen', i, seen} end
  elseif name == 'equal' then
    local a = take(3)
    local actual = redis.call('HGET', key(a[1]), a[2]) or ''
    if actual ~= a[3] then return {'blocked', i, actual} end
  elseif name == 'absent' then
    local a = take(1)
    if redis.call('EXISTS', key(a[1])) == 1 then return {'blocked', i, '1'} end
  elseif name == 'number' then
    local a = take(4)
    local actual = tonumber(redis.call('HGET', key(a[1]), a[2]) or a[4])
    if actual ~= tonumber(a[3]) then return {'blocked', i, tostring(actual)} end
  elseif name == 'not_member' then
    local a = take(2)
    if redis.call('SISMEMBER', key(a[1]), a[2]) == 1 then return {'blocked', i, '1'} end
  elseif name == 'pace' then
    local a = take(3)
    local interval, burst = tonumber(a[2]), tonumber(a[3])
    local now = now_ms()
    local tat = tonumber(redis.call('GET', key(a[1])) or '0')
    if tat < now then tat = now end
    local wait = tat - (burst - 1) * interval - now
    if wait > 0 then return {'paced', i, string.format('%d', wait)} end
    tat = tat + interval
    paced[#paced + 1] = {key(a[1]), string.format('%d', tat), string.format('%d', tat - now + 1000)}
  elseif name == 'before' then
    local a = take(1)
    local now = now_ms()
    if now > tonumber(a[1]) then return {'late', i, string.format('%d', now)} end
  else
    return redis.error_reply('unknown guard ' .. tostring(name))
  end
end
for _, bucket in ipairs(paced) do redis.call('SET', bucket[1], bucket[2], 'PX', bucket[3]) end

local ids = {}
while at <= #ARGV do
  local name = ARGV[at]; at = at + 1
  if name == 'xadd' then
    local a = take(3)
    ids[#ids + 1] = redis.call('XADD', key(a[1]), '*', 'k', a[2], 'd', a[3])
  elseif name == 'hset' then
    local a = take(3)
    redis.call('HSET', key(a[1]), a[2], a[3])
  elseif name == 'hset_at' then
    local a = take(3)
    redis.call('HSET', key(a[1]), ids[tonumber(a[2])], a[3])
  elseif name == 'hset_id' then
    local a = take(4)
    redis.call('HSET', key(a[1]), a[2], ids[tonumber(a[3])] .. a[4])
  elseif name == 'hdel' then
    local a = take(2)
    redis.call('HDEL', key(a[1]), a[2])
  elseif name == 'hincrby' then
    local a = take(3)
    redis.call('HINCRBY', key(a[1]), a[2], a[3])
  elseif name == 'sadd' then
    local a = take(2)
    redis.call('SADD', key(a[1]), a[2])
  elseif name == 'srem' then
    local a = take(2)
    redis.call('SREM', key(a[1]), a[2])
  elseif name == 'sunionstore' then
    local a = take(3)
    redis.call('SUNIONSTORE', key(a[1]), key(a[2]), key(a[3]))
  elseif name == 'zadd' then
    local a = take(3)
    redis.call('ZADD', key(a[1]), a[2], a[3])
  elseif name == 'sadd_at' then
    local a = take(2)
    redis.call('SADD', key(a[1]), ids[tonumber(a[2])])
  elseif name == 'xlog' then
    local a = take(3)
    local n = tonumber(a[2])
    redis.call('XADD', key(a[1]), '*', 'at', n > 0 and ids[n] or '', 'd', a[3])
  else
    return redis.error_reply('unknown operation ' .. tostring(name))
  end
end
local reply = {'ok'}
for j, id in ipairs(ids) do reply[j + 1] = id end
return reply
