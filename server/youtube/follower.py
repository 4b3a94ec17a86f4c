"""The follower: yt-dlp's live-chat download as a supervised child process, its file tailed into
the record, and the feed's health reported for the console (issue 11).

yt-dlp writes the chat to `<out>.live_chat.json.part` while the stream runs and renames it when
it ends; it breaks whenever YouTube changes, so it is restarted with a growing pause and its
last error line is kept for the moderators. Each run starts a new file: the one before is read
to its end first, then removed, and the record's idempotency takes care of the chat YouTube
sends again. The state is reported every second and at once when yt-dlp exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recordings.archive import check_url
from recordings.tail import complete_lines, follow
from server.children import preexec
from server.settings import Settings
from server.usecases.youtube import YouTubeChat
from server.youtube.reader import Reader

logger = logging.getLogger(__name__)

SOURCE = "youtube"  # the meeting's YouTube feed, as its state and position are stored
REPORT_EVERY = 1.0  # seconds between two reports of the feed's state
FIRST_BACKOFF = 1.0  # seconds before yt-dlp is started again; doubled after each quick exit
MAX_BACKOFF = 60.0
STEADY = 60.0  # a run this long was a good one: the next restart waits FIRST_BACKOFF again
TERMINATE_WAIT = 5.0  # seconds yt-dlp has to stop after SIGTERM before it is killed
WINDOW_MS = 60_000  # "items in the last minute"
ERROR_CHARS = 300  # the kept error line is cut to this

FOLLOWING, RESTARTING, STOPPED = "following", "restarting", "stopped"


def ytdlp_command(settings: Settings) -> list[str]:
    """The program yt-dlp runs as: HALYQ_YTDLP_COMMAND (split like a shell), else this Python's
    `-m yt_dlp` (the pinned dependency)."""
    if settings.ytdlp_command:
        return shlex.split(settings.ytdlp_command)
    return [sys.executable, "-m", "yt_dlp"]


def stream_url(url: str, settings: Settings) -> str:
    """The stream's URL if yt-dlp may be run on it (http(s), a host in HALYQ_ARCHIVE_HOSTS), else
    `UrlRefused` saying why: the console must not make the server fetch from anywhere."""
    return check_url(url, settings.archive_hosts)


def chat_folder(data_dir: Path, meeting_id: str) -> Path:
    return data_dir / "youtube" / meeting_id


@dataclass(slots=True, kw_only=True)
class Follower:
    """One meeting's YouTube feed: yt-dlp on `url`, its file under `folder`, read by a Reader."""

    chat: YouTubeChat
    meeting_id: str
    url: str
    folder: Path
    program: list[str]
    clock: Callable[[], float] = time.time
    state: str = FOLLOWING
    error: str = ""
    restarts: int = 0
    started_at: int = 0
    last_item_at: int | None = None
    reader: Reader = field(init=False)
    _recent: deque[int] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.reader = Reader(
            chat=self.chat, meeting_id=self.meeting_id, source=SOURCE, on_message=self._seen
        )

    @property
    def output(self) -> Path:
        return self.folder / "chat"

    @property
    def chat_file(self) -> Path:
        """The file yt-dlp leaves when a run ends (its `.part` while it runs)."""
        return self.folder / "chat.live_chat.json"

    @property
    def partial(self) -> Path:
        return self.folder / "chat.live_chat.json.part"

    def command(self) -> list[str]:
        return [*self.program, "--skip-download", "--write-subs", "--sub-langs", "live_chat",
                "-o", str(self.output), self.url]  # fmt: skip

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _seen(self) -> None:
        now = self._now_ms()
        self.last_item_at = now
        self._recent.append(now)

    def as_state(self) -> dict[str, Any]:
        """The feed's state as the console reads it (`GET /api/meetings/{id}/feeds`)."""
        now = self._now_ms()
        while self._recent and self._recent[0] <= now - WINDOW_MS:
            self._recent.popleft()
        return {
            "url": self.url,
            "state": self.state,
            "items_last_minute": len(self._recent),
            "last_item_at": self.last_item_at,
            "started_at": self.started_at,
            "reported_at": now,
            "error": self.error,
            "restarts": self.restarts,
            **self.reader.tally.as_dict(),
        }

    async def report(self) -> None:
        await self.chat.cases.store.feeds.report(self.meeting_id, SOURCE, self.as_state())

    async def run(self, stop: asyncio.Event) -> None:
        """Follow until `stop` is set: yt-dlp started, tailed, and restarted when it exits."""
        self.folder.mkdir(parents=True, exist_ok=True)
        reporting = asyncio.create_task(self._report_every(stop))
        backoff = FIRST_BACKOFF
        try:
            while not stop.is_set():
                await self._finish_previous()
                began = time.monotonic()
                await self._run_once(stop)
                if stop.is_set():
                    break
                backoff = FIRST_BACKOFF if time.monotonic() - began >= STEADY else backoff
                self.state, self.restarts = RESTARTING, self.restarts + 1
                await self.report()
                logger.warning("youtube chat: yt-dlp exited (%s); again in %.0f s",
                               self.error, backoff)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        finally:
            reporting.cancel()
            self.state = STOPPED
            with contextlib.suppress(Exception):
                await asyncio.shield(self.report())

    async def _report_every(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.report()
            except Exception as error:  # the store is away for a moment: report later
                logger.info("youtube chat: the feed's state not reported (%s)", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REPORT_EVERY)

    async def _finish_previous(self) -> None:
        """Read the last run's file to its end (a crash may have left lines), then remove it:
        the next run writes a new one, read from its start."""
        for path in (self.partial, self.chat_file):
            await self._drain(path, await self.reader.position())
        await self.reader.restart()
        for path in (self.partial, self.chat_file):
            path.unlink(missing_ok=True)

    async def _drain(self, path: Path, offset: int) -> int:
        """Every complete line of `path` after `offset`."""
        while True:
            lines, after = await asyncio.to_thread(complete_lines, path, offset)
            if not lines:
                return offset
            for line, end in lines:
                await self.reader.take(line, end)
            offset = after

    async def _run_once(self, stop: asyncio.Event) -> None:
        """One run of yt-dlp, tailed while it runs and read to the end after it exits."""
        self.state, self.started_at = FOLLOWING, self._now_ms()  # the last error stays shown
        # yt-dlp dies with this process (Linux): a follower killed by -9 leaves no yt-dlp
        # writing into the meeting's folder.
        process = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=preexec(),
        )
        logger.info("youtube chat: yt-dlp started for meeting %s", self.meeting_id)
        errors = asyncio.create_task(self._last_error(process))
        ended = asyncio.Event()
        tailing = asyncio.create_task(self._tail(ended))
        waiting = asyncio.create_task(process.wait())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if process.returncode is None:
                await _terminate(process)
            ended.set()
            await tailing
            said = await errors
        offset = await self.reader.position()
        for path in (self.chat_file, self.partial):  # renamed when it ended, or cut short
            offset = await self._drain(path, offset)
        if not stop.is_set():
            self.error = said or f"yt-dlp exited with code {process.returncode}"

    async def _tail(self, ended: asyncio.Event) -> None:
        """The `.part` file as yt-dlp writes it, from where it was read up to."""
        async for line, after in follow(self.partial, await self.reader.position(), stop=ended):
            await self.reader.take(line, after)

    async def _last_error(self, process: asyncio.subprocess.Process) -> str:
        """yt-dlp's last error line (`ERROR: ...`, else its last line), for the console."""
        assert process.stderr is not None
        last, error = "", ""
        while raw := await process.stderr.readline():
            text = raw.decode("utf-8", "replace").strip()
            if text:
                last = text
                error = text if text.startswith("ERROR") else error
        return (error or last)[:ERROR_CHARS]


async def _terminate(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), TERMINATE_WAIT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@dataclass(slots=True)
class Followers:
    """The followers this server process runs (started from the console), one per meeting; the
    app's lifespan owns them and stops them, and their yt-dlp, when it ends."""

    running: dict[str, tuple[Follower, asyncio.Event, asyncio.Task[None]]] = field(
        default_factory=dict
    )

    def is_running(self, meeting_id: str) -> bool:
        found = self.running.get(meeting_id)
        return found is not None and not found[2].done()

    def start(self, follower: Follower) -> None:
        """Run `follower` until the app stops (a follower already running is refused first)."""
        stop = asyncio.Event()
        task = asyncio.create_task(follower.run(stop), name=f"youtube:{follower.meeting_id}")
        task.add_done_callback(_log_end)
        self.running[follower.meeting_id] = (follower, stop, task)

    async def stop(self) -> None:
        """Stop every follower: yt-dlp is terminated, the lines it wrote are read, the state
        says `stopped`."""
        for _, stop, _ in self.running.values():
            stop.set()
        tasks = [task for _, _, task in self.running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=TERMINATE_WAIT * 2)
        self.running.clear()


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("youtube chat: a follower ended on an error", exc_info=error)
