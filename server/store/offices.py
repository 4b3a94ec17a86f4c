"""Offices and promises in Redis (issue 12): one stream holds every event of both, appended by
`record.py` (as an outbox entry: fields `at` and `d`, the event as JSON with its `kind`), and a
count of its events guards each write, so that two writers never decide on the same state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.offices import OFFICE_KINDS, Office, OfficeAdded, OfficeEvent, OfficeHolderChanged
from moderation.offices import apply as apply_office
from moderation.promises import PROMISE_KINDS, Promise, PromiseEvent
from moderation.promises import apply as apply_promise
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Record, Write
from server.wire import decode_record, dumps, encode_record

Recorded = OfficeEvent | PromiseEvent
KINDS: dict[str, type[Recorded]] = {**OFFICE_KINDS, **PROMISE_KINDS}
COUNT = "events"


@dataclass(frozen=True, slots=True)
class Ledger:
    """The offices and promises as of `count` events (the guard of the next write)."""

    count: int = 0
    offices: dict[str, Office] = field(default_factory=dict)
    promises: dict[str, Promise] = field(default_factory=dict)


def fold(ledger: Ledger, event: Recorded) -> Ledger:
    """The ledger after one more event."""
    offices, promises = ledger.offices, ledger.promises
    if isinstance(event, OfficeAdded | OfficeHolderChanged):
        offices = apply_office(offices, event)
    else:
        promises = apply_promise(promises, event)
    return Ledger(ledger.count + 1, offices, promises)


def encode(event: Recorded) -> str:
    return dumps({"kind": event.kind} | json.loads(encode_record(event)))


def decode(data: str) -> Recorded:
    raw = json.loads(data)
    cls = KINDS[raw.pop("kind")]
    return decode_record(cls, dumps(raw))


class OfficeStore:
    """Reading the offices' record and folding it; appending to it inside a write."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    @translated
    async def ledger(self) -> Ledger:
        """Every office and promise, folded from the whole record (it stays small: a few
        events per meeting)."""
        rows: Any = await self._redis.xrange(self._keys.offices())
        ledger = Ledger()
        for _, fields in rows:
            ledger = fold(ledger, decode(str(fields["d"])))
        return ledger

    def append(self, write: Write, ledger: Ledger, events: Sequence[Recorded]) -> Guard:
        """Append `events` in `write`, refused if anything was appended since `ledger`."""
        count = self._keys.offices_count()
        guard = write.number(count, COUNT, ledger.count, 0)
        for event in events:
            self._record.queue(write, self._keys.offices(), encode(event))
        write.hincrby(count, COUNT, len(events))
        return guard
