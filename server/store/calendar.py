"""The annual calendar in Redis (issue 13): one stream holds every calendar's event (planned,
moved, cancelled, approved, submitted), appended by `record.py` (fields `at` and `d`, the event
as JSON with its `kind`), and a count of its events guards each write, so that two writers never
decide on the same calendar. A planned meeting's scheduled meeting is created or moved in the
same write (`server/usecases/calendar.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.calendar import CALENDAR_KINDS, Calendar, CalendarEvent, apply
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Record, Write
from server.wire import decode_record, dumps, encode_record

COUNT = "events"


@dataclass(frozen=True, slots=True)
class Calendars:
    """Every calendar as of `count` events (the guard of the next write)."""

    count: int = 0
    calendar: Calendar = field(default_factory=Calendar)


def fold(calendars: Calendars, event: CalendarEvent) -> Calendars:
    """The calendars after one more event."""
    return Calendars(calendars.count + 1, apply(calendars.calendar, event))


def encode(event: CalendarEvent) -> str:
    return dumps({"kind": event.kind} | json.loads(encode_record(event)))


def decode(data: str) -> CalendarEvent:
    raw = json.loads(data)
    cls = CALENDAR_KINDS[raw.pop("kind")]
    return decode_record(cls, dumps(raw))


class CalendarStore:
    """Reading the calendar's record and folding it; appending to it inside a write."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    @translated
    async def events(self) -> list[CalendarEvent]:
        """The calendar's record, oldest first: every plan and correction with who and when."""
        rows: Any = await self._redis.xrange(self._keys.calendar())
        return [decode(str(fields["d"])) for _, fields in rows]

    async def calendars(self) -> Calendars:
        """Every calendar, folded from the whole record (a few hundred meetings a year)."""
        calendars = Calendars()
        for event in await self.events():
            calendars = fold(calendars, event)
        return calendars

    def append(self, write: Write, calendars: Calendars, events: Sequence[CalendarEvent]) -> Guard:
        """Append `events` in `write`, refused if anything was appended since `calendars`."""
        count = self._keys.calendar_count()
        guard = write.number(count, COUNT, calendars.count, 0)
        for event in events:
            self._record.queue(write, self._keys.calendar(), encode(event))
        write.hincrby(count, COUNT, len(events))
        return guard
