"""What every use case works with: the store, the per-process folds of the record, the clock,
and the limits of submissions (their time, per address, in flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from server.metrics import Metrics
from server.store import Durability, Store
from server.usecases.clock import Clocks, Warner
from server.usecases.outcomes import Asked, Held, Posted
from server.usecases.questions import Questions
from server.usecases.report import Reports
from server.usecases.rundown import Rundowns

# Submissions one process has on their way to the record at most (OVL-2): past it, new ones
# are answered `overloaded` at once (they would only wait for a pooled connection).
MAX_IN_FLIGHT = 256
MAX_LAG = 0.25  # seconds late the event loop runs a timer when the process is past its capacity
LAG_TICK = 0.025
MAX_UNSETTLED = 10_000
MAX_RECORDED = 20_000
V = TypeVar("V")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Lag:
    """How late this process's event loop runs a timer, now. A process past its capacity (more
    frames arrive than it can work through) shows it here first: its loop runs late while
    Redis is idle and nothing is in flight. Past `MAX_LAG`, new submissions are answered
    `overloaded` at once, which costs far less than recording and fanning them out (OVL-2)."""

    __slots__ = ("_loop", "late")

    def __init__(self) -> None:
        self.late = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def is_over(self) -> bool:
        return self.late > MAX_LAG

    def watch(self) -> None:
        """Start watching the running loop (once; a timer callback, no task)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._tick(loop, loop.time())

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self.late = max(0.0, now - due)
        loop.call_at(now + LAG_TICK, self._tick, loop, now + LAG_TICK)


class Recent(Generic[V]):
    """A bounded map of what this process learnt about submissions, by (meeting id,
    client_msg_id); the oldest is forgotten first."""

    __slots__ = ("_items", "_size")

    def __init__(self, size: int) -> None:
        self._items: dict[tuple[str, str], V] = {}
        self._size = size

    def put(self, key: tuple[str, str], value: V) -> None:
        self._items.pop(key, None)
        self._items[key] = value
        if len(self._items) > self._size:
            del self._items[next(iter(self._items))]

    def pop(self, key: tuple[str, str]) -> None:
        self._items.pop(key, None)

    def get(self, key: tuple[str, str]) -> V | None:
        return self._items.get(key)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._items


@dataclass(slots=True, kw_only=True)
class UseCases:
    """The one way in: every channel submits through it and every staff action acts through it.

    Each use case loads what its decision needs, lets the domain decide and build the events,
    and hands them to the store, whose script only checks guards and appends atomically.
    """

    store: Store
    metrics: Metrics = field(default_factory=Metrics)
    accept_nondurable: bool = False
    clock: Callable[[], int] = now_ms
    # Each submission is answered within `ack_timeout` seconds (HALYQ_ACK_TIMEOUT).
    ack_timeout: float = 2.0
    # Slow mode per address, beside the one per viewer (HALYQ_ADDRESS_COMMENTS_PER_MINUTE, ...).
    address_comments_per_minute: int = 120
    address_comment_burst: int = 30
    max_in_flight: int = MAX_IN_FLIGHT
    in_flight: int = field(init=False, default=0)
    lag: Lag = field(init=False, default_factory=Lag)
    # Sent to the record with no answer in time: a resend is never rejected until it is settled.
    unsettled: Recent[bool] = field(init=False, default_factory=lambda: Recent(MAX_UNSETTLED))
    # Recorded, as this process answered: a resend refused as overload still gets its ack.
    recorded: Recent[Posted | Held | Asked] = field(
        init=False, default_factory=lambda: Recent(MAX_RECORDED)
    )
    questions: Questions = field(init=False)
    reports: Reports = field(init=False)
    clocks: Clocks = field(init=False)  # R4: each meeting's clock, folded from its record
    rundowns: Rundowns = field(init=False)  # issue 9: each meeting's board and rundown, folded
    warner: Warner = field(init=False)  # appends the clock's warnings (run by the app)

    def __post_init__(self) -> None:
        self.questions = Questions(self.store.record)
        self.reports = Reports(self.store.record)
        self.clocks = Clocks(self.store.record)
        self.rundowns = Rundowns(self.store.record)
        self.warner = Warner(self)

    @property
    def is_overloaded(self) -> bool:
        """Past its capacity: too many submissions on their way to the record, or the event loop
        running late (this process cannot keep up). New submissions are then answered
        `overloaded` at once (OVL-2); a connection sending faster than it is answered is
        refused the same way by its socket (`server/web/viewer.py`)."""
        return self.in_flight >= self.max_in_flight or self.lag.is_over

    @property
    def durable(self) -> bool:
        """Whether an ack may be given: the record is durable, or the operator said to accept
        the risk (`HALYQ_ACCEPT_NONDURABLE`)."""
        return self.store.durability.mode is not Durability.NONE or self.accept_nondurable
