-- A viewer's up-vote: once per viewer, only for a public question of a live meeting.
-- KEYS: 1 stream, 2 meeting hash, 3 public questions hash, 4 the question's voters, 5 votes hash
-- ARGV: 1 question id, 2 viewer pseudonym, 3 time (ms)
-- Returns {'ok', event id, votes}, {'dup', '', votes}, {'missing', '', 0} or {'closed', '', 0}.
if redis.call('HGET', KEYS[2], 'status') ~= 'live' then return {'closed', '', 0} end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return {'missing', '', 0} end
if redis.call('SADD', KEYS[4], ARGV[2]) == 0 then
  return {'dup', '', tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '0')}
end
local votes = redis.call('HINCRBY', KEYS[5], ARGV[1], 1)
local data = cjson.encode({at = tonumber(ARGV[3]), question = ARGV[1], viewer = ARGV[2], votes = votes})
local id = redis.call('XADD', KEYS[1], '*', 'k', 'question.voted', 'd', data)
return {'ok', id, votes}
