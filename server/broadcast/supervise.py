"""One supervised ffmpeg fed by a meeting's relay (issue 16): started, watched, restarted with
backoff when it dies or cannot keep up, ended by its PID. The ingest (our HLS and the
recording) and each restream destination are one each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from server.broadcast.ffmpeg import Backoff, Ffmpeg
from server.broadcast.relay import Relay, Sink

logger = logging.getLogger("halyq.broadcast")

HEALTHY_SECONDS = 30.0  # running this long resets the backoff
LIVE_SECONDS = 2.0  # running and consuming this long: "live"


class Supervised:
    """The loop around one ffmpeg. Subclasses give its command and hear of each start and end.
    `state`: connecting -> live -> retrying -> ... -> stopped."""

    label = "ffmpeg"
    shift = True

    def __init__(self, relay: Relay, clock: Callable[[], float], urls: list[str]) -> None:
        self.relay, self.clock, self.urls = relay, clock, urls
        self.state = "connecting"
        self.restarts = 0
        self.error = ""
        self.retry_at = 0  # wall-clock ms of the next start while retrying
        self.sink: Sink | None = None
        self.process: Ffmpeg | None = None
        self._started = 0.0
        self._stopping = asyncio.Event()
        self._graceful = True
        self._backoff = Backoff()
        self._task = asyncio.create_task(self._run())

    def command(self) -> list[str]:
        raise NotImplementedError

    def began(self, sink: Sink) -> None:
        """A new ffmpeg was started and fed by `sink`."""

    def ended(self, sink: Sink) -> None:
        """That ffmpeg has exited."""

    def on_media(self, sink: Sink) -> None:
        """The first media tag went to `sink`."""

    def bitrate_kbps(self) -> int:
        return self.sink.rate.kbps() if self.sink and self.state != "stopped" else 0

    def poll(self) -> None:
        """Called every half second: running and consuming for 2 s is "live"."""
        sink = self.sink
        consuming = sink is not None and sink.written > 0
        if self.state == "connecting" and consuming and self._running() >= LIVE_SECONDS:
            self.state = "live"

    def _running(self) -> float:
        return time.monotonic() - self._started

    async def stop(self, graceful: bool = True) -> None:
        """Ends it: `graceful` lets ffmpeg take what is queued and finish its files."""
        self._graceful = graceful
        self._stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.state = "stopped"

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self._once()
            if self._stopping.is_set():
                break
            if self._running() >= HEALTHY_SECONDS:
                self._backoff.reset()
            delay = self._backoff.next()
            self.state, self.restarts = "retrying", self.restarts + 1
            self.retry_at = int((self.clock() + delay) * 1000)
            logger.warning("%s stopped (%s); again in %.1f s", self.label, self.error, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            self.state, self.retry_at = "connecting", 0

    async def _once(self) -> None:
        """One ffmpeg from start to exit."""
        self._started = time.monotonic()
        try:
            process = await Ffmpeg.start(self.command(), self.label, self.urls)
        except OSError as error:
            self.error = f"cannot start ffmpeg: {error.strerror or error}"
            return
        sink = Sink(process.stdin, shift=self.shift, clock=self.clock, on_media=self.on_media)
        self.process, self.sink = process, sink
        self.relay.attach(sink)
        self.began(sink)
        exited = asyncio.create_task(process.wait())
        failed = asyncio.create_task(sink.failed.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait((exited, failed, stopping), return_when=asyncio.FIRST_COMPLETED)
        for task in (failed, stopping):
            task.cancel()
        self.relay.detach(sink)
        if self._stopping.is_set() and self._graceful and not sink.failure:
            await sink.finish()
        sink.cancel()
        clean = self._stopping.is_set() and self._graceful
        await process.stop(exit_seconds=3.0 if clean else 0.5)
        exited.cancel()
        if not self._stopping.is_set():
            code = process.process.returncode
            self.error = sink.failure or process.last_line or f"ffmpeg exited with {code}"
        self.ended(sink)
