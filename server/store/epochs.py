"""Each record's epoch: a random token kept with the meeting, that changes when history is lost.

A process remembers, per meeting, the highest event id it has seen (its high-water mark) and
the entries its reader started from. If Redis comes back older (a FLUSHALL, an older
append-only file, a stale replica promoted), the record's last id falls below the mark, one of
those entries is gone (even once new appends moved the last id on), or the epoch key is
missing: the hub then `settle`s a new epoch, which also moves the stream's last id past the
mark, so no old id is ever handed out again (FLT-6). Clients resume with the epoch they were
given, and a resume from another epoch is told to reload (G4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.store.client import Redis, translated
from server.store.keys import Keys

# The stream's last id as Redis will build on it (`last-generated-id`: past deleted entries
# and any id XSETID set), or 0-0 when there is no stream.
_LAST = """
local function last(key)
  if redis.call('EXISTS', key) == 0 then return '0-0' end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end
"""
# KEYS: the stream, the epoch. ARGV: ids the caller saw in the stream. Returns the epoch (false
# when missing), the last id, and the first of those ids that is no longer there ("" if none).
_LOOK = (
    _LAST
    + """
local gone = ''
for i = 1, #ARGV do
  if #redis.call('XREVRANGE', KEYS[1], ARGV[i], ARGV[i]) == 0 then
    gone = ARGV[i]
    break
  end
end
return {redis.call('GET', KEYS[2]), last(KEYS[1]), gone}
"""
)
# KEYS: the stream, the epoch. ARGV: the epoch the caller knew ("" for none), the high-water
# mark ("" for none), a new epoch. The new epoch is set only if the key is missing or still
# holds the one the caller knew (two processes that see the same loss make one new epoch);
# either way the stream's last id is moved up to the mark. Returns the epoch now in force.
_SETTLE = (
    _LAST
    + """
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local epoch = redis.call('GET', KEYS[2])
if (not epoch) or epoch == ARGV[1] then
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch)
end
if ARGV[2] ~= '' and before(last(KEYS[1]), ARGV[2]) then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('XGROUP', 'CREATE', KEYS[1], 'epoch', '$', 'MKSTREAM')
    redis.call('XGROUP', 'DESTROY', KEYS[1], 'epoch')
  end
  redis.call('XSETID', KEYS[1], ARGV[2])
end
return epoch
"""
)
SEEN_CHUNK = 500  # client_msg_ids asked for in one HMGET


@dataclass(frozen=True, slots=True)
class Look:
    """What the record looks like now: its epoch (None when the key is missing), the id it
    will build on, and the first of the entries the caller asked about that is gone ("")."""

    epoch: str | None
    last: str
    gone: str


class Epochs:
    """Reading and settling each meeting's epoch, and what a loss took with it."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._look = redis.register_script(_LOOK)
        self._settle = redis.register_script(_SETTLE)

    def _both(self, meeting_id: str) -> list[str]:
        return [self._keys.stream(meeting_id), self._keys.epoch(meeting_id)]

    @translated
    async def look(self, meeting_id: str, seen: Sequence[str] = ()) -> Look:
        """The epoch, the last id, and which of the `seen` entries is gone, at once."""
        reply: Any = await self._look(keys=self._both(meeting_id), args=list(seen))
        epoch, last, gone = reply
        return Look(None if epoch is None else str(epoch), str(last), str(gone))

    @translated
    async def settle(self, meeting_id: str, *, known: str, high: str, new: str) -> str:
        """The epoch in force: `new` unless someone else set one since `known` was read (or
        the key exists and nothing was known); the stream's last id is raised to `high`."""
        args = [known, high, new]
        reply: Any = await self._settle(keys=self._both(meeting_id), args=args)
        return str(reply)

    @translated
    async def unrecorded(self, meeting_id: str, client_msg_ids: Sequence[str]) -> list[str]:
        """Those of `client_msg_ids` the record does not know (what a loss took)."""
        key, missing = self._keys.seen(meeting_id), []
        for start in range(0, len(client_msg_ids), SEEN_CHUNK):
            chunk = list(client_msg_ids[start : start + SEEN_CHUNK])
            found = await self._redis.hmget(key, chunk)
            missing += [cmid for cmid, value in zip(chunk, found, strict=True) if value is None]
        return missing
