-- Move a meeting to a new state if it is still in the state the command saw (check-and-set).
-- KEYS: 1 stream, 2 meeting hash
-- ARGV: 1 expected status, 2 kind, 3 data (JSON), 4.. field/value pairs
-- Returns {'ok', id}, {'missing', ''} or {'conflict', current status}.
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return {'missing', ''} end
if status ~= ARGV[1] then return {'conflict', status} end
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[2], 'd', ARGV[3])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
return {'ok', id}
