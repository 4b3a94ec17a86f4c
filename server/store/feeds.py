"""YouTube's chat feeds of a meeting in Redis (issue 11): how far each chat file was read (a
restart resumes there; the record's idempotency makes a re-read harmless), each feed's health
for the console, and what YouTube removed: deletions that came before their comment, and the
authors it banned."""

from __future__ import annotations

import json
from typing import Any

from server.store.client import Redis, translated
from server.store.keys import Keys
from server.wire import dumps


class FeedStore:
    """Positions, health and YouTube's removals, per meeting."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @translated
    async def position(self, meeting_id: str, source: str) -> int:
        found = await self._redis.hget(self._keys.positions(meeting_id), source)
        return int(found or 0)

    @translated
    async def advance(self, meeting_id: str, source: str, offset: int) -> None:
        await self._redis.hset(self._keys.positions(meeting_id), source, str(offset))

    @translated
    async def cursor(self, meeting_id: str, source: str) -> str:
        """Where a Graph API reader (Facebook, Instagram: issue 16) got to: the `after` cursor
        of the last page whose comments were all taken ("": from the first comment)."""
        found = await self._redis.hget(self._keys.positions(meeting_id), source)
        return str(found or "")

    @translated
    async def keep_cursor(self, meeting_id: str, source: str, cursor: str) -> None:
        await self._redis.hset(self._keys.positions(meeting_id), source, cursor)

    @translated
    async def report(self, meeting_id: str, source: str, state: dict[str, Any]) -> None:
        """Store a feed's state (following, items in the last minute, last item at, error)."""
        await self._redis.hset(self._keys.feeds(meeting_id), source, dumps(state))

    @translated
    async def states(self, meeting_id: str) -> dict[str, dict[str, Any]]:
        found = await self._redis.hgetall(self._keys.feeds(meeting_id))
        return {str(k): dict(json.loads(v)) for k, v in found.items()}

    @translated
    async def remove_later(self, meeting_id: str, youtube_id: str) -> None:
        await self._redis.sadd(self._keys.removed(meeting_id), youtube_id)

    @translated
    async def removed_on_youtube(self, meeting_id: str, youtube_id: str, channel_id: str) -> bool:
        """Whether YouTube deleted this message before we took it, or banned its author: one
        round trip for both."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sismember(self._keys.removed(meeting_id), youtube_id)
            pipe.sismember(self._keys.banned(meeting_id), channel_id)
            removed, banned = await pipe.execute()
        return bool(removed) or bool(banned)

    @translated
    async def ban(self, meeting_id: str, channel_id: str) -> None:
        await self._redis.sadd(self._keys.banned(meeting_id), channel_id)
