"""Each meeting's access keys in Redis (issue 9): the producer's and the overlays', by kind.

Never cached by a process: a rotation replaces the key in Redis, and the old one stops
opening anything at once, in every process. What the keys are for is `server/auth/keys.py`.
"""

from __future__ import annotations

from server.store.client import Redis, translated
from server.store.keys import Keys


class TokenStore:
    """Reading, creating and replacing a meeting's access keys."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @translated
    async def get(self, meeting_id: str, kind: str) -> str | None:
        """The meeting's key of `kind`, or None when it has none yet."""
        found = await self._redis.hget(self._keys.tokens(meeting_id), kind)
        return None if found is None else str(found)

    @translated
    async def ensure(self, meeting_id: str, kind: str, proposed: str) -> str:
        """The meeting's key of `kind`: `proposed` if it had none (the first writer wins)."""
        key = self._keys.tokens(meeting_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, kind, proposed)
            pipe.hget(key, kind)
            _, found = await pipe.execute()
        return str(found)

    @translated
    async def replace(self, meeting_id: str, kind: str, new: str) -> None:
        """Make `new` the meeting's key of `kind`; the old one opens nothing from now on."""
        await self._redis.hset(self._keys.tokens(meeting_id), kind, new)
