"""`halyq archive` and `halyq worker`: the meeting's recording, with its captions and (YouTube)
its live-chat replay, kept under `<data dir>/recordings/<meeting_id>/` (issue 11).

`halyq archive MEETING_ID [--url URL]` queues a job (the URL is checked first: http(s) and a
host in HALYQ_ARCHIVE_HOSTS, or nothing is queued); with `--wait` this process runs jobs until
that one is over, drawing a progress bar. `halyq archive --list` shows the jobs. `halyq worker`
runs jobs until stopped; `halyq serve` runs one in-process when HALYQ_WORKER is on.

A meeting broadcast through our ingest was recorded at the source (issue 16): its job remuxes
those parts (`recordings/source.py`) and fetches nothing; while a part is still being written
the job is refused with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from moderation import Meeting, MeetingStatus
from recordings.archive import (
    SOURCE_URL,
    Fetched,
    FetchError,
    Progress,
    Remuxed,
    UrlRefused,
    archive,
    bar,
    check_closed,
    check_url,
    folder_of,
    recorded_at_source,
    remux,
    source_of,
)
from server.broadcast.ffmpeg import ffmpeg_program
from server.cli.shell import say, with_store
from server.cli.youtube import ingest_file
from server.settings import Settings
from server.store import Store
from server.store.jobs import Job
from server.usecases import UseCases, now_ms

logger = logging.getLogger(__name__)
BLOCK_MS = 1000  # how long a worker waits for a new job before looking for abandoned ones
TICK = 0.25  # seconds between two progress updates of the job
MAX_DELIVERIES = 5  # a job that took down this many workers is failed, not taken again
FINAL = ("complete", "failed")


def add_parser(commands: Any) -> None:
    archive_ = commands.add_parser(
        "archive", help="archive a meeting's recording", description=__doc__
    )
    archive_.add_argument("meeting_id", nargs="?", help="the meeting")
    archive_.add_argument("--url", help="the recording's URL (the meeting's stream_url)")
    archive_.add_argument("--wait", action="store_true",
                          help="run it in this process, with a progress bar")  # fmt: skip
    archive_.add_argument("--list", action="store_true", help="show the jobs and their state")
    archive_.add_argument("--json", action="store_true", help="print JSON")
    archive_.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    archive_.set_defaults(run=_archive)
    worker = commands.add_parser("worker", help="run archive jobs until stopped")
    worker.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    worker.set_defaults(run=_worker)


def _archive(args: argparse.Namespace, settings: Settings) -> int:
    if args.list:
        return _list(args, settings)
    if not args.meeting_id:
        sys.stderr.write("halyq: archive: give a MEETING_ID, or --list\n")
        return 2
    try:
        folder_of(settings.data_dir, args.meeting_id)
        if args.url is not None:  # refused at once, before the store is even opened
            check_url(args.url, settings.archive_hosts)
    except ValueError as error:
        sys.stderr.write(f"halyq: archive: {error}\n")
        return 1
    return with_store(settings, lambda store: _queue(args, settings, store))


async def _queue(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    meeting = await store.meetings.get(args.meeting_id)
    if meeting is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    try:
        url = url_of(args, settings, meeting)
    except (UrlRefused, FetchError) as error:  # or a live broadcast, an unreadable index
        sys.stderr.write(f"halyq: archive: {error}\n")
        return 1
    job = await store.jobs.queue(meeting.id, url, now_ms())
    say(json.dumps(job.as_json()) if args.json else f"archive job {job.id} queued: {url}")
    if not args.wait:
        return 0
    worker = Worker(store, settings, ProgressBar(sys.stderr))
    while (job := await store.jobs.get(job.id) or job).state not in FINAL:
        await worker.once()
    say(f"archive job {job.id} {job.state}: {job.reason or job.media}")
    return 0 if job.state == "complete" else 1


def url_of(args: argparse.Namespace, settings: Settings, meeting: Meeting) -> str:
    """What `halyq archive` queues for the job to fetch: the source recording when the meeting
    has one (issue 16; refused while a part is being written), else `--url` or the meeting's
    `stream_url`, checked."""
    recorded = recorded_at_source(settings.data_dir, meeting.id)
    if recorded is None:
        url = args.url if args.url is not None else meeting.stream_url
        return check_url(url, settings.archive_hosts)
    check_closed(recorded, broadcasting=broadcasting(meeting))
    if args.url is not None:
        sys.stderr.write("halyq: archive: recorded at the source; --url is not fetched\n")
    return source_url(settings, meeting.id)


def broadcasting(meeting: Meeting | None) -> bool:
    """Whether the meeting's studio is on air or in its grace period (issue 16), as its record
    says: then its source recording's last part is still being written. A meeting that ended
    is not, even when a node that died never recorded its broadcast's end."""
    return (
        meeting is not None
        and meeting.status is MeetingStatus.LIVE
        and meeting.broadcast in ("live", "reconnecting")
    )


def source_url(settings: Settings, meeting_id: str) -> str:
    """A source job's URL: `source:` and the recording's folder under the data dir."""
    folder = source_of(settings.data_dir, meeting_id).relative_to(settings.data_dir)
    return f"{SOURCE_URL}{folder.as_posix()}"


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def jobs(store: Store) -> list[Job]:
        return await store.jobs.all(args.meeting_id or "")

    found = with_store(settings, jobs)
    if args.json:
        say(json.dumps([job.as_json() for job in found]))
        return 0
    for job in found:
        say(describe(job))
    if not found:
        say("no archive jobs")
    return 0


def describe(job: Job) -> str:
    """One job on one line: `<id>  <meeting>  running  42.0%  <url>`, failed with its reason."""
    state = job.state
    if job.state == "running" and job.percent is not None:
        state = f"running {job.percent:5.1f}%"
    if job.state == "failed" or (job.state == "running" and job.reason):
        state = f"{state}: {job.reason}"
    elif job.state == "complete":
        state = f"complete: {job.media}"
    return f"{job.id}  {job.meeting_id}  {state}  {job.url}"


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        worker = Worker(store, settings, ProgressBar(sys.stderr))
        say(f"archive worker {worker.name} is waiting for jobs (Ctrl+C stops it)")
        while True:
            await worker.once()

    try:
        return with_store(settings, run)
    except KeyboardInterrupt:
        return 0


def start_in_background(settings: Settings) -> threading.Thread:
    """An archive worker on a thread of its own, for `halyq serve` with HALYQ_WORKER on (the
    embedded set-up: one process does everything). It ends with the process."""

    async def run(store: Store) -> None:
        worker = Worker(store, settings, ProgressBar(None))
        while True:
            try:
                await worker.once()
            except Exception:  # a Redis outage: wait, then take jobs again
                logger.exception("archive worker")
                await asyncio.sleep(1)

    def main() -> None:
        with_store(settings, run)

    thread = threading.Thread(target=main, name="archive-worker", daemon=True)
    thread.start()
    return thread


class Worker:
    """Takes one job at a time from the queue and runs it, telling the job its progress."""

    def __init__(self, store: Store, settings: Settings, show: Callable[[Progress], None]) -> None:
        self.store = store
        self.settings = settings
        self.show = show
        self.name = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"

    async def once(self) -> Job | None:
        """Run the next job, if one comes within BLOCK_MS; the job as it ended."""
        reclaim_ms = int(self.settings.archive_reclaim_seconds * 1000)
        job = await self.store.jobs.take(self.name, block_ms=BLOCK_MS, reclaim_ms=reclaim_ms)
        if job is None:
            return None
        if job.deliveries > MAX_DELIVERIES:
            why = f"the workers running it stopped {job.deliveries - 1} times"
            return await self.store.jobs.finish(job, now_ms(), state="failed", reason=why)
        logger.info("archive job %s: %s (%s)", job.id, job.url, job.meeting_id)
        return await self.run(job)

    async def run(self, job: Job) -> Job:
        job = await self.store.jobs.update(job, now_ms(), state="running", reason="")
        run = _Run(asyncio.get_running_loop())
        run.broadcasting = broadcasting(await self.store.meetings.get(job.meeting_id))
        thread = threading.Thread(
            target=run.fetch, args=(job.url, job.meeting_id, self.settings), daemon=True
        )
        thread.start()  # a thread of its own: Ctrl+C or a kill never waits for a download
        kept = asyncio.get_running_loop().time()
        shown: Progress | None = None
        while not run.done.is_set():
            await _wait(run.done, TICK)
            if run.progress is not None and run.progress != shown:
                shown = run.progress
                self.show(shown)
                job = await self.store.jobs.update(
                    job, now_ms(), percent=shown.percent, downloaded=shown.downloaded,
                    total=shown.total, attempt=run.attempt, reason=run.why,
                )  # fmt: skip
            if asyncio.get_running_loop().time() - kept > self.settings.archive_reclaim_seconds / 3:
                await self.store.jobs.keep(job, self.name)
                kept = asyncio.get_running_loop().time()
        return await self._finish(job, run)

    async def _finish(self, job: Job, run: _Run) -> Job:
        if run.fetched is None:
            logger.warning("archive job %s failed: %s", job.id, run.why)
            return await self.store.jobs.finish(job, now_ms(), state="failed", reason=run.why)
        fetched = run.fetched
        logger.info("archive job %s complete: %s", job.id, fetched.media)
        size = fetched.size if isinstance(fetched, Remuxed) else fetched.media.stat().st_size
        if fetched.live_chat is not None:  # YouTube's chat replay: into the record, once each
            await self._ingest(job, fetched.live_chat)
        return await self.store.jobs.finish(
            job, now_ms(), state="complete", percent=100.0, reason="",
            downloaded=size, total=size, attempt=run.attempt, media=str(fetched.media),
            captions=tuple(str(path) for path in fetched.captions),
            live_chat=str(fetched.live_chat or ""),
        )  # fmt: skip

    async def _ingest(self, job: Job, path: Path) -> None:
        cases = UseCases(store=self.store)
        reader, _ = await ingest_file(self.settings, cases, job.meeting_id, path)
        logger.info("archive job %s: the chat replay: %s", job.id, reader.tally.summary())


class _Run:
    """One job's download on its thread: what it says, read by the worker's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.done = asyncio.Event()
        self.progress: Progress | None = None
        self.attempt = 1
        self.why = ""
        self.fetched: Fetched | None = None
        self.broadcasting = False  # the meeting's studio is on air: its last part is open

    def fetch(self, url: str, meeting_id: str, settings: Settings) -> None:
        try:
            self.fetched = self._fetch(url, meeting_id, settings)
        except FetchError as error:
            self.why = str(error)
        except Exception as error:  # yt-dlp's own bugs: the job fails, the worker goes on
            logger.exception("archive: yt-dlp failed")
            self.why = f"{type(error).__name__}: {error}"
        self.loop.call_soon_threadsafe(self.done.set)

    def _fetch(self, url: str, meeting_id: str, settings: Settings) -> Fetched:
        """The source recording remuxed when the meeting has one (issue 16), else `url`
        downloaded; a source job whose recording is gone fails rather than fetch `source:`."""
        folder = folder_of(settings.data_dir, meeting_id)
        recorded = recorded_at_source(settings.data_dir, meeting_id)
        if recorded is not None:
            return remux(
                recorded, source_of(settings.data_dir, meeting_id), folder,
                ffmpeg=ffmpeg_program(settings.ffmpeg), max_bytes=settings.archive_max_bytes,
                on_progress=self._progress, broadcasting=self.broadcasting,
            )  # fmt: skip
        if url.startswith(SOURCE_URL):
            raise FetchError(f"the source recording is gone ({url.removeprefix(SOURCE_URL)})")
        return archive(
            url, folder, max_bytes=settings.archive_max_bytes,
            attempts=settings.archive_attempts, backoff=settings.archive_backoff_seconds,
            on_progress=self._progress, on_retry=self._retry,
        )  # fmt: skip

    def _progress(self, progress: Progress) -> None:
        self.progress = progress

    def _retry(self, attempt: int, why: str) -> None:
        logger.warning("archive: attempt %d failed (%s); trying again", attempt, why)
        self.attempt, self.why = attempt + 1, f"attempt {attempt} failed: {why}"


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


class ProgressBar:
    """Progress on a terminal: one bar redrawn in place, or (a log, a pipe) a line at each tenth
    of the way; on nothing (`stream` None), log lines only."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.tenth = -1

    def __call__(self, progress: Progress) -> None:
        tenth = int((progress.percent or 0) // 10)
        if self.stream is not None and self.stream.isatty():
            self.stream.write("\r" + bar(progress) + ("\n" if tenth == 10 else ""))
            self.stream.flush()
            return
        if tenth == self.tenth:
            return
        self.tenth = tenth
        if self.stream is None:
            logger.info("archive: %s", bar(progress))
        else:
            self.stream.write(bar(progress) + "\n")
            self.stream.flush()
