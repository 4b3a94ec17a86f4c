"""The Redis client every adapter shares, the errors they raise (`StoreUnavailable`, and
`Unanswered` when a write went out and no reply came), and the circuit breaker of submissions."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as LinkError
from redis.exceptions import MovedError, RedisError, ResponseError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Redis = aioredis.Redis
SOCKET_TIMEOUT = 5.0
# A dropped connection is tried again a few times, quickly: a Redis that is down is reported
# within a fraction of a second instead of after redis-py's default ten tries (~3 s).
RETRIES = 3
RETRY_CAP = 0.25
PROBE_TIMEOUT = 2.0  # a probe that takes longer finds the record still unusable
TRIP_AFTER = 3  # failed submissions in a row (timeouts, failed links) that open the breaker
# ... and only if nothing at all came back from Redis for this long: a slow or flaky link that
# still answers (other writes, the feeds' reads, the health PING) is no outage (FLT-2).
QUIET_BEFORE_TRIP = 0.5
PROBE_WAIT = 0.1  # how long the submission that started a probe waits for it
PROBES_ON_DEMAND = 2.0  # per second, started by submissions that find the breaker open


# Every connection this process made, to find one still open when its event loop ends.
_MADE: weakref.WeakSet[Any] = weakref.WeakSet()


class _Pool(aioredis.BlockingConnectionPool):
    """The bounded pool, remembering the connections it makes (see `close_left_open`)."""

    def make_connection(self) -> Any:
        return made(super().make_connection())  # type: ignore[no-untyped-call]


def made(conn: Any) -> Any:
    """`conn`, remembered among the connections this process made (see `close_left_open`);
    for every pool that makes them (`server/store/sentinel.py` too)."""
    _MADE.add(conn)
    return conn


def close_left_open(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Close this process's connections still open on `loop`, which is ending, and name them.

    A connection nobody closed before its loop ended is otherwise closed by the garbage
    collector at some later moment, with "unclosed Connection" warnings far from its cause.
    """
    closed = []
    for conn in list(_MADE):
        writer = getattr(conn, "_writer", None)
        if writer is None or getattr(writer, "_loop", None) is not loop:
            continue
        closed.append(repr(conn))
        writer.close()
        conn._writer = conn._reader = None
    return closed


class StoreUnavailable(Exception):
    """Redis cannot be reached or refuses writes; nothing was acknowledged."""


class Unanswered(StoreUnavailable):
    """A write left this process whole and no reply came: it may have run or not. Only a read
    of the record (or the write sent again, behind its idempotency guard) can tell."""


def translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Redis's and the socket's errors, as `StoreUnavailable`: callers know only that one."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as error:
            raise StoreUnavailable(f"{type(error).__name__}: {error}") from error

    return wrapper


def connect(url: str, connections: int) -> Redis:
    """A client with a bounded pool: a reconnect storm waits for a connection instead of
    opening thousands of them. Blocking reads must stay well under the socket timeout.

    `redis+sentinel://host:port,host:port/master` follows the primary the Sentinels name
    (`server/store/sentinel.py`); `redis+cluster://host:port,...` is a Redis Cluster
    (`server/store/cluster.py`); issue 15."""
    if url.startswith("redis+sentinel://"):
        from server.store import sentinel

        return sentinel.connect(url, connections)
    if url.startswith("redis+cluster://"):
        from server.store import cluster

        return cluster.connect(url, connections)
    pool = _Pool.from_url(
        url,
        max_connections=connections,
        timeout=SOCKET_TIMEOUT,
        decode_responses=True,
        health_check_interval=10,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=RETRY_CAP), RETRIES),
        # No CLIENT SETINFO on connecting: a round trip more before a new connection's first
        # command, which over a slow link is what a write resent after a reset waits (FLT-2).
        driver_info=None,
    )
    return aioredis.Redis(connection_pool=pool)


async def disconnect(client: Redis) -> None:
    await client.aclose()
    if not clustered(client):  # a cluster's client closes its nodes' own pools
        await client.connection_pool.disconnect()


# One write, once


@dataclass(slots=True)
class Attempt:
    """One write's trip to Redis. `sent` turns true once the command has left this process
    whole: before that, any failure (a timeout included) means it never ran."""

    sent: bool = False


async def call_once(
    client: Redis, commands: Sequence[Sequence[Any]], attempt: Attempt
) -> list[Any]:
    """Send `commands` together on one pooled connection and read their replies, never sending
    anything twice (redis-py would resend after a timeout). A Redis error reply is returned as
    a `ResponseError` value. Raises `Unanswered` when they were sent and the link failed, and
    leaves no half-read connection in the pool however it ends (a cancellation included).

    On a Redis Cluster they go to the node owning the first command's first key (issue 15)."""
    if clustered(client):
        return await _once_in_cluster(client, commands, attempt)
    return await _once_on(client.connection_pool, commands, attempt)


async def _once_on(pool: Any, commands: Sequence[Sequence[Any]], attempt: Attempt) -> list[Any]:
    """`call_once` on the connections of `pool` (a bounded pool, or a cluster node's)."""
    try:
        conn = await pool.get_connection()
    except RuntimeError as error:  # under uvloop, a connection reset during its handshake
        if attempt.sent:
            raise Unanswered(f"{type(error).__name__}: {error}") from error
        raise LinkError(f"the connection was closed: {error}") from error
    try:
        await conn.send_packed_command(conn.pack_commands(commands))
        attempt.sent = True  # a failure while writing leaves at most a partial command: not run
        return [await _reply(conn) for _ in commands]
    except (RedisError, OSError, RuntimeError) as error:  # uvloop: "the handler is closed"
        await conn.disconnect(nowait=True)
        if attempt.sent:
            raise Unanswered(f"{type(error).__name__}: {error}") from error
        if isinstance(error, RuntimeError):
            raise LinkError(f"the connection was closed: {error}") from error
        raise
    except BaseException:
        await conn.disconnect(nowait=True)  # cancelled mid-reply: the connection is out of step
        raise
    finally:
        await pool.release(conn)


def clustered(client: object) -> bool:
    """Whether `client` is a Redis Cluster's (`server/store/cluster.py`)."""
    return isinstance(client, RedisCluster)


MAX_REDIRECTS = 2  # MOVED replies followed by one write (a resharding moved its slot)


class _Node:
    """A cluster node's connections, lent and taken back as a bounded pool's are."""

    def __init__(self, node: Any) -> None:
        self._node = node

    async def get_connection(self) -> Any:
        return self._node.acquire_connection()  # connects on the first send

    async def release(self, conn: Any) -> None:
        self._node.release(conn)


async def _once_in_cluster(
    client: Any, commands: Sequence[Sequence[Any]], attempt: Attempt
) -> list[Any]:
    """`call_once` on the node that owns the write's slot. A MOVED reply to the write (its
    slot moved to another node in a resharding) means that node ran nothing of it: the slot
    map is updated and the write sent to the new owner, at most `MAX_REDIRECTS` times; an ASK
    reply (a slot half-way through a move) is returned as the write's reply, which the record
    reports as not recorded."""
    await client.initialize()  # loads the slot map once
    key = first_key(commands[0])
    replies = await _once_on(_Node(client.get_node_from_key(key)), commands, attempt)
    for _ in range(MAX_REDIRECTS):
        if not isinstance(replies[0], MovedError):
            break
        logger.warning("the write's slot moved (%s): sent again to its new node", replies[0])
        attempt.sent = False  # the node that answered MOVED ran nothing of it
        await client.nodes_manager.move_slot(replies[0])
        replies = await _once_on(_Node(client.get_node_from_key(key)), commands, attempt)
    return replies


def first_key(command: Sequence[Any]) -> str:
    """The key a command is routed by in a cluster: a script's first key, else its first
    argument."""
    if str(command[0]).upper() in ("EVAL", "EVALSHA") and int(command[2]) > 0:
        return str(command[3])
    return str(command[1])


async def _reply(conn: Any) -> Any:
    try:
        return await conn.read_response()
    except ResponseError as error:  # a whole reply: the connection is still in step
        return error


# The breaker


class RedisClock:
    """This process's monotonic clock read as Redis's (`TIME`): a write's deadline is checked by
    Redis against its own clock. Measured at first contact and now and then; until then it
    assumes Redis shares this machine's wall clock (the embedded one does)."""

    def __init__(self) -> None:
        self.offset_ms = (time.time() - time.monotonic()) * 1000

    def measured(self, before: float, reply: Sequence[Any], after: float) -> None:
        """Take Redis's `TIME` `reply`, read between the monotonic times `before` and `after`."""
        redis_ms = int(reply[0]) * 1000 + int(reply[1]) / 1000
        self.offset_ms = redis_ms - (before + after) * 500

    def at(self, monotonic: float) -> int:
        """The moment `monotonic` (seconds, `time.monotonic()`) in Redis's milliseconds."""
        return round(monotonic * 1000 + self.offset_ms)


class Liveness:
    """When Redis last answered anything this process asked, on any connection: a write, a
    feed's read (a blocking read that ends empty is an answer too), a PING. Shared by the
    breaker and the health monitor, so that neither takes a slow link for a dead one."""

    def __init__(self) -> None:
        self.last = -float("inf")  # time.monotonic() of the last answer

    def heard(self) -> None:
        self.last = time.monotonic()

    def heard_within(self, seconds: float) -> bool:
        return time.monotonic() - self.last <= seconds


class Breaker:
    """Open after `TRIP_AFTER` submissions in a row timed out or found their link failed, with
    no answer from Redis on any connection for `QUIET_BEFORE_TRIP` (a slow or flaky link that
    still answers never opens it): while open, writes are not sent at all (their senders are
    told at once, and finally, that nothing was recorded) until Redis is heard again, on any
    connection or by a probe on a fresh one.

    Submissions drive the probes: one that finds the breaker open with no probe running starts
    one (at most `PROBES_ON_DEMAND` a second) and waits `PROBE_WAIT` for it; the others are
    answered at once. So the first comment after Redis is back goes through, a stall costs a
    few senders a tenth of a second each, and nothing runs in the background but a probe.
    """

    def __init__(self, client: Redis, clock: RedisClock, liveness: Liveness) -> None:
        self._client = client
        self._clock = clock
        self._liveness = liveness
        self.is_open = False
        self._opened = 0.0
        self._failures = 0
        self._probe: asyncio.Task[bool] | None = None
        self._tokens = PROBES_ON_DEMAND
        self._refilled = time.monotonic()

    def failed(self, why: str) -> None:
        """A submission's write got no answer in time, or its link failed."""
        self._failures += 1
        if self._failures >= TRIP_AFTER and not self._liveness.heard_within(QUIET_BEFORE_TRIP):
            self._trip(why)

    def succeeded(self) -> None:
        """The record answered a submission's write."""
        self._liveness.heard()
        self._failures = 0
        self._close()

    def _trip(self, why: str) -> None:
        if self.is_open:
            return
        self.is_open = True
        self._opened = time.monotonic()
        logger.warning(
            "the record stopped answering (%s): comments are refused `unavailable` without"
            " being sent until a probe answers",
            why,
        )

    async def admit(self) -> None:
        """Return when a write may be sent; raises `StoreUnavailable` while the record is known
        to be unusable (the write was not sent)."""
        if self.is_open and self._liveness.last > self._opened:
            self._close()  # Redis answered something since the breaker opened
        if not self.is_open:
            return
        probing = self._probe is not None and not self._probe.done()
        if probing or not self._spend():
            raise StoreUnavailable("the record is not answering")
        self._probe = probe = asyncio.get_running_loop().create_task(self._ping())
        await asyncio.wait([probe], timeout=PROBE_WAIT)  # the probe goes on, for the next ones
        if not probe.done() or not probe.result():
            raise StoreUnavailable("the record is not answering")

    def _spend(self) -> bool:
        now = time.monotonic()
        elapsed = now - self._refilled
        self._tokens = min(PROBES_ON_DEMAND, self._tokens + elapsed * PROBES_ON_DEMAND)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def _ping(self) -> bool:
        """Ask Redis the time on a connection of its own (the pool's may all be stuck), once:
        an answer closes the breaker and measures the clock again (it may be another Redis)."""
        pool: Any = _probed(self._client)
        conn: Any = pool.connection_class(
            **(pool.connection_kwargs | {"retry": Retry(NoBackoff(), 0)})
        )
        _MADE.add(conn)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await conn.connect()
                before = time.monotonic()
                await conn.send_command("TIME", check_health=False)
                reply = await conn.read_response()
                self._clock.measured(before, reply, time.monotonic())
        except (RedisError, OSError, TimeoutError):
            return False
        finally:
            await conn.disconnect(nowait=True)
        self._liveness.heard()
        self._failures = 0
        self._close()
        return True

    def _close(self) -> None:
        if self.is_open:
            self.is_open = False
            logger.warning("the record answers again: comments are sent to it again")


def _probed(client: Any) -> Any:
    """What a probe connects to: the pool's server, or a cluster's node that the client knows
    first (any node answers TIME)."""
    if not clustered(client):
        return client.connection_pool
    nodes: Any = client.nodes_manager
    return nodes.default_node or next(iter(nodes.startup_nodes.values()))
