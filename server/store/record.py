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
# How long an append waits for its replicas (issue 15): well under HALYQ_ACK_TIMEOUT (2 s), so
# that a replica that does not confirm makes the comment's answer `retry`, not a timeout.
REPLICA_WAIT_MS = 1000
TICK_MS = 60_000  # how long the small write that orders a confirmation is kept (`_confirm`)
REPLICA_LOOK_TIMEOUT = 0.5  # asking a replica how it writes to disk (`_replicas_on_disk`)


class Durability(enum.StrEnum):
    """How an acknowledged append survives a crash of the machine."""

    ALWAYS = "appendfsync-always"  # every write is fsynced before Redis replies
    WAITAOF = "waitaof"  # Redis >= 7.2: we wait for the fsync after each append
    NONE = "none"  # a crash can lose acknowledged comments


@dataclass(frozen=True, slots=True)
class DurabilityReport:
    """How acks survive a crash, and (issue 15) the replicas that must confirm each append:
    `replicas_connected` counts those that can (online, and on disk where WAITAOF waits)."""

    mode: Durability
    detail: str
    replicas_required: int = 0
    replicas_connected: int = 0
    replicas_detail: str = field(default="", compare=False)  # counts change, words vary

    @property
    def replicas_missing(self) -> bool:
        """Fewer replicas can confirm than must: no append can be acknowledged."""
        return self.replicas_connected < self.replicas_required


@dataclass(frozen=True, slots=True)
class Wait:
    """What follows every write on its connection before its ack (`WAITAOF` or `WAIT`), and
    the counts the last reply must reach: fsyncs on the primary, then replicas.

    With replicas, WAITAOF goes after a WAIT: measured on Valkey 9.1, a WAITAOF sent in the
    same batch as the write waits for the replica's once-a-second report (about 1 s an ack),
    because the replica answers the primary's request for its offsets before it has fsynced
    the write; after WAIT, the primary asks again once the replica has it (about 1 ms). Each
    waits at most half of `REPLICA_WAIT_MS`."""

    commands: tuple[tuple[Any, ...], ...]
    local: int
    replicas: int

    @classmethod
    def choose(cls, replicas: int, *, waitaof: bool, local: bool) -> Wait | None:
        """WAITAOF where the server has it (>= 7.2, with appendonly yes), waiting for the
        local fsync too unless `appendfsync always` made it already (`local` False); WAIT for
        replicas on older servers; nothing when there is nothing to wait for."""
        half = REPLICA_WAIT_MS // 2
        if waitaof and replicas:
            commands = (("WAIT", replicas, half), ("WAITAOF", int(local), replicas, half))
            return cls(commands, int(local), replicas)
        if waitaof and local:
            return cls((("WAITAOF", 1, 0, WAITAOF_TIMEOUT_MS),), 1, 0)
        if replicas:
            return cls((("WAIT", replicas, REPLICA_WAIT_MS),), 0, replicas)
        return None

    @property
    def name(self) -> str:
        return str(self.commands[-1][0])

    def short(self, reply: Any) -> str | None:
        """Why `reply` (to the last command) does not confirm the write, or None when it
        does."""
        if isinstance(reply, Exception):  # an error reply (`call_once` returns it as a value)
            return f"{self.name} failed: {reply}"
        if self.name == "WAIT":
            done = int(reply)
            return None if done >= self.replicas else f"{done} of {self.replicas} replicas"
        local, replicas = (int(n) for n in reply)
        if local < self.local:
            return "the append is not known to be on disk"
        return None if replicas >= self.replicas else f"{replicas} of {self.replicas} replicas"


class NotConfirmed(Unanswered):
    """The write ran and Redis answered, but not all the fsyncs and replicas it needs
    confirmed it in time (`Wait`): not acknowledged, and not refused either (issue 15)."""


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

    def __init__(self, redis: Redis, readers: Redis, keys: Keys, *, replicas: int = 0) -> None:
        self._redis = redis
        self.replicas = replicas  # that must confirm an append before its ack (issue 15)
        # Feeds' blocking reads have connections of their own: a burst of writes waiting for
        # the main pool never starves the readers that deliver them.
        self._readers = readers
        self._keys = keys
        self._apply = redis.register_script(
            resources.files("server.store").joinpath("lua", "apply.lua").read_text()
        )
        self.durability = DurabilityReport(
            Durability.NONE, "not checked yet", replicas_required=replicas
        )
        # Until the server is known: WAIT, which every version has, for the replicas.
        self._wait = Wait.choose(replicas, waitaof=False, local=False)
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
        key = self._keys.seen(meeting_id)
        value = await self._redis.hget(key, client_msg_id)
        if value is None:
            return None
        await self._confirm(key)  # an answer from it is an ack: as durable as one (issue 15)
        return Recorded.parse(str(value))

    @translated
    async def run(self, write: Write, attempt: Attempt | None = None) -> Written | Refused:
        """Check the write's guards and apply it, atomically; answers only once the appends
        are durable (see `Durability`) and `replicas` replicas confirmed them (`Wait`; a
        refusal too, since what it found may be answered as an ack: `_confirm`).

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
        await self._confirm(write.keys[0])  # what the guard found may be answered as an ack
        guard, _ = write.guards[int(values[0]) - 1]
        return Refused(guard, str(values[1]))

    async def _once(self, write: Write, attempt: Attempt) -> Any:
        await self.breaker.admit()
        script = ("EVALSHA", self._apply.sha, len(write.keys), *write.keys, *write.arguments())
        again = False
        try:
            reply = await self._send(script, attempt)
        except NotConfirmed:
            self.breaker.succeeded()  # Redis answered: a replica's silence is no outage
            raise
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
        """The write and its wait (`Wait`), together on one connection: WAIT and WAITAOF wait
        for what their own connection wrote last."""
        wait = self._wait
        if wait is None:
            (reply,) = await call_once(self._redis, [script], attempt)
            return reply
        reply, *_, confirmed = await call_once(self._redis, [script, *wait.commands], attempt)
        if isinstance(reply, ResponseError):
            return reply  # the script did not run (or ran nothing): nothing to wait for
        if (why := wait.short(confirmed)) is not None:
            # It ran, and is not known to be on disk or on the replicas: neither acknowledged
            # nor refused; the sender is told `retry` and sends it again (issue 15).
            raise NotConfirmed(f"{wait.name}: {why} ({confirmed})")
        return reply

    async def _durably(self, keys: list[str], args: list[str]) -> Any:
        wait = self._wait
        if wait is None:
            return await self._apply(keys=keys, args=args)
        async with self._redis.pipeline(transaction=False) as pipe:
            await self._apply(keys=keys, args=args, client=pipe)
            for command in wait.commands:
                pipe.execute_command(*command)
            reply, *_, confirmed = await pipe.execute()
        if (why := wait.short(confirmed)) is not None:
            raise StoreUnavailable(f"{wait.name} timed out: {why}")
        return reply

    async def _confirm(self, key: str) -> None:
        """Return once what a read or a refused write found in the record is as durable as
        an append must be before its ack (issue 15): it may be another connection's write,
        still unconfirmed, and WAIT and WAITAOF wait only for their own connection's last
        write. So a small write of this connection's, ordered after what was found (it runs
        after it, in the slot of `key`), goes first, then the wait."""
        wait = self._wait
        if wait is None:
            return
        tick = ("SET", self._tick(key), "1", "PX", TICK_MS)
        try:
            *_, confirmed = await call_once(self._redis, [tick, *wait.commands], Attempt())
        except (RedisError, OSError) as error:
            raise Unanswered(f"{type(error).__name__}: {error}") from error
        if (why := wait.short(confirmed)) is not None:
            raise NotConfirmed(f"{wait.name}: {why} ({confirmed})")

    def _tick(self, key: str) -> str:
        """The key of `_confirm`'s small write: in `key`'s hash tag's slot, if it has one."""
        start = key.find("{")
        end = key.find("}", start + 1)
        tag = key[start : end + 1] if 0 <= start < end - 1 else ""
        return f"{self._keys.prefix}tick:{tag}"

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
        waitaof = version >= (7, 2) and config.get("appendonly", "yes") == "yes"
        if config.get("appendonly") == "yes" and config.get("appendfsync") == "always":
            mode, detail = Durability.ALWAYS, "appendonly yes, appendfsync always"
        elif waitaof:
            mode, detail = Durability.WAITAOF, "each append waits for WAITAOF 1 0"
        else:
            mode, detail = (
                Durability.NONE,
                f"Redis {info['redis_version']} with appendonly={config.get('appendonly', '?')}"
                f" appendfsync={config.get('appendfsync', '?')}: set appendonly yes and"
                " appendfsync always (or use Redis >= 7.2)",
            )
        self._wait = Wait.choose(self.replicas, waitaof=waitaof, local=mode is Durability.WAITAOF)
        connected, about = await self._replicas(waitaof)
        report = DurabilityReport(mode, detail, self.replicas, connected, about)
        self.durability = report
        return report

    async def _replicas(self, waitaof: bool) -> tuple[int, str]:
        """How many replicas can confirm appends now, and in words: those online (INFO
        replication), and where WAITAOF waits, only those with appendonly yes (WAITAOF counts
        no other)."""
        info: Any = await self._redis.info("replication")
        online = [
            value
            for name, value in info.items()
            if name.startswith("slave") and isinstance(value, dict)
            and value.get("state") == "online"
        ]  # fmt: skip
        if not self.replicas:
            return len(online), f"{len(online)} replicas online; acks wait for none"
        if not waitaof:
            return len(online), f"{len(online)} replicas online; each append waits for WAIT"
        on_disk = [await self._on_disk(str(r["ip"]), int(r["port"])) for r in online]
        lacking = len(online) - sum(on_disk)
        detail = f"{sum(on_disk)} replicas online with appendonly yes; each append waits for them"
        if lacking:
            detail += f" ({lacking} online without appendonly yes: WAITAOF does not count them)"
        return sum(on_disk), detail

    async def _on_disk(self, host: str, port: int) -> bool:
        """Whether the replica at host:port writes an append-only file (unknown: assumed)."""
        replica = Redis(
            host=host,
            port=port,
            socket_timeout=REPLICA_LOOK_TIMEOUT,
            socket_connect_timeout=REPLICA_LOOK_TIMEOUT,
            decode_responses=True,
            driver_info=None,
        )
        try:
            config = await replica.config_get("appendonly")
        except (RedisError, OSError):
            return True  # unreachable from here or CONFIG disabled: WAITAOF will tell
        finally:
            await replica.aclose()
        return config.get("appendonly") == "yes"


def _entry(raw: Any) -> Entry:
    entry_id, fields = raw
    return entry_id, decode_event(fields["k"], fields["d"])
