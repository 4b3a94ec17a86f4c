"""The board in Redis: items as moderators see them, their versions, the public questions, the
comments hidden now and the public count of held comments; all kept with the record, in the
same atomic write as the events that change them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moderation.audiences import public_question
from moderation.board import comment_item
from moderation.events import CommentHeld, CommentPosted
from moderation.model import HoldReason, Item, ItemKind, ItemStatus
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Appended, Guard, Record, Write
from server.wire import decode_record, dumps, encode_record, id_key

# What the items hash leaves out: the id is the field, the version and votes have hashes of
# their own (a vote changes no item; a version is what guards compare).
_APART = ("id", "version", "votes")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a viewer's page starts from: held counts and public questions, as of `as_of`."""

    held: dict[str, int]
    questions: list[dict[str, Any]]
    as_of: str


class BoardStore:
    """Reading the board, and the guards and projections of writes that change it."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record

    @translated
    async def items(self, meeting_id: str, ids: list[str]) -> dict[str, Item]:
        """The items with these ids as they are now (unknown ids are left out).

        A comment nobody moderated yet has no row: it is as its event in the record says.
        """
        if not ids:
            return {}
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.items(meeting_id), ids)
            pipe.hmget(keys.versions(meeting_id), ids)
            pipe.hmget(keys.votes(meeting_id), ids)
            rows, versions, votes = await pipe.execute()
        found: dict[str, Item] = {}
        for item_id, row, version, count in zip(ids, rows, versions, votes, strict=True):
            if row is not None:
                found[item_id] = decode_record(
                    Item, row, id=item_id, version=int(version or 1), votes=int(count or 0)
                )
                continue
            entries = await self._record.range(meeting_id, item_id, item_id, count=1)
            if entries and isinstance(entries[0][1], CommentPosted | CommentHeld):
                found[item_id] = comment_item(item_id, entries[0][1])
        return found

    @translated
    async def hidden(self, meeting_id: str) -> set[str]:
        """The ids of the comments moderators hide now."""
        return {str(i) for i in await self._redis.smembers(self._keys.hidden(meeting_id))}

    @translated
    async def snapshot(self, meeting_id: str) -> Snapshot:
        """The held counts and public questions, and the stream id they are as of, atomically."""
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.held(meeting_id))
            pipe.hgetall(keys.public(meeting_id))
            pipe.hgetall(keys.votes(meeting_id))
            pipe.xrevrange(keys.stream(meeting_id), count=1)
            counts, shown, votes, top = await pipe.execute()
        questions = []
        for question_id, data in shown.items():
            question = json.loads(data)
            question["votes"] = int(votes.get(question_id, 0))
            questions.append(question)
        questions.sort(key=lambda q: id_key(q["id"]))
        return Snapshot(
            held={k: int(v) for k, v in counts.items()},
            questions=questions,
            as_of=top[0][0] if top else "0-0",
        )

    # Guards and projections of a write

    def at_version(self, write: Write, meeting_id: str, item: Item) -> Guard:
        """Refused when the item moved past the version the decision read."""
        return write.number(self._keys.versions(meeting_id), item.id, item.version, 1)

    def count_held(self, write: Write, meeting_id: str, reason: HoldReason) -> None:
        """One more comment held by the first filter for `reason` (the public count)."""
        write.hincrby(self._keys.held(meeting_id), reason.value, 1)

    def create(self, write: Write, meeting_id: str, at: Appended, item: Item) -> None:
        """Store a new item under the id its event gets (a question asked or promoted)."""
        write.hset_at(self._keys.items(meeting_id), at, encode_record(item, omit=_APART))

    def store(self, write: Write, meeting_id: str, items: list[Item]) -> None:
        """Store items as a decision changed them, with every projection of them."""
        keys = self._keys
        for item in items:
            write.hset(keys.items(meeting_id), item.id, encode_record(item, omit=_APART))
            write.hset(keys.versions(meeting_id), item.id, str(item.version))
            if item.kind is ItemKind.QUESTION:
                shown = public_question(item)
                if shown is None:
                    write.hdel(keys.public(meeting_id), item.id)
                else:
                    write.hset(keys.public(meeting_id), item.id, dumps(shown))
            elif item.status is ItemStatus.HIDDEN:
                write.sadd(keys.hidden(meeting_id), item.id)
            else:
                write.srem(keys.hidden(meeting_id), item.id)
