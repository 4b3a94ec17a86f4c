"""The issue pool in Redis (issue 12): one stream holds every issue's event, appended by
`record.py` (as an outbox entry: fields `at` and `d`, the event as JSON with its `kind`), beside
a hash of each issue's version and of how many issues were opened. A write is guarded by the
versions its decision read, so two staff changing one issue at once never lose a change: the
second is refused (409) and nothing changed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from moderation.pool import POOL_KINDS, Issue, Pool, PoolEvent, Step, fold
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Record, Write
from server.wire import decode_record, dumps

OPENED = "issues"  # the versions hash's field counting the issues opened


def encode(event: PoolEvent) -> str:
    """The event as the pool's stream holds it: its fields and its `kind`, as JSON."""
    return dumps({"kind": event.kind} | dataclasses.asdict(event))


def decode(data: str) -> PoolEvent:
    raw = json.loads(data)
    cls = POOL_KINDS[raw.pop("kind")]
    extra = {"plan": tuple(Step(**s) for s in raw.pop("plan"))} if "plan" in raw else {}
    return decode_record(cls, dumps(raw), **extra)


class PoolStore:
    """Reading the pool's record and folding it; appending to it inside a write."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    @translated
    async def events(self) -> list[PoolEvent]:
        """The pool's record, oldest first: every change with who and when."""
        rows: Any = await self._redis.xrange(self._keys.pool())
        return [decode(str(fields["d"])) for _, fields in rows]

    async def pool(self) -> Pool:
        """Every issue, folded from the whole record (a few events per issue)."""
        return fold(await self.events())

    def opening(self, write: Write, pool: Pool, issue_id: str) -> Guard:
        """Guard a new issue's write: refused if another issue was opened since `pool` (its
        id, the next number, would be taken twice); the issue starts at version 1."""
        versions = self._keys.pool_versions()
        guard = write.number(versions, OPENED, len(pool.issues), 0)
        write.hincrby(versions, OPENED, 1)
        write.hset(versions, issue_id, "1")
        return guard

    def changing(self, write: Write, issues: Sequence[Issue]) -> list[Guard]:
        """Guard a change of `issues`: refused if any changed since they were read; each one's
        version goes up by one with the write."""
        versions = self._keys.pool_versions()
        guards = []
        for issue in issues:
            guards.append(write.number(versions, issue.id, issue.version, 0))
            write.hincrby(versions, issue.id, 1)
        return guards

    def append(self, write: Write, event: PoolEvent) -> None:
        """Append `event` to the pool's record in `write`."""
        self._record.queue(write, self._keys.pool(), encode(event))
