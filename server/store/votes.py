"""Votes in Redis: each question's count of distinct voters and the set of who voted, kept in
the same write as the event that changes them."""

from __future__ import annotations

from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Guard, Write


class VoteStore:
    """Reading voters, and the guards and projections of votes and merges."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @translated
    async def has_voted(self, meeting_id: str, question: str, viewer: str) -> bool:
        return bool(await self._redis.sismember(self._keys.voters(meeting_id, question), viewer))

    @translated
    async def voters(self, meeting_id: str, questions: list[str]) -> dict[str, set[str]]:
        """Who voted for each question (for a merge, whose vote count is their union)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for question in questions:
                pipe.smembers(self._keys.voters(meeting_id, question))
            rows = await pipe.execute()
        return {q: {str(v) for v in row} for q, row in zip(questions, rows, strict=True)}

    # Guards and projections of a write

    def at_count(self, write: Write, meeting_id: str, question: str, votes: int) -> Guard:
        """Refused when someone voted since the decision counted `votes`."""
        return write.number(self._keys.votes(meeting_id), question, votes, 0)

    def first_vote(self, write: Write, meeting_id: str, question: str, viewer: str) -> Guard:
        """Count `viewer` among the question's voters; refused if they voted already."""
        key = self._keys.voters(meeting_id, question)
        guard = write.not_member(key, viewer)
        write.sadd(key, viewer)
        return guard

    def set_count(self, write: Write, meeting_id: str, question: str, votes: int) -> None:
        write.hset(self._keys.votes(meeting_id), question, str(votes))

    def merge(self, write: Write, meeting_id: str, source: str, into: str, votes: int) -> None:
        """The merged question's voters join the target's; `votes` is their union's size."""
        target = self._keys.voters(meeting_id, into)
        write.sunionstore(target, target, self._keys.voters(meeting_id, source))
        self.set_count(write, meeting_id, into, votes)
