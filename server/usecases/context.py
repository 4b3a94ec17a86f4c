"""What every use case works with: the store, the per-process folds of the record, the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.metrics import Metrics
from server.store import Durability, Store
from server.usecases.questions import Questions
from server.usecases.report import Reports


def now_ms() -> int:
    return time.time_ns() // 1_000_000


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
    questions: Questions = field(init=False)
    reports: Reports = field(init=False)

    def __post_init__(self) -> None:
        self.questions = Questions(self.store.record)
        self.reports = Reports(self.store.record)

    @property
    def durable(self) -> bool:
        """Whether an ack may be given: the record is durable, or the operator said to accept
        the risk (`HALYQ_ACCEPT_NONDURABLE`)."""
        return self.store.durability.mode is not Durability.NONE or self.accept_nondurable
