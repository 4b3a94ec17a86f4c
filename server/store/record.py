"""The record: each meeting's stream of events, appended atomically with its guards and
projections, read back in order, and durable before any append is acknowledged.

A `Write` gathers guards (checked first), appends and projection updates; `Record.run` has
`lua/apply.lua` check and apply it all at once. This module is the only one that appends
(XADD) to any stream: other adapters add their guards and projections to the same `Write`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.exceptions import NoScriptError, RedisError, ResponseError

from moderation import Event
from server.store.client import (
    Attempt,
    Breaker,
    Liveness,
    Redis,
    RedisClock,
    StoreUnavailable,
    Unanswered,
    call_once,
    translated,
)
from server.store.keys import Keys
from server.wire import decode_event, encode_event

Entry = tuple[str, Event]
MAX_BLOCK_MS = 2000
WAITAOF_TIMEOUT_MS = 5000


class Durability(enum.StrEnum):
    """How an acknowledged append survives a crash of the machine."""

    ALWAYS = "appendfsync-always"  # every write is fsynced before Redis replies
    WAITAOF = "waitaof"  # Redis >= 7.2: we wait for the fsync after each append
    NONE = "none"  # a crash can lose acknowledged comments


@dataclass(frozen=True, slots=True)
class DurabilityReport:
    mode: Durability
    detail: str


class Check(enum.StrEnum):
    """The guards a write can carry (their meaning is in `lua/apply.lua`)."""

    UNSEEN = "unseen"
    EQUAL = "equal"
    ABSENT = "absent"
    NUMBER = "number"
    NOT_MEMBER = "not_member"
    PACE = "pace"
    BEFORE = "before"


@dataclass(frozen=True, slots=True, eq=False)
class Guard:
    """One guard of a write; a refusal names the guard that refused, compared by identity."""

    check: Check


@dataclass(frozen=True, slots=True)
class Appended:
    """A handle on one event of a write: projections may name its id before it exists."""

    number: int  # 1 for the write's first append


@dataclass(frozen=True, slots=True)
class Written:
    """Every guard passed: the events are in the record under `ids`, in order."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Refused:
    """A guard refused the write and nothing changed.

    `value` is what the guard found: the recorded value for `unseen`, the actual value for
    `equal` and `number`, the milliseconds to wait for `pace`, Redis's time for `before`.
    """

    guard: Guard
    value: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a submission's `client_msg_id` was recorded as: its event's id and kind, and the
    first filter's reason when it was held."""

    id: str
    kind: str
    reason: str = ""

    @classmethod
    def parse(cls, value: str) -> Recorded:
        event_id, _, rest = value.partition(" ")
        kind, _, reason = rest.partition(" ")
        return cls(event_id, kind, reason)


@dataclass(slots=True)
class Write:
    """One atomic write: guards, then appends and projections, in the order they were added."""

    keys: list[str] = field(default_factory=list)
    guards: list[tuple[Guard, list[str]]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # of the appends, in order

    def _key(self, key: str) -> str:
        if key not in self.keys:
            self.keys.append(key)
        return str(self.keys.index(key) + 1)

    def _guard(self, check: Check, *args: str) -> Guard:
        guard = Guard(check)
        self.guards.append((guard, [check.value, *args]))
        return guard

    def _step(self, name: str, key: str, *args: str) -> None:
        self.steps += [name, self._key(key), *args]

    # Guards

    def unseen(self, key: str, field: str) -> Guard:
        """Refused (with the value found) when the hash already has `field`."""
        return self._guard(Check.UNSEEN, self._key(key), field)

    def equal(self, key: str, field: str, value: str) -> Guard:
        """Refused unless the hash's `field` is `value` ("" for absent)."""
        return self._guard(Check.EQUAL, self._key(key), field, value)

    def absent(self, key: str) -> Guard:
        """Refused when `key` exists."""
        return self._guard(Check.ABSENT, self._key(key))

    def number(self, key: str, field: str, value: int, default: int) -> Guard:
        """Refused unless the hash's `field` is the number `value` (`default` when absent)."""
        return self._guard(Check.NUMBER, self._key(key), field, str(value), str(default))

    def not_member(self, key: str, member: str) -> Guard:
        """Refused when the set has `member`."""
        return self._guard(Check.NOT_MEMBER, self._key(key), member)

    def pace(self, key: str, interval_ms: int, burst: int) -> Guard:
        """One per `interval_ms` with bursts of `burst` (GCRA); refused with the wait."""
        return self._guard(Check.PACE, self._key(key), str(interval_ms), str(burst))

    def before(self, deadline_ms: int) -> Guard:
        """Refused (with Redis's time) once Redis's clock is past `deadline_ms`."""
        return self._guard(Check.BEFORE, str(deadline_ms))

    # Projections

    def hset(self, key: str, field: str, value: str) -> None:
        self._step("hset", key, field, value)

    def hset_at(self, key: str, append: Appended, value: str) -> None:
        """Set `value` under the id `append` gets."""
        self._step("hset_at", key, str(append.number), value)

    def hset_id(self, key: str, field: str, append: Appended, suffix: str = "") -> None:
        """Set `field` to the id `append` gets, then `suffix`."""
        self._step("hset_id", key, field, str(append.number), suffix)

    def hdel(self, key: str, field: str) -> None:
        self._step("hdel", key, field)

    def hincrby(self, key: str, field: str, by: int) -> None:
        self._step("hincrby", key, field, str(by))

    def sadd(self, key: str, member: str) -> None:
        self._step("sadd", key, member)

    def srem(self, key: str, member: str) -> None:
        self._step("srem", key, member)

    def sunionstore(self, key: str, first: str, second: str) -> None:
        self._step("sunionstore", key, self._key(first), self._key(second))

    def zadd(self, key: str, score: int, member: str) -> None:
        self._step("zadd", key, str(score), member)

    def sadd_at(self, key: str, append: Appended) -> None:
        """Add the id `append` gets to the set."""
        self._step("sadd_at", key, str(append.number))

    def arguments(self) -> list[str]:
        return [str(len(self.guards)), *(a for _, args in self.guards for a in args), *self.steps]


class Record:
    """Appends to and reads of meetings' streams, durable before an append is acknowledged."""

    def __init__(self, redis: Redis, readers: Redis, keys: Keys) -> None:
        self._redis = redis
        # Feeds' blocking reads have connections of their own: a burst of writes waiting for
        # the main pool never starves the readers that deliver them.
        self._readers = readers
        self._keys = keys
        self._apply = redis.register_script(
            resources.files("server.store").joinpath("lua", "apply.lua").read_text()
        )
        self.durability = DurabilityReport(Durability.NONE, "not checked yet")
        self.clock = RedisClock()
        self.liveness = Liveness()
        self.breaker = Breaker(redis, self.clock, self.liveness)

    # Writing

    def append(self, write: Write, meeting_id: str, event: Event) -> Appended:
        """Add `event` to the write, to be appended to the meeting's record."""
        kind, data = encode_event(event)
        write.steps += ["xadd", write._key(self._keys.stream(meeting_id)), kind, data]
        write.kinds.append(kind)
        return Appended(len(write.kinds))

    def queue(self, write: Write, key: str, data: str, at: Appended | None = None) -> None:
        """Append `data` to the stream `key`, which is not a record (an outbox), in the same
        atomic write, with the id `at` gets: what the write decided and what must follow from
        it land together or not at all."""
        write.steps += ["xlog", write._key(key), str(at.number if at else 0), data]

    def first_time(self, write: Write, meeting_id: str, client_msg_id: str) -> Guard:
        """Refused, with what it was recorded as, when `client_msg_id` was seen before: a
        retry never makes a second event."""
        return write.unseen(self._keys.seen(meeting_id), client_msg_id)

    def remember(
        self, write: Write, meeting_id: str, client_msg_id: str, at: Appended, reason: str = ""
    ) -> None:
        """Remember what `client_msg_id` is recorded as: the event `at` (see `Recorded`)."""
        kind = write.kinds[at.number - 1]
        suffix = f" {kind} {reason}" if reason else f" {kind}"
        write.hset_id(self._keys.seen(meeting_id), client_msg_id, at, suffix)

    def pace(
        self, write: Write, meeting_id: str, sender: str, interval_ms: int, burst: int
    ) -> Guard:
        """Slow mode: refused, with the milliseconds to wait, when `sender` comes too soon."""
        return write.pace(self._keys.bucket(meeting_id, sender), interval_ms, burst)

    def in_time(self, write: Write, deadline: float) -> Guard:
        """Refused if Redis runs the write after `deadline` (`time.monotonic()` seconds): a
        write whose sender was told the outcome is unknown can never land later."""
        return write.before(self.clock.at(deadline))

    @translated
    async def spend(self, name: str, interval_ms: int, burst: int) -> int:
        """Take one from the rate limit `name` (shared by every process): 0 when allowed, else
        the milliseconds until it allows one."""
        write = Write()
        guard = write.pace(self._keys.limit(name), interval_ms, burst)
        result = await self.run(write)
        if isinstance(result, Refused):
            assert result.guard is guard
            return max(1, int(result.value))
        return 0

    @translated
    async def seen(self, meeting_id: str, client_msg_id: str) -> Recorded | None:
        """What `client_msg_id` was recorded as, if it was."""
        value = await self._redis.hget(self._keys.seen(meeting_id), client_msg_id)
        return None if value is None else Recorded.parse(str(value))

    @translated
    async def run(self, write: Write, attempt: Attempt | None = None) -> Written | Refused:
        """Check the write's guards and apply it, atomically; answers only once the appends
        are durable (see `Durability`).

        With an `attempt` (a submission's) the write is sent once and never again, and only
        while the breaker is closed (see `Breaker`). `attempt.sent` then
        tells a write that never ran from one whose outcome is unknown (`Unanswered`).
        """
        if attempt is None:
            reply = await self._durably(write.keys, write.arguments())
        else:
            reply = await self._once(write, attempt)
        status, *values = reply
        if status == "ok":
            return Written(tuple(str(v) for v in values))
        guard, _ = write.guards[int(values[0]) - 1]
        return Refused(guard, str(values[1]))

    async def _once(self, write: Write, attempt: Attempt) -> Any:
        await self.breaker.admit()
        script = ("EVALSHA", self._apply.sha, len(write.keys), *write.keys, *write.arguments())
        again = False
        try:
            reply = await self._send(script, attempt)
        except Unanswered as error:
            # The link failed after the write went out: send it once more, on another
            # connection, as its sender would. Its guards make that safe: the first one to run
            # appends, the other finds it `seen` (and a late one changes nothing).
            self.breaker.failed(f"{type(error).__name__}: {error}")
            try:
                await self.breaker.admit()
            except StoreUnavailable as closed:
                # The first try may have run: a breaker that opened meanwhile makes its fate
                # no less unknown, never a final `unavailable` (found by FLT-2's full tier).
                raise Unanswered(f"{error}; then {closed}") from error
            again = True
            reply = await self._unanswered_again(script, attempt)
        except (RedisError, OSError) as error:
            self.breaker.failed(f"{type(error).__name__}: {error}")
            raise
        self.breaker.succeeded()  # (a timeout is counted by the submission that waited)
        if isinstance(reply, ResponseError):
            # Refused as a whole; but after a try whose fate is unknown, that tells nothing.
            refused = Unanswered if again else StoreUnavailable
            raise refused(f"the record refused the write: {reply}")
        return reply

    async def _unanswered_again(self, script: Sequence[Any], attempt: Attempt) -> Any:
        try:
            return await self._send(script, attempt)
        except (RedisError, OSError) as error:  # after one went out: `Unanswered` either way
            self.breaker.failed(f"{type(error).__name__}: {error}")
            raise Unanswered(f"{type(error).__name__}: {error}") from error

    async def _send(self, script: Sequence[Any], attempt: Attempt) -> Any:
        reply = await self._durable_once(script, attempt)
        if isinstance(reply, NoScriptError):  # a Redis restarted without our script: it did not run
            reply = await self._durable_once(("EVAL", self._apply.script, *script[2:]), attempt)
        return reply

    async def _durable_once(self, script: Sequence[Any], attempt: Attempt) -> Any:
        if self.durability.mode is not Durability.WAITAOF:
            (reply,) = await call_once(self._redis, [script], attempt)
            return reply
        wait = ("WAITAOF", 1, 0, WAITAOF_TIMEOUT_MS)
        reply, synced = await call_once(self._redis, [script, wait], attempt)
        if isinstance(synced, ResponseError) or int(synced[0]) < 1:
            # It ran, and is not known to be on disk: neither acknowledged nor refused.
            raise Unanswered(f"WAITAOF: the append is not known to be on disk ({synced})")
        return reply

    async def _durably(self, keys: list[str], args: list[str]) -> Any:
        if self.durability.mode is not Durability.WAITAOF:
            return await self._apply(keys=keys, args=args)
        async with self._redis.pipeline(transaction=False) as pipe:
            await self._apply(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAITAOF", 1, 0, WAITAOF_TIMEOUT_MS)
            reply, (local, _) = await pipe.execute()
        if int(local) < 1:
            raise StoreUnavailable("WAITAOF timed out: the append is not known to be on disk")
        return reply

    @translated
    async def log(self, key: str, fields: dict[str, str], *, maxlen: int) -> str:
        """Append an entry to a log that is not a meeting's record (the staff audit log)."""
        return str(await self._redis.xadd(key, fields, maxlen=maxlen, approximate=True))  # type: ignore[arg-type]

    # Reading

    @translated
    async def last_id(self, meeting_id: str) -> str:
        top = await self._redis.xrevrange(self._keys.stream(meeting_id), count=1)
        return str(top[0][0]) if top else "0-0"

    @translated
    async def read(self, meeting_id: str, after: str, *, count: int, block_ms: int) -> list[Entry]:
        """Entries after `after`, waiting up to `block_ms` for the first (XREAD BLOCK)."""
        block = min(block_ms, MAX_BLOCK_MS) if block_ms else None
        reply: Any = await self._readers.xread(
            {self._keys.stream(meeting_id): after}, count=count, block=block
        )
        self.liveness.heard()
        return [_entry(raw) for _, rows in reply or () for raw in rows]

    @translated
    async def range(self, meeting_id: str, start: str, end: str, *, count: int) -> list[Entry]:
        """Entries from `start` to `end`, both inclusive (`(id` excludes), oldest first."""
        rows: Any = await self._redis.xrange(self._keys.stream(meeting_id), start, end, count=count)
        return [_entry(raw) for raw in rows]

    async def replay(
        self, meeting_id: str, after: str, *, until: str = "+", chunk: int = 200
    ) -> AsyncIterator[list[Entry]]:
        """The entries after `after` up to `until`, oldest first, a chunk at a time: each chunk
        is a round trip, so folding a long history never holds the event loop for long."""
        start = "(" + after
        while True:
            entries = await self.range(meeting_id, start, until, count=chunk)
            if entries:
                yield entries
            if len(entries) < chunk:
                return
            start = "(" + entries[-1][0]

    @translated
    async def recent(self, meeting_id: str, end: str, *, count: int) -> list[Entry]:
        """The last `count` entries up to `end`, oldest first."""
        rows: Any = await self._redis.xrevrange(
            self._keys.stream(meeting_id), end, "-", count=count
        )
        return [_entry(raw) for raw in reversed(rows)]

    # Durability

    @translated
    async def check_durability(self) -> DurabilityReport:
        """Whether an acknowledged write survives a crash of this Redis's machine (and, while at
        it, how Redis's clock reads ours: see `RedisClock`)."""
        before = time.monotonic()
        reply = await self._redis.time()
        self.clock.measured(before, reply, time.monotonic())
        info = await self._redis.info("server")
        version = tuple(int(part) for part in str(info["redis_version"]).split(".")[:2])
        try:
            config = await self._redis.config_get("append*")  # Redis 6 takes one pattern
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


def _entry(raw: Any) -> Entry:
    entry_id, fields = raw
    return entry_id, decode_event(fields["k"], fields["d"])
