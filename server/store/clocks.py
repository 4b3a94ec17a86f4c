"""The clock in Redis (R4): each meeting's latest phase change, kept in the same write as the
event, so that the clock's reading needs no fold of the record (`moderation.clock.reading_from`):
a feed starts from it and the clock API reads it."""

from __future__ import annotations

from moderation import PhaseChanged
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Write
from server.wire import decode_event, encode_event

FIELD = "latest"


class ClockStore:
    """Reading a meeting's latest phase change, and storing it with the write that appends it."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @translated
    async def latest(self, meeting_id: str) -> PhaseChanged | None:
        """The meeting's latest `meeting.phase_changed`, or None before the first."""
        data = await self._redis.hget(self._keys.phase(meeting_id), FIELD)
        if data is None:
            return None
        event = decode_event(PhaseChanged.kind, str(data))
        assert isinstance(event, PhaseChanged)
        return event

    def changed(self, write: Write, meeting_id: str, event: PhaseChanged) -> None:
        """Keep `event` as the latest phase change (in the write that appends it)."""
        write.hset(self._keys.phase(meeting_id), FIELD, encode_event(event)[1])
