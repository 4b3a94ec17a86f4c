"""Territories in Redis (issue 13): one stream holds every unit's event, appended by
`record.py` (fields `at` and `d`, the event as JSON with its `kind`), and a count of its events
guards each write, so that two writers never decide on the same units."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.territories import (
    TERRITORY_KINDS,
    TerritoryEvent,
    TerritoryImported,
    Unit,
    apply,
)
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Record, Write
from server.wire import decode_record, dumps, encode_record

COUNT = "events"


@dataclass(frozen=True, slots=True)
class Territory:
    """The units as of `count` events (the guard of the next write)."""

    count: int = 0
    units: dict[str, Unit] = field(default_factory=dict)


def fold(territory: Territory, event: TerritoryEvent) -> Territory:
    """The territory after one more event."""
    return Territory(territory.count + 1, apply(territory.units, event))


def encode(event: TerritoryEvent) -> str:
    """The event as JSON with its `kind`; an import's units as a list of objects."""
    if isinstance(event, TerritoryImported):
        units = [json.loads(encode_record(unit)) for unit in event.units]
        return dumps({"kind": event.kind, "at": event.at, "by": event.by, "units": units})
    return dumps({"kind": event.kind} | json.loads(encode_record(event)))


def decode(data: str) -> TerritoryEvent:
    raw = json.loads(data)
    cls = TERRITORY_KINDS[raw.pop("kind")]
    if cls is TerritoryImported:
        units = tuple(decode_record(Unit, dumps(unit)) for unit in raw["units"])
        return TerritoryImported(at=raw["at"], by=raw["by"], units=units)
    return decode_record(cls, dumps(raw))


class TerritoryStore:
    """Reading the territories' record and folding it; appending to it inside a write."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    @translated
    async def territory(self) -> Territory:
        """Every unit, folded from the whole record (a few thousand units at most)."""
        rows: Any = await self._redis.xrange(self._keys.territories())
        territory = Territory()
        for _, fields in rows:
            territory = fold(territory, decode(str(fields["d"])))
        return territory

    def append(self, write: Write, territory: Territory, events: Sequence[TerritoryEvent]) -> Guard:
        """Append `events` in `write`, refused if anything was appended since `territory`."""
        count = self._keys.territories_count()
        guard = write.number(count, COUNT, territory.count, 0)
        for event in events:
            self._record.queue(write, self._keys.territories(), encode(event))
        write.hincrby(count, COUNT, len(events))
        return guard
