-- Create a meeting: its projection hash, its place in the index, the first event of its stream.
-- KEYS: 1 stream, 2 meeting hash, 3 meeting index
-- ARGV: 1 meeting id, 2 created-at score, 3 kind, 4 data (JSON), 5.. field/value pairs
-- Returns {'ok', id} or {'exists', ''}.
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists', ''} end
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[3], 'd', ARGV[4])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return {'ok', id}
