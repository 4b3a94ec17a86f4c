"""A meeting's broadcast in Redis (issue 16): its restream destinations (name -> RTMP URL, a
secret), and the status snapshot the node running its ingest writes every second, so that
every node answers `GET /api/meetings/{id}/broadcast`."""

from __future__ import annotations

import json
from typing import Any

from server.store.client import Redis, translated
from server.store.keys import Keys
from server.wire import dumps


class BroadcastStore:
    """Outputs and the ingest's status snapshot, per meeting."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @translated
    async def outputs(self, meeting_id: str) -> dict[str, str]:
        """Name -> URL (with its stream key) of every destination of the meeting, by name."""
        found = await self._redis.hgetall(self._keys.outputs(meeting_id))
        return {str(name): str(url) for name, url in sorted(found.items())}

    @translated
    async def add_output(self, meeting_id: str, name: str, url: str, *, replace: bool) -> bool:
        """Store the destination `name`; False (nothing changed) when the name is taken and
        `replace` is not given."""
        key = self._keys.outputs(meeting_id)
        if replace:
            await self._redis.hset(key, name, url)
            return True
        return bool(await self._redis.hsetnx(key, name, url))

    @translated
    async def remove_output(self, meeting_id: str, name: str) -> bool:
        """False when the meeting had no destination of that name."""
        return bool(await self._redis.hdel(self._keys.outputs(meeting_id), name))

    @translated
    async def report(self, meeting_id: str, status: dict[str, Any], ttl_seconds: int) -> None:
        """Store the ingest's status of the meeting; it lapses `ttl_seconds` after the node that
        runs the ingest stops reporting it (that node died: nothing is live there)."""
        await self._redis.set(self._keys.broadcast(meeting_id), dumps(status), ex=ttl_seconds)

    @translated
    async def status(self, meeting_id: str) -> dict[str, Any] | None:
        """The last status reported within its time to live, or None."""
        found = await self._redis.get(self._keys.broadcast(meeting_id))
        return None if found is None else dict(json.loads(found))
