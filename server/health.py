"""Whether the record is usable now, and every open socket told when that changes.

`Health` pings Redis twice a second with a short timeout, checks its durability every few
seconds, and, for the embedded Redis, hears its supervisor (`server/store/embedded.py`). Each
change is logged, sets `halyq_redis_up`, goes to every viewer and console socket of this process
as a `status` frame (docs/protocol.md), and is what `/readyz` reports (FLT-1, FLT-5, FLT-7,
DUR-2). Details are short English for the public: never a file path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import math
import re
import time
from dataclasses import dataclass

from server.fanout.hub import Hub
from server.metrics import Metrics
from server.store import Durability, DurabilityReport, Store, StoreUnavailable
from server.store.embedded import EmbeddedRedis, State, Supervision
from server.wire import dumps

logger = logging.getLogger(__name__)

LOOK_EVERY = 0.5  # seconds between two looks (a change the supervisor reports is seen at once)
PING_TIMEOUT = 0.8  # a PING that takes longer is a miss, unless Redis answered meanwhile
MISSES = 2  # misses in a row that find Redis unreachable: one slow PING over a slow link (FLT-2)
# is no outage, and two still tell everyone within 3 s of a partition (FLT-5)
DURABILITY_EVERY = 2.0  # someone may `CONFIG SET appendfsync everysec` at any time (DUR-2)
DURABILITY_TIMEOUT = 2.0  # a slower check keeps what the last one found
DETAIL_MAX = 200
PATH = re.compile(r"\S*/\S*")  # anything with a slash may be a path: not for the public
DRAINING = "draining"  # `/readyz`'s reason while the node stops (SIGTERM; issue 15)


class Reason(enum.StrEnum):
    """Why the record is not usable: the `reason` of a degraded `status` frame."""

    REDIS_UNREACHABLE = "redis_unreachable"  # no answer to PING in time
    REDIS_NOT_DURABLE = "redis_not_durable"  # acks would not survive a crash (DUR-2)
    REDIS_START_FAILED = "redis_start_failed"  # the embedded Redis fails to start (FLT-7)
    REDIS_RESTARTING = "redis_restarting"  # the embedded Redis died and is being started again
    # Fewer replicas can confirm an append than HALYQ_MIN_REPLICAS: no ack can be given (issue 15)
    REDIS_REPLICAS_MISSING = "redis_replicas_missing"


@dataclass(frozen=True, slots=True)
class Status:
    """The record's state: usable (`reason` None) or degraded, with a short public detail."""

    reason: Reason | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None

    def frame(self) -> str:
        """The `status` frame every socket gets (docs/protocol.md)."""
        if self.reason is None:
            return dumps({"type": "status", "state": "ok"})
        return dumps(
            {"type": "status", "state": "degraded", "reason": self.reason, "detail": self.detail}
        )


OK = Status()


def public(text: str) -> str:
    """`text` without anything that may be a file path, and short."""
    return PATH.sub("…", text)[:DETAIL_MAX]


class Health:
    """The record's usability as this process sees it, kept by `watch` (a lifespan task)."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        metrics: Metrics,
        *,
        supervisor: EmbeddedRedis | None = None,
        accept_nondurable: bool = False,
        node: str = "",
    ) -> None:
        self.node = node  # this node's name, in `/readyz` (HALYQ_NODE_NAME)
        self.draining = False  # SIGTERM: `/readyz` answers 503 so the balancer looks elsewhere
        self.asked_at = -math.inf  # when `/readyz` was last asked (monotonic): a balancer's check
        self.store = store
        self.hub = hub
        self.metrics = metrics
        self.supervisor = supervisor
        self.accept_nondurable = accept_nondurable
        self.status = OK
        self._heard: collections.deque[Supervision] = collections.deque()
        self._woken = asyncio.Event()
        self._durability_due = 0.0
        self._misses = 0
        self._restarts = supervisor.supervision.restarts if supervisor is not None else 0

    @property
    def usable(self) -> bool:
        """Whether comments can be recorded now (read-only; the submit path may consult it)."""
        return self.status.ok

    def drain(self) -> None:
        """The node is stopping (`halyq serve` got SIGTERM): from now on `/readyz` answers 503
        `draining`, so that the balancer's health checks send new viewers to the other nodes
        before this one stops listening. Comments are still taken meanwhile."""
        self.draining = True
        logger.warning("draining: /readyz answers 503 until this node stops")

    def asked(self) -> None:
        """`/readyz` was asked (a load balancer's health check, as a rule)."""
        self.asked_at = time.monotonic()

    def checked_within(self, seconds: float) -> bool:
        """Whether someone asked `/readyz` in the last `seconds`: a balancer that would see a
        drain coming. Nobody checks a lone node, and it need not wait for anyone."""
        return time.monotonic() - self.asked_at <= seconds

    def greeting(self) -> str | None:
        """The frame a socket that connects now gets right after its hello: None while ok."""
        return None if self.status.ok else self.status.frame()

    async def watch(self) -> None:
        """Look now, then every `LOOK_EVERY` or as soon as the supervisor reports a change."""
        loop = asyncio.get_running_loop()

        def heard(supervision: Supervision) -> None:  # in the supervisor's thread
            loop.call_soon_threadsafe(self._hear, supervision)

        if self.supervisor is not None:
            self.supervisor.listen(heard)
        try:
            while True:
                try:
                    await self.look()
                except Exception:  # a bug here must not end the watch: log it, look again
                    logger.exception("the health check failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOOK_EVERY):
                        await self._woken.wait()
                self._woken.clear()
        finally:
            if self.supervisor is not None:
                self.supervisor.unlisten(heard)

    def _hear(self, supervision: Supervision) -> None:
        self._heard.append(supervision)
        self._woken.set()

    async def look(self) -> Status:
        """Find the state now and tell everyone if it changed.

        What the supervisor went through since the last look is told first, in order: a
        restart quicker than a look still reaches every socket (degraded, then ok), so that
        clients send again what was refused meanwhile.
        """
        while self._heard:
            change = self._heard.popleft()
            self._count_restarts(change.restarts)
            if change.state is not State.RUNNING:
                self._become(_of_supervisor(change))
        status = await self._now()
        self._become(status)
        return status

    async def _now(self) -> Status:
        up = self.metrics.redis_up
        if self.supervisor is not None:
            supervision = self.supervisor.supervision
            self._count_restarts(supervision.restarts)
            if supervision.state is not State.RUNNING:
                up.set(0)
                return _of_supervisor(supervision)
        if not await self._answers():
            self._misses += 1
            if self._misses < MISSES and self.status.ok:
                return self.status
            up.set(0)
            self._durability_due = 0.0  # a Redis that comes back may be another (a failover)
            return Status(Reason.REDIS_UNREACHABLE, "Redis does not answer")
        self._misses = 0
        with contextlib.suppress(StoreUnavailable, TimeoutError):
            async with asyncio.timeout(DURABILITY_TIMEOUT):
                await self._check_durability()
        durability = self.store.durability
        durable = durability.mode is not Durability.NONE
        up.set(1 if durable else 0)
        if not durable and not self.accept_nondurable:
            return Status(Reason.REDIS_NOT_DURABLE, public(durability.detail))
        if durability.replicas_missing:  # a node that cannot ack must not get traffic
            return Status(Reason.REDIS_REPLICAS_MISSING, public(_replicas(durability)))
        return OK

    async def _answers(self) -> bool:
        """Whether Redis answers: its PING in time, or anything else asked meanwhile (over a
        slow link a PING may wait behind other commands that are being answered: FLT-2)."""
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.store.ping()
        except (StoreUnavailable, TimeoutError):
            return self.store.answered_within(PING_TIMEOUT)
        return True

    async def _check_durability(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._durability_due:
            return
        before = self.store.durability.mode
        report = await self.store.check_durability()
        self._durability_due = loop.time() + DURABILITY_EVERY
        if report.mode is not before:
            announce(report)

    def _count_restarts(self, restarts: int) -> None:
        if restarts > self._restarts:
            self.metrics.redis_restarts.inc(restarts - self._restarts)
            self._restarts = restarts

    def _become(self, status: Status) -> None:
        if status == self.status:
            return
        self.status = status
        if status.ok:
            logger.warning("the record is usable again: comments are accepted")
        else:
            logger.error(
                "THE RECORD IS NOT USABLE (%s: %s): comments are refused until it is",
                status.reason,
                status.detail,
            )
        told = self.hub.tell_everyone(status.frame())
        logger.info("%d sockets told the record is %s", told, "ok" if status.ok else "degraded")


def _replicas(durability: DurabilityReport) -> str:
    return (
        f"{durability.replicas_connected} of the {durability.replicas_required} replicas"
        f" HALYQ_MIN_REPLICAS requires can confirm appends: {durability.replicas_detail}"
    )


def _of_supervisor(supervision: Supervision) -> Status:
    """The supervisor's words (Redis's own, from its log) without any path."""
    if supervision.state is State.RESTARTING:
        return Status(Reason.REDIS_RESTARTING, public(f"{supervision.detail}; starting it again"))
    return Status(Reason.REDIS_START_FAILED, public(supervision.detail))


def announce(report: DurabilityReport) -> None:
    """Say how durable acks are: loudly when they are not (DUR-2)."""
    if report.mode is Durability.NONE:
        logger.error(
            "REDIS IS NOT DURABLE: acknowledged comments could be lost (%s). Comments are"
            " refused until this is fixed; /readyz says so.",
            report.detail,
        )
    else:
        logger.info("Redis durability: %s (%s)", report.mode.value, report.detail)
