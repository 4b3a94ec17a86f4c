"""Meetings in Redis: one hash per meeting (its status, for guards, and the record as JSON)
and an index of every meeting by the time it was created.

The index is not written in the meeting's own atomic write: in a Redis Cluster the meeting's
keys and the index live in different slots (issue 15). The meeting is written first, then its
index entry, alone (`index`: idempotent); a process that stopped in between leaves a meeting
the index misses, which `repair` (run at every start) finds again by a SCAN of every primary."""

from __future__ import annotations

from typing import Any

from moderation import Meeting
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Write
from server.wire import decode_record, encode_record


class Meetings:
    """Reading meetings, and the guards and projections of writes that change one."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @translated
    async def get(self, meeting_id: str) -> Meeting | None:
        return _meeting(await self._redis.hget(self._keys.meeting(meeting_id), "data"))

    @translated
    async def index(self, *meetings: Meeting) -> None:
        """List `meetings`, written before, in the index (again: no harm)."""
        if meetings:
            await self._redis.zadd(self._keys.meetings(), {m.id: m.created_at for m in meetings})

    @translated
    async def repair(self) -> list[str]:
        """Index every meeting the index misses (a process stopped between a meeting's write
        and its index entry); returns their ids. Scans every key of every primary: run it at
        start, not per request."""
        listed = {str(m) for m in await self._redis.zrange(self._keys.meetings(), 0, -1)}
        found = []
        pattern = self._keys.meeting_pattern()
        async for key in self._redis.scan_iter(match=pattern, count=1000, _type="hash"):
            meeting_id = self._keys.meeting_of(str(key))
            if meeting_id not in listed:
                found.append(meeting_id)
        missing = [m for m in [await self.get(i) for i in found] if m is not None]
        await self.index(*missing)
        return [m.id for m in missing]

    @translated
    async def all(self) -> list[Meeting]:
        """Every meeting, oldest first."""
        ids = await self._redis.zrange(self._keys.meetings(), 0, -1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for meeting_id in ids:
                pipe.hget(self._keys.meeting(str(meeting_id)), "data")
            rows = await pipe.execute()
        return [m for m in map(_meeting, rows) if m is not None]

    def create(self, write: Write, meeting: Meeting) -> Guard:
        """Store a new meeting; the guard refuses if its id is taken. Once the write is done,
        `index` lists it."""
        key = self._keys.meeting(meeting.id)
        guard = write.absent(key)
        self._store(write, meeting)
        return guard

    def change(self, write: Write, before: Meeting, after: Meeting) -> Guard:
        """Store `after` if the meeting is still in `before`'s status (the guard finds "" for
        a meeting that does not exist)."""
        guard = self.in_status(write, before)
        self._store(write, after)
        return guard

    def in_status(self, write: Write, meeting: Meeting) -> Guard:
        """Refused unless the meeting is still in `meeting`'s status."""
        return write.equal(self._keys.meeting(meeting.id), "status", meeting.status.value)

    def _store(self, write: Write, meeting: Meeting) -> None:
        key = self._keys.meeting(meeting.id)
        write.hset(key, "status", meeting.status.value)
        write.hset(key, "data", encode_record(meeting))


def _meeting(data: Any) -> Meeting | None:
    return None if data is None else decode_record(Meeting, str(data))
