"""A full collection once a storm of connections has passed (issue 8: memory after a storm).

`halyq serve` collects the older generations of objects almost never (`GC_THRESHOLDS`): with
thousands of long-lived connections, each such collection scans them all and holds the event
loop. But the libraries under a socket (uvicorn's HTTP protocol and its parser, for one) leave
cycles behind when it closes, and those are freed only by a full collection: after a reconnect
storm, thousands of them. So the hub counts connections that come and go, and once many went
and the coming and going has been quiet for a moment, it runs one full collection: one pause
after a storm, instead of memory that only ever grows.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

logger = logging.getLogger(__name__)

SWEEP_AFTER = 500  # connections gone since the last sweep
QUIET = 2.0  # seconds with no connection coming or going before the sweep


class Sweeper:
    """Counts connections that leave; sweeps once enough left and the churn stopped."""

    def __init__(self, after: int = SWEEP_AFTER, quiet: float = QUIET) -> None:
        self.after = after
        self.quiet = quiet
        self.gone = 0
        self.sweeps = 0
        self._moved = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None

    def moved(self) -> None:
        """A connection came: the storm may not be over."""
        self._moved = time.monotonic()

    def left(self) -> None:
        self.moved()
        self.gone += 1
        if self.gone >= self.after and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.quiet, self._when_quiet)

    def _when_quiet(self) -> None:
        wait = self._moved + self.quiet - time.monotonic()
        if wait > 0:  # still coming and going: look again when it may have stopped
            self._timer = asyncio.get_running_loop().call_later(wait, self._when_quiet)
            return
        self._timer = None
        gone, self.gone = self.gone, 0
        began = time.perf_counter()
        found = gc.collect()
        self.sweeps += 1
        logger.info(
            "swept memory after %d connections left: %d objects freed in %.0f ms",
            gone, found, (time.perf_counter() - began) * 1000,
        )  # fmt: skip

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
