-- Apply a staff action: check the versions it was decided on, then append its events and
-- update the projections, all at once (a stale version changes nothing).
-- KEYS: 1 stream, 2 items hash, 3 votes hash, 4 public questions hash,
--       5 voters of the merged question, 6 voters of the question merged into,
--       7 texts of the questions others may repeat (merged and rejected ones leave it),
--       8 ids of the comments hidden now (their text is left out of viewers' history)
-- ARGV: n, n x (item id, version it must be at),
--       m, m x (kind, data, JSON of the item the event creates or ''),
--       k, k x (item id, item JSON),
--       p, p x (question id, public JSON or '' to remove),
--       merge into (question id or '')
-- Returns {'ok', first id, last id} or {'conflict', item id, its version}.
local at = 1
local n = tonumber(ARGV[at]); at = at + 1
for _ = 1, n do
  local id, want = ARGV[at], tonumber(ARGV[at + 1]); at = at + 2
  local raw = redis.call('HGET', KEYS[2], id)
  local have = 1  -- a comment no one has moderated yet is at version 1
  if raw then have = tonumber(cjson.decode(raw).version) end
  if have ~= want then return {'conflict', id, tostring(have)} end
end
local m = tonumber(ARGV[at]); at = at + 1
local events = {}
for i = 1, m do events[i] = {ARGV[at], ARGV[at + 1], ARGV[at + 2]}; at = at + 3 end
local k = tonumber(ARGV[at]); at = at + 1
local sets = {}
for i = 1, k do sets[i] = {ARGV[at], ARGV[at + 1]}; at = at + 2 end
local p = tonumber(ARGV[at]); at = at + 1
local public = {}
for i = 1, p do public[i] = {ARGV[at], ARGV[at + 1]}; at = at + 2 end
local into = ARGV[at]
if into ~= '' then
  -- One vote per viewer: the merged question's voters join the target's, counted once.
  redis.call('SUNIONSTORE', KEYS[6], KEYS[6], KEYS[5])
  local votes = redis.call('SCARD', KEYS[6])
  redis.call('HSET', KEYS[3], into, votes)
  for i = 1, m do
    if events[i][1] == 'question.merged' then
      local data = cjson.decode(events[i][2])
      data.votes = votes
      events[i][2] = cjson.encode(data)
    end
  end
end
local first, last
for i = 1, m do
  last = redis.call('XADD', KEYS[1], '*', 'k', events[i][1], 'd', events[i][2])
  first = first or last
  if events[i][3] ~= '' then
    redis.call('HSET', KEYS[2], last, events[i][3])
    local created = cjson.decode(events[i][3])
    if created.kind == 'question' then redis.call('HSET', KEYS[7], last, created.text) end
  end
end
for i = 1, k do
  redis.call('HSET', KEYS[2], sets[i][1], sets[i][2])
  local status = cjson.decode(sets[i][2]).status
  if status == 'merged' or status == 'rejected' then redis.call('HDEL', KEYS[7], sets[i][1]) end
  if status == 'hidden' then redis.call('SADD', KEYS[8], sets[i][1]) end
  if status == 'shown' then redis.call('SREM', KEYS[8], sets[i][1]) end
end
for i = 1, p do
  if public[i][2] == '' then
    redis.call('HDEL', KEYS[4], public[i][1])
  else
    redis.call('HSET', KEYS[4], public[i][1], public[i][2])
  end
end
return {'ok', first, last}
