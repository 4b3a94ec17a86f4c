"""The Redis store: the only module that talks to Redis.

One stream per meeting is the record; each write appends to it and updates its projections in
one Lua script, so the record and the projections never disagree. Key names live here alone.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from moderation import Comment, Conflict, Event, Meeting, MeetingCreated, NotFound
from moderation.events import CommentHeld, CommentPosted, QuestionAsked
from moderation.model import AkimLevel, MeetingStatus, SlowMode
from moderation.questions import Item, comment_item
from server.wire import decode_event, decode_item, encode_event, encode_item, id_key

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Entry = tuple[str, Event]
SOCKET_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
MAX_READERS = 16  # one blocking XREAD per live meeting in this process
MAX_BLOCK_MS = 2000


class StoreUnavailable(Exception):
    """Redis cannot be reached or refuses writes; nothing was acknowledged."""


class Durability(enum.StrEnum):
    """How an acknowledged append survives a crash of the machine."""

    ALWAYS = "appendfsync-always"  # every write is fsynced before Redis replies
    WAITAOF = "waitaof"  # Redis >= 7.2: we wait for the fsync after each append
    NONE = "none"  # a crash can lose acknowledged comments


@dataclass(frozen=True, slots=True)
class DurabilityReport:
    mode: Durability
    detail: str


@dataclass(frozen=True, slots=True)
class Appended:
    """A comment is in the stream as `id`, held for `held` if not empty."""

    id: str
    held: str
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a viewer's page starts from: held counts and public questions, as of `as_of`."""

    held: dict[str, int]
    questions: list[dict[str, Any]]
    as_of: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The store's guards refused a comment: `closed` (meeting not live) or `rate_limited`."""

    why: str
    retry_after_ms: int = 0


def _translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as error:
            raise StoreUnavailable(f"{type(error).__name__}: {error}") from error

    return wrapper


def _script(name: str) -> str:
    return resources.files("server").joinpath("lua", f"{name}.lua").read_text()


class Store:
    """Async access to meetings and their streams under one key prefix."""

    def __init__(self, url: str, prefix: str = "halyq:") -> None:
        self.prefix = prefix
        # Blocking reads (XREAD BLOCK) must stay well under the socket timeout. The pool is
        # bounded: a reconnect storm of viewers waits for a connection instead of opening
        # thousands of them.
        self.redis = _client(url, MAX_CONNECTIONS)
        # Feeds' blocking reads have connections of their own: a burst of writes waiting for
        # the main pool never starves the readers that deliver them.
        self.readers = _client(url, MAX_READERS)
        self.durability = DurabilityReport(Durability.NONE, "not checked yet")
        self._post = self.redis.register_script(_script("post_comment"))
        self._create = self.redis.register_script(_script("create_meeting"))
        self._change = self.redis.register_script(_script("change_meeting"))
        self._apply = self.redis.register_script(_script("apply_changes"))
        self._vote = self.redis.register_script(_script("vote"))

    # Key names: one prefix, one function per shape; a meeting's keys share a hash tag.

    def _meeting(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}"

    def _stream(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:log"

    def _seen(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:seen"

    def _bucket(self, mid: str, viewer: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:slow:{viewer}"

    def _held(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:held"

    def _items(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:items"

    def _question_texts(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:qtexts"

    def _hidden(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:hidden"

    def _votes(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:votes"

    def _voters(self, mid: str, question: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:voters:{question}"

    def _public(self, mid: str) -> str:
        return f"{self.prefix}m:{{{mid}}}:public"

    def _index(self) -> str:
        return f"{self.prefix}meetings"

    @_translated
    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        for client in (self.redis, self.readers):
            await client.aclose()
            await client.connection_pool.disconnect()

    @_translated
    async def check_durability(self) -> DurabilityReport:
        """Whether an acknowledged write survives a crash of this Redis's machine."""
        info = await self.redis.info("server")
        version = tuple(int(part) for part in str(info["redis_version"]).split(".")[:2])
        try:
            config = await self.redis.config_get("append*")  # Redis 6 takes one pattern
        except ResponseError:
            config = {}  # CONFIG is disabled on some managed servers
        if config.get("appendonly") == "yes" and config.get("appendfsync") == "always":
            report = DurabilityReport(Durability.ALWAYS, "appendonly yes, appendfsync always")
        elif version >= (7, 2) and config.get("appendonly", "yes") == "yes":
            report = DurabilityReport(Durability.WAITAOF, "each append waits for WAITAOF 1 0")
        else:
            report = DurabilityReport(
                Durability.NONE,
                f"Redis {info['redis_version']} with appendonly={config.get('appendonly', '?')}"
                f" appendfsync={config.get('appendfsync', '?')}: set appendonly yes and"
                " appendfsync always (or use Redis >= 7.2)",
            )
        self.durability = report
        return report

    @_translated
    async def shared_secret(self, proposed: str = "") -> str:
        """The secret every process on this Redis signs with (set once, first writer wins)."""
        key = f"{self.prefix}secret"
        await self.redis.set(key, proposed or secrets.token_hex(32), nx=True)
        return str(await self.redis.get(key))

    # Meetings

    @_translated
    async def create_meeting(self, meeting_id: str, event: MeetingCreated, meeting: Meeting) -> str:
        kind, data = encode_event(event)
        keys = [self._stream(meeting_id), self._meeting(meeting_id), self._index()]
        args = [meeting_id, event.at, kind, data, *_fields(meeting)]
        status, value = await self._create(keys=keys, args=args)
        if status == "exists":
            raise Conflict(f"meeting {meeting_id} already exists")
        return str(value)

    @_translated
    async def change_meeting(self, before: Meeting, event: Event, after: Meeting) -> str:
        """Append a meeting's change if it is still in the state `before` shows."""
        kind, data = encode_event(event)
        keys = [self._stream(before.id), self._meeting(before.id)]
        args = [before.status.value, kind, data, *_fields(after)]
        status, value = await self._change(keys=keys, args=args)
        if status == "missing":
            raise NotFound(f"no meeting {before.id}")
        if status == "conflict":
            raise Conflict(f"meeting {before.id} is now {value}")
        return str(value)

    @_translated
    async def meeting(self, meeting_id: str) -> Meeting | None:
        return _meeting_from(await self.redis.hgetall(self._meeting(meeting_id)))

    @_translated
    async def meetings(self) -> list[Meeting]:
        ids = await self.redis.zrange(self._index(), 0, -1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for meeting_id in ids:
                pipe.hgetall(self._meeting(str(meeting_id)))
            rows = await pipe.execute()
        return [m for m in map(_meeting_from, rows) if m is not None]

    # Comments

    async def _durably(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run a writing script; answers only after its append is durable (see `Durability`)."""
        if self.durability.mode is not Durability.WAITAOF:
            return await script(keys=keys, args=args)
        async with self.redis.pipeline(transaction=False) as pipe:
            await script(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAITAOF", 1, 0, 5000)
            reply, (local, _) = await pipe.execute()
        if int(local) < 1:
            raise StoreUnavailable("WAITAOF timed out: the append is not known to be on disk")
        return reply

    @_translated
    async def post_comment(
        self, meeting_id: str, event: Comment | QuestionAsked, creates: Item | None = None
    ) -> Appended | Refused:
        """Append a comment (or a question, which `creates` an item) unless its id was seen,
        the meeting is closed or it comes too fast."""
        kind, data = encode_event(event)
        # `held` is remembered with the id: a filter's reason, or "question" (acked "pending").
        held = "question" if creates else getattr(event, "reason", "")
        keys = [
            self._stream(meeting_id),
            self._meeting(meeting_id),
            self._seen(meeting_id),
            self._bucket(meeting_id, event.viewer),
            self._held(meeting_id),
            self._items(meeting_id),
            self._question_texts(meeting_id),
        ]
        args = [event.client_msg_id, kind, data, held, encode_item(creates) if creates else ""]
        status, value = await self._durably(self._post, keys, args)
        if status == "ok":
            return Appended(str(value), str(held))
        if status == "dup":
            event_id, _, reason = str(value).partition(" ")
            return Appended(event_id, reason, duplicate=True)
        if status == "rate":
            return Refused("rate_limited", int(value))
        return Refused("closed" if status == "closed" else "missing")

    # The board: items, votes, public questions

    @_translated
    async def items(self, meeting_id: str, ids: list[str]) -> dict[str, Item]:
        """The items with these ids as they are now (unknown ids are left out)."""
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._items(meeting_id), ids)
            pipe.hmget(self._votes(meeting_id), ids)
            rows, votes = await pipe.execute()
        found: dict[str, Item] = {}
        for item_id, row, count in zip(ids, rows, votes, strict=True):
            if row is not None:
                found[item_id] = decode_item(item_id, row, int(count or 0))
                continue
            entries = await self.range(meeting_id, item_id, item_id, count=1)
            if entries and isinstance(entries[0][1], CommentPosted | CommentHeld):
                found[item_id] = comment_item(item_id, entries[0][1])
        return found

    @_translated
    async def hidden_comments(self, meeting_id: str) -> set[str]:
        """The ids of the comments moderators hide now."""
        return {str(i) for i in await self.redis.smembers(self._hidden(meeting_id))}

    @_translated
    async def question_texts(self, meeting_id: str) -> list[tuple[str, str]]:
        """The meeting's questions that others may repeat, as (id, text), oldest first.

        The scripts keep this index with the record: a question joins it when asked or
        promoted and leaves it when merged or rejected.
        """
        rows = await self.redis.hgetall(self._question_texts(meeting_id))
        return sorted(((str(i), str(t)) for i, t in rows.items()), key=lambda p: id_key(p[0]))

    @_translated
    async def apply_changes(
        self,
        meeting_id: str,
        checks: dict[str, int],
        events: list[tuple[Event, Item | None]],
        items: list[Item],
        public: dict[str, str],
        merge: tuple[str, str] | None = None,
    ) -> tuple[str, str]:
        """Append `events` and store `items` if every item in `checks` is at that version.

        An event may create an item (a promoted question), stored under the event's id.
        `public` maps questions to their public JSON ("" removes one). Returns the first and
        last ids appended; raises `Conflict` when an item moved on.
        """
        source, into = merge or ("", "")
        keys = [
            self._stream(meeting_id),
            self._items(meeting_id),
            self._votes(meeting_id),
            self._public(meeting_id),
            self._voters(meeting_id, source),
            self._voters(meeting_id, into),
            self._question_texts(meeting_id),
            self._hidden(meeting_id),
        ]
        args: list[Any] = [len(checks)]
        for item_id, version in checks.items():
            args += [item_id, version]
        args.append(len(events))
        for event, creates in events:
            args += [*encode_event(event), encode_item(creates) if creates else ""]
        args.append(len(items))
        for item in items:
            args += [item.id, encode_item(item)]
        args.append(len(public))
        for item_id, shown in public.items():
            args += [item_id, shown]
        args.append(into)
        status, first, last = await self._durably(self._apply, keys, args)
        if status == "conflict":
            raise Conflict(f"item {first} changed meanwhile: it is at version {last}")
        return str(first), str(last)

    @_translated
    async def vote(self, meeting_id: str, question: str, viewer: str, now: int) -> tuple[str, int]:
        """Count a viewer's up-vote: ("ok" | "dup" | "missing" | "closed", votes now)."""
        keys = [
            self._stream(meeting_id),
            self._meeting(meeting_id),
            self._public(meeting_id),
            self._voters(meeting_id, question),
            self._votes(meeting_id),
        ]
        status, _, votes = await self._durably(self._vote, keys, [question, viewer, now])
        return str(status), int(votes)

    @_translated
    async def seen(self, meeting_id: str, client_msg_id: str) -> Appended | None:
        """The comment already recorded under `client_msg_id`, if any."""
        value = await self.redis.hget(self._seen(meeting_id), client_msg_id)
        if value is None:
            return None
        event_id, _, reason = str(value).partition(" ")
        return Appended(event_id, reason, duplicate=True)

    @_translated
    async def snapshot(self, meeting_id: str) -> Snapshot:
        """The held counts and public questions, and the stream id they are as of, atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._held(meeting_id))
            pipe.hgetall(self._public(meeting_id))
            pipe.hgetall(self._votes(meeting_id))
            pipe.xrevrange(self._stream(meeting_id), count=1)
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

    # Reading the record

    @_translated
    async def last_id(self, meeting_id: str) -> str:
        top = await self.redis.xrevrange(self._stream(meeting_id), count=1)
        return str(top[0][0]) if top else "0-0"

    @_translated
    async def read(self, meeting_id: str, after: str, *, count: int, block_ms: int) -> list[Entry]:
        """Entries after `after`, waiting up to `block_ms` for the first (XREAD BLOCK)."""
        block = min(block_ms, MAX_BLOCK_MS) if block_ms else None
        reply: Any = await self.readers.xread(
            {self._stream(meeting_id): after}, count=count, block=block
        )
        return [_entry(raw) for _, rows in reply or () for raw in rows]

    @_translated
    async def range(self, meeting_id: str, start: str, end: str, *, count: int) -> list[Entry]:
        """Entries from `start` to `end`, both inclusive (`(id` excludes), oldest first."""
        rows: Any = await self.redis.xrange(self._stream(meeting_id), start, end, count=count)
        return [_entry(raw) for raw in rows]

    @_translated
    async def recent(self, meeting_id: str, end: str, *, count: int) -> list[Entry]:
        """The last `count` entries up to `end`, oldest first."""
        rows: Any = await self.redis.xrevrange(self._stream(meeting_id), end, "-", count=count)
        return [_entry(raw) for raw in reversed(rows)]


def _client(url: str, connections: int) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=SOCKET_TIMEOUT,
        decode_responses=True,
        health_check_interval=10,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=2.0,
    )
    return aioredis.Redis(connection_pool=pool)


def _entry(raw: Any) -> Entry:
    entry_id, fields = raw
    return entry_id, decode_event(fields["k"], fields["d"])


def _fields(meeting: Meeting) -> list[Any]:
    values = dataclasses.asdict(meeting)
    values["titles"] = json.dumps(meeting.titles, ensure_ascii=False)
    del values["slow_mode"]
    values["slow_mode_seconds"] = meeting.slow_mode.seconds
    values["slow_mode_burst"] = meeting.slow_mode.burst
    return [item for pair in values.items() for item in (pair[0], _plain(pair[1]))]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _meeting_from(row: Any) -> Meeting | None:
    if not row:
        return None
    return Meeting(
        id=row["id"],
        title=row["title"],
        akim=row["akim"],
        level=AkimLevel(row["level"]),
        territory=row["territory"],
        planned_minutes=int(row["planned_minutes"]),
        stream_url=row.get("stream_url", ""),
        titles=json.loads(row.get("titles") or "{}"),
        starts_at=row.get("starts_at", ""),
        status=MeetingStatus(row["status"]),
        created_at=int(row.get("created_at", 0)),
        started_at=int(row.get("started_at", 0)),
        ended_at=int(row.get("ended_at", 0)),
        slow_mode=SlowMode(
            seconds=float(row["slow_mode_seconds"]), burst=int(row["slow_mode_burst"])
        ),
    )
