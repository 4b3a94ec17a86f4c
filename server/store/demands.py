"""Meetings on demand in Redis (R2, issue 13): one stream holds every demand's event, appended
by `record.py` (as an outbox entry: fields `at` and `d`, the event as JSON with its `kind`), and
a count of its events guards each write, so that two writers never decide on the same state
(two supports by one resident at once: the second is decided again and refused)."""

from __future__ import annotations

import json
from typing import Any

from moderation.demands import DEMAND_KINDS, Demand, DemandEvent, apply
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Record, Write
from server.wire import decode_record, dumps, encode_record

COUNT = "events"


def encode(event: DemandEvent) -> str:
    return dumps({"kind": event.kind} | json.loads(encode_record(event)))


def decode(data: str) -> DemandEvent:
    raw = json.loads(data)
    cls = DEMAND_KINDS[raw.pop("kind")]
    return decode_record(cls, dumps(raw))


class DemandStore:
    """Reading the demands' record and folding it; appending to it inside a write."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    @translated
    async def demands(self) -> tuple[int, dict[str, Demand]]:
        """How many events the record holds (the next write's guard) and every demand."""
        rows: Any = await self._redis.xrange(self._keys.demands())
        demands: dict[str, Demand] = {}
        for _, fields in rows:
            demands = apply(demands, decode(str(fields["d"])))
        return len(rows), demands

    def append(self, write: Write, count: int, event: DemandEvent) -> Guard:
        """Append `event` in `write`, refused if anything was appended since `count` events."""
        key = self._keys.demands_count()
        guard = write.number(key, COUNT, count, 0)
        self._record.queue(write, self._keys.demands(), encode(event))
        write.hincrby(key, COUNT, 1)
        return guard
