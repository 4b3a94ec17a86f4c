"""One meeting's media handed to every ffmpeg it feeds (issue 16): the relay keeps the metadata
and the codecs' sequence headers, so a sink that joins late starts with them, then from the
next video keyframe. Writes are bounded: a sink that cannot keep up fails alone, and its
supervisor restarts it; the studio and the other sinks never wait for it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from server.broadcast.flv import AUDIO, DATA, HEADER, VIDEO, Tag

STALL_SECONDS = 2.0  # a pipe full for longer: the sink is restarted
MAX_QUEUED = 8 * 1024 * 1024  # bytes waiting for a sink; past this it is restarted


class Rate:
    """Bytes over the last `window` seconds, as kbit/s."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, size: int) -> None:
        now = time.monotonic()
        self._samples.append((now, size))
        self._trim(now)

    def kbps(self) -> int:
        self._trim(time.monotonic())
        return int(sum(size for _, size in self._samples) * 8 / self.window / 1000)

    def _trim(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self.window:
            self._samples.popleft()


class Sink:
    """One ffmpeg's standard input, fed by the relay from a keyframe on. `shift`: timestamps
    continue across the studio's parts (a destination lives across them); else they are the
    studio's own (the ingest ffmpeg is one per part)."""

    def __init__(
        self, stdin: asyncio.StreamWriter, *, shift: bool, clock: Callable[[], float],
        on_media: Callable[[Sink], None] = lambda sink: None,
    ) -> None:  # fmt: skip
        self.stdin, self.shift, self.clock, self.on_media = stdin, shift, clock, on_media
        self.started = False
        self.failure = ""  # why it failed; "" while healthy
        self.failed = asyncio.Event()
        self.written = 0  # bytes ffmpeg has taken
        self.rate = Rate()
        self.first_ts = self.last_ts = -1  # media timestamps written (ms)
        self.first_at = self.last_at = 0  # wall-clock ms of those tags
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._finishing = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._write())

    def offer(self, tag: Tag, headers: list[Tag], has_video: bool, at: int = 0) -> None:
        """Queues `tag`, which arrived at wall-clock ms `at` (a sink starts at a keyframe, or
        at once for audio alone, after the cached headers retimed to it); never waits."""
        if self.failure or self._finishing:
            return
        if not self.started:
            if not (tag.keyframe or (tag.kind == AUDIO and not has_video)) or tag.sequence_header:
                return
            self.started = True
            self._put(
                HEADER + b"".join(Tag(h.kind, tag.timestamp, h.data).encode() for h in headers)
            )
        if tag.kind != DATA:
            self._media(tag, at or int(self.clock() * 1000))
        self._put(tag.encode())

    def _media(self, tag: Tag, now: int) -> None:
        if self.first_ts < 0:
            self.first_ts, self.first_at = tag.timestamp, now
            self.on_media(self)
        self.last_ts, self.last_at = tag.timestamp, now

    def _put(self, data: bytes) -> None:
        self._queue.append(data)
        self._queued += len(data)
        self._wake.set()
        if self._queued > MAX_QUEUED:
            self.fail(f"more than {MAX_QUEUED // 1024 // 1024} MiB queued")

    def fail(self, why: str) -> None:
        """Marks it failed: its supervisor restarts its ffmpeg."""
        if not self.failure:
            self.failure = why
            self._queue.clear()
            self.failed.set()
            self._wake.set()

    async def finish(self) -> None:
        """Writes what is queued, then closes ffmpeg's input (it finishes its files)."""
        self._finishing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STALL_SECONDS)
        except TimeoutError:
            self._task.cancel()

    def cancel(self) -> None:
        self._task.cancel()

    async def _write(self) -> None:
        try:
            while not self.failure:
                if not self._queue:
                    if self._finishing:
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                chunk = b"".join(self._queue)
                self._queue.clear()
                self.stdin.write(chunk)
                await asyncio.wait_for(self.stdin.drain(), STALL_SECONDS)
                self._queued -= len(chunk)
                self.written += len(chunk)
                self.rate.add(len(chunk))
        except TimeoutError:
            self.fail(f"its input was full for more than {STALL_SECONDS:g} s")
        except (ConnectionError, RuntimeError, OSError):
            self.fail("it closed its input")
        if not self.failure:
            self.stdin.close()


class Relay:
    """One meeting's tags to its sinks. A new part (the studio back) resets the cached headers
    and moves the shifted clock on by the wall-clock gap, so a destination's timestamps keep
    rising across parts. It also keeps the tags since the last keyframe (the GOP), so a sink
    attached now starts at once rather than at the next keyframe: a part's first keyframe is not
    lost while its ffmpeg starts."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.sinks: list[Sink] = []
        self._gop: list[tuple[Tag, int]] = []  # since the last keyframe, with arrival ms
        self._gop_bytes = 0
        self._headers: dict[int, Tag] = {}
        self._offset = 0
        self._last_out = -1  # the last shifted timestamp sent
        self._gap_ms: int | None = None
        self._last_wall = 0.0

    def begin_part(self) -> None:
        """The studio is back (or here for the first time): a new timeline follows."""
        self._headers.clear()
        self._gop.clear()
        self._gap_ms = (
            int((time.monotonic() - self._last_wall) * 1000) if self._last_out >= 0 else 0
        )

    def push(self, tag: Tag) -> None:
        """Hands `tag` to every sink; never waits."""
        if self._gap_ms is not None:  # the first tag of a part fixes its offset
            start = self._last_out + max(self._gap_ms, 1) if self._last_out >= 0 else 0
            self._offset, self._gap_ms = start - tag.timestamp, None
        if tag.sequence_header:
            self._headers[tag.kind] = tag
        at = int(self.clock() * 1000)
        self._keep(tag, at)
        shifted = tag.shifted(self._offset)
        self._last_out, self._last_wall = max(self._last_out, shifted.timestamp), time.monotonic()
        headers, has_video = self._cached()
        for sink in list(self.sinks):
            sink.offer(shifted if sink.shift else tag, headers, has_video, at)

    def _keep(self, tag: Tag, at: int) -> None:
        if tag.keyframe and not tag.sequence_header:
            self._gop.clear()
            self._gop_bytes = 0
        if (self._gop or tag.keyframe) and not tag.sequence_header:
            self._gop.append((tag, at))
            self._gop_bytes += len(tag.data)
            if self._gop_bytes > MAX_QUEUED // 2:  # a GOP this long is not worth replaying
                self._gop.clear()

    def _cached(self) -> tuple[list[Tag], bool]:
        headers = [self._headers[k] for k in (DATA, VIDEO, AUDIO) if k in self._headers]
        return headers, VIDEO in self._headers

    def attach(self, sink: Sink) -> None:
        """Feeds `sink` from now on, starting with the current GOP."""
        self.sinks.append(sink)
        headers, has_video = self._cached()
        for tag, at in self._gop:
            sink.offer(tag.shifted(self._offset) if sink.shift else tag, headers, has_video, at)

    def detach(self, sink: Sink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)
