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
from moderation.model import AkimLevel, MeetingStatus, SlowMode
from server.wire import decode_event, encode_event

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Entry = tuple[str, Event]
SOCKET_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
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
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=SOCKET_TIMEOUT,
            decode_responses=True,
            health_check_interval=10,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=2.0,
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.durability = DurabilityReport(Durability.NONE, "not checked yet")
        self._post = self.redis.register_script(_script("post_comment"))
        self._create = self.redis.register_script(_script("create_meeting"))
        self._change = self.redis.register_script(_script("change_meeting"))

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

    def _index(self) -> str:
        return f"{self.prefix}meetings"

    @_translated
    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()

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

    @_translated
    async def post_comment(self, meeting_id: str, event: Comment) -> Appended | Refused:
        """Append a comment unless its id was seen, the meeting is closed or it comes too fast.

        Answers only after the append is durable (see `Durability`).
        """
        kind, data = encode_event(event)
        held = getattr(event, "reason", "")
        keys = [
            self._stream(meeting_id),
            self._meeting(meeting_id),
            self._seen(meeting_id),
            self._bucket(meeting_id, event.viewer),
            self._held(meeting_id),
        ]
        args = [event.client_msg_id, kind, data, held]
        if self.durability.mode is Durability.WAITAOF:
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._post(keys=keys, args=args, client=pipe)
                pipe.execute_command("WAITAOF", 1, 0, 5000)
                (status, value), (local, _) = await pipe.execute()
            if int(local) < 1:
                raise StoreUnavailable("WAITAOF timed out: the append is not known to be on disk")
        else:
            status, value = await self._post(keys=keys, args=args)
        if status == "ok":
            return Appended(str(value), str(held))
        if status == "dup":
            event_id, _, reason = str(value).partition(" ")
            return Appended(event_id, reason, duplicate=True)
        if status == "rate":
            return Refused("rate_limited", int(value))
        return Refused("closed" if status == "closed" else "missing")

    @_translated
    async def seen(self, meeting_id: str, client_msg_id: str) -> Appended | None:
        """The comment already recorded under `client_msg_id`, if any."""
        value = await self.redis.hget(self._seen(meeting_id), client_msg_id)
        if value is None:
            return None
        event_id, _, reason = str(value).partition(" ")
        return Appended(event_id, reason, duplicate=True)

    @_translated
    async def snapshot(self, meeting_id: str) -> tuple[dict[str, int], str]:
        """The held counts and the stream id they are counted up to, read atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._held(meeting_id))
            pipe.xrevrange(self._stream(meeting_id), count=1)
            counts, top = await pipe.execute()
        return {k: int(v) for k, v in counts.items()}, (top[0][0] if top else "0-0")

    # Reading the record

    @_translated
    async def last_id(self, meeting_id: str) -> str:
        top = await self.redis.xrevrange(self._stream(meeting_id), count=1)
        return str(top[0][0]) if top else "0-0"

    @_translated
    async def read(self, meeting_id: str, after: str, *, count: int, block_ms: int) -> list[Entry]:
        """Entries after `after`, waiting up to `block_ms` for the first (XREAD BLOCK)."""
        block = min(block_ms, MAX_BLOCK_MS) if block_ms else None
        reply: Any = await self.redis.xread(
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
