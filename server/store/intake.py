"""What the intake keeps beside the record (issue 10): where each provider message was routed,
which channel address is routed to which meeting, senders' raw contacts and original texts
(personal data, kept apart and deleted when their retention period ends), what each sender
sent ("my questions"), and the log of refused messages (without contacts)."""

from __future__ import annotations

import json
from typing import Any

from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Appended, Record, Write
from server.wire import dumps

REFUSALS_KEPT = 100_000  # entries of the refusals log (the oldest go first)


class IntakeStore:
    """Routing memory, channel routes, contacts and refusals in Redis."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    # Where a provider's message went: its retries go to the same meeting

    @translated
    async def routed(self, key: str) -> str | None:
        found = await self._redis.get(self._keys.inbound(key))
        return None if found is None else str(found)

    @translated
    async def route_once(self, key: str, meeting_id: str, ttl_seconds: int) -> str:
        """Route message `key` to `meeting_id` unless it was routed already (a concurrent
        retry): the meeting it is routed to."""
        name = self._keys.inbound(key)
        if await self._redis.set(name, meeting_id, nx=True, ex=ttl_seconds):
            return meeting_id
        found = await self._redis.get(name)
        return meeting_id if found is None else str(found)

    @translated
    async def forget_route(self, key: str) -> None:
        await self._redis.delete(self._keys.inbound(key))

    # Channel addresses routed to meetings (`halyq meeting route`)

    @translated
    async def routes(self) -> dict[str, str]:
        """ "<channel>:<address>" -> meeting id."""
        found = await self._redis.hgetall(self._keys.routes())
        return {str(k): str(v) for k, v in found.items()}

    @translated
    async def set_routes(self, meeting_id: str, routes: dict[str, str]) -> None:
        """Route each "<channel>" to "<address>" for `meeting_id`, replacing the meeting's
        earlier address on that channel (another meeting's routes stay)."""
        key = self._keys.routes()
        current = await self.routes()
        stale = [
            name
            for name, owner in current.items()
            if owner == meeting_id and name.partition(":")[0] in routes
        ]
        async with self._redis.pipeline(transaction=True) as pipe:
            if stale:
                pipe.hdel(key, *stale)
            for channel, address in routes.items():
                pipe.hset(key, f"{channel}:{address}", meeting_id)
            await pipe.execute()

    # Contacts, original texts and what each sender sent, in the write that records it

    def keep_contact(
        self, write: Write, meeting_id: str, sender: str, contact: dict[str, str]
    ) -> None:
        write.hset(self._keys.contacts(meeting_id), sender, dumps(contact))

    def keep_original(self, write: Write, meeting_id: str, item: Appended | str, text: str) -> None:
        """The text as its sender wrote it, under the item's id (an `Appended` of this write
        for a new question; the question's id for an edit of it)."""
        if isinstance(item, str):
            write.hset(self._keys.originals(meeting_id), item, text)
        else:
            write.hset_at(self._keys.originals(meeting_id), item, text)

    def mine(self, write: Write, meeting_id: str, sender: str, at: Appended) -> None:
        write.sadd_at(self._keys.mine(meeting_id, sender), at)

    @translated
    async def contact(self, meeting_id: str, sender: str) -> dict[str, str] | None:
        found = await self._redis.hget(self._keys.contacts(meeting_id), sender)
        return None if found is None else dict(json.loads(found))

    @translated
    async def contacts(self, meeting_id: str, senders: list[str]) -> dict[str, dict[str, str]]:
        if not senders:
            return {}
        rows = await self._redis.hmget(self._keys.contacts(meeting_id), senders)
        return {s: dict(json.loads(r)) for s, r in zip(senders, rows, strict=True) if r}

    @translated
    async def originals(self, meeting_id: str, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        rows = await self._redis.hmget(self._keys.originals(meeting_id), ids)
        return {i: str(r) for i, r in zip(ids, rows, strict=True) if r is not None}

    @translated
    async def sent_by(self, meeting_id: str, sender: str) -> list[str]:
        """The ids of what `sender` sent to the meeting, oldest first."""
        found = await self._redis.smembers(self._keys.mine(meeting_id, sender))
        return sorted((str(i) for i in found), key=_id_key)

    # Refusals and retention

    async def refused(self, entry: dict[str, Any]) -> None:
        """Log a refused message (never its contact: `entry` names the sender by pseudonym)."""
        await self._record.log(self._keys.refusals(), {"d": dumps(entry)}, maxlen=REFUSALS_KEPT)

    @translated
    async def refusals(self, count: int = 100) -> list[dict[str, Any]]:
        rows: Any = await self._redis.xrevrange(self._keys.refusals(), count=count)
        return [dict(json.loads(fields["d"])) for _, fields in rows]

    @translated
    async def forget_contacts(self, meeting_id: str) -> int:
        """Delete the meeting's raw contacts and original texts for good (retention)."""
        keys = self._keys
        return int(await self._redis.delete(keys.contacts(meeting_id), keys.originals(meeting_id)))


def _id_key(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)
