"""Answers to senders waiting for delivery (issue 10): each meeting's outbox is a Redis stream
read by one consumer group, so an answer queued in the same atomic write as the decision it
reports survives any crash, and each is delivered by one process at a time.

An entry read and not acknowledged stays pending: a delivery that failed is claimed again
after a backoff that grows with its deliveries, and one whose process died is claimed by
another (or by the same after a restart). A delivered entry is acknowledged and deleted.

The postman finds the outboxes to read without an index written in the decision's write (the
meeting's keys and a global index are in different Redis Cluster slots, issue 15): a meeting's
outbox is there when its stream exists; an outbox that follows no meeting (`send_now`) is listed
in `outboxes`, written before the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Appended, Record, Write
from server.wire import dumps

GROUP = "senders"
DEAD_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class Letter:
    """One answer to deliver: its entry id, the record id it follows (`at`, "" for none), the
    answer as JSON data, and how many times it was handed out before (0 the first time)."""

    meeting_id: str
    id: str
    at: str
    data: dict[str, Any]
    deliveries: int = 0


class OutboxStore:
    """Queueing answers (inside a write) and handing them out to the delivering processes."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record
        self._groups: set[str] = set()

    def queue(
        self, write: Write, meeting_id: str, data: dict[str, Any], at: Appended | None = None
    ) -> None:
        """Queue an answer in `write`: it lands with what the write decides, or not at all."""
        self._record.queue(write, self._keys.outbox(meeting_id), dumps(data), at)

    async def send_now(self, meeting_id: str, data: dict[str, Any]) -> None:
        """Queue an answer on its own (no decision goes with it), its outbox listed first."""
        await self._list(meeting_id)
        write = Write()
        self.queue(write, meeting_id, data)
        await self._record.run(write)

    @translated
    async def _list(self, meeting_id: str) -> None:
        await self._redis.sadd(self._keys.outboxes(), meeting_id)

    @translated
    async def meetings(self) -> list[str]:
        """The meetings whose outbox exists, and the outboxes `send_now` listed."""
        listed = {str(m) for m in await self._redis.smembers(self._keys.outboxes())}
        ids = [str(m) for m in await self._redis.zrange(self._keys.meetings(), 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for meeting_id in ids:
                pipe.exists(self._keys.outbox(meeting_id))
            found = await pipe.execute()
        return sorted(listed | {m for m, there in zip(ids, found, strict=True) if there})

    @translated
    async def new(self, meeting_id: str, consumer: str, count: int) -> list[Letter]:
        """Answers nobody was handed yet (this consumer has them pending from now on)."""
        key = self._keys.outbox(meeting_id)
        await self._group(meeting_id)
        found: Any = await self._redis.xreadgroup(GROUP, consumer, {key: ">"}, count=count)
        return [_letter(meeting_id, i, f) for _, entries in found or [] for i, f in entries]

    @translated
    async def due(
        self,
        meeting_id: str,
        consumer: str,
        count: int,
        backoff: Callable[[int], int],
        stale_ms: int,
    ) -> list[Letter]:
        """Pending answers whose wait is over, claimed by `consumer`: its own failed ones
        `backoff(deliveries)` ms after they were last handed out, another process's only once
        they are `stale_ms` old too (that process died, or its delivery is long over)."""
        key = self._keys.outbox(meeting_id)
        await self._group(meeting_id)
        pending = await self._redis.xpending_range(key, GROUP, min="-", max="+", count=count)
        letters = []
        for row in pending:
            deliveries = int(row["times_delivered"])
            wait = backoff(deliveries)
            if str(row["consumer"]) != consumer:
                wait = max(wait, stale_ms)
            if int(row["time_since_delivered"]) < wait:
                continue
            claimed: Any = await self._redis.xclaim(key, GROUP, consumer, wait, [row["message_id"]])
            letters += [_letter(meeting_id, i, f, deliveries) for i, f in claimed if f]
        return letters

    @translated
    async def done(self, letter: Letter) -> None:
        """Delivered (or given up on): acknowledged and deleted."""
        key = self._keys.outbox(letter.meeting_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(key, GROUP, letter.id)
            pipe.xdel(key, letter.id)
            await pipe.execute()

    async def dead(self, letter: Letter, why: str) -> None:
        """Given up on after every retry: logged apart (without any contact), then done."""
        data = {k: v for k, v in letter.data.items() if k != "to"}
        entry = {"meeting": letter.meeting_id, "at": letter.at, "why": why, "data": data}
        await self._record.log(self._keys.dead_letters(), {"d": dumps(entry)}, maxlen=DEAD_KEPT)
        await self.done(letter)

    @translated
    async def dead_letters(self, count: int = 100) -> list[dict[str, Any]]:
        rows: Any = await self._redis.xrevrange(self._keys.dead_letters(), count=count)
        return [dict(json.loads(fields["d"])) for _, fields in rows]

    @translated
    async def size(self, meeting_id: str) -> int:
        return int(await self._redis.xlen(self._keys.outbox(meeting_id)))

    @translated
    async def trim_before(self, meeting_id: str, before_ms: int) -> None:
        """Delete the outbox's answers queued before `before_ms` (retention)."""
        await self._redis.xtrim(self._keys.outbox(meeting_id), minid=f"{before_ms}-0")

    @translated
    async def drop(self, meeting_id: str) -> None:
        """Forget the meeting's outbox (retention: its answers can no longer be delivered)."""
        await self._redis.delete(self._keys.outbox(meeting_id))
        await self._redis.srem(self._keys.outboxes(), meeting_id)  # another slot: alone
        self._groups.discard(meeting_id)

    async def _group(self, meeting_id: str) -> None:
        if meeting_id in self._groups:
            return
        try:
            await self._redis.xgroup_create(
                self._keys.outbox(meeting_id), GROUP, "0", mkstream=True
            )
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups.add(meeting_id)


def _letter(meeting_id: str, entry_id: Any, fields: Any, deliveries: int = 0) -> Letter:
    return Letter(
        meeting_id, str(entry_id), str(fields.get("at", "")), json.loads(fields["d"]), deliveries
    )
