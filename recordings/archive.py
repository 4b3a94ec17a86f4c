"""Archiving a meeting's recording (issue 11): which URLs may be fetched, where the files go,
retries with backoff, and the progress bar. The queue of jobs is the server's (server/store/
jobs.py, run by `halyq worker`); this module knows nothing of it.

A meeting broadcast through our own ingest was recorded at the source (issue 16,
`recordings/source.py`): its job remuxes those parts instead of fetching a URL (`source_of`
says where they are, `SOURCE_URL` is what such a job holds for a URL).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from recordings.source import (
    RECORDING,
    Remuxed,
    Source,
    StillRecording,
    check_closed,
    read,
    remux,
)
from recordings.ytdlp import Fetched, FetchError, Progress, fetch

__all__ = ["SOURCE_URL", "FetchError", "Fetched", "Progress", "Remuxed", "Source",
           "StillRecording", "UrlRefused", "archive", "bar", "check_closed", "check_url",
           "folder_of", "recorded_at_source", "remux", "source_of"]  # fmt: skip

MEETING_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
BAR_WIDTH = 30
# The URL of a job made from the source recording: no network, shown as is in the job list.
SOURCE_URL = "source:"


class UrlRefused(ValueError):
    """A URL the archive will not fetch: not http(s), or a host outside the allowlist. Checked
    before a job is queued, so that a worker never reads local files or the private network."""


def check_url(url: str, hosts: tuple[str, ...]) -> str:
    """`url` if it may be archived, else `UrlRefused` saying why."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"{url!r}: only http and https URLs are archived")
    host = (parts.hostname or "").lower()
    if host not in {h.lower() for h in hosts}:
        raise UrlRefused(f"{url!r}: the host {host!r} is not in HALYQ_ARCHIVE_HOSTS")
    return url.strip()


def folder_of(data_dir: Path, meeting_id: str) -> Path:
    """`<data dir>/recordings/<meeting_id>/`: a meeting id never leaves that folder."""
    if not MEETING_ID.fullmatch(meeting_id):
        raise ValueError(f"{meeting_id!r} is not a meeting id")
    return data_dir / "recordings" / meeting_id


def source_of(data_dir: Path, meeting_id: str) -> Path:
    """`<data dir>/broadcast/<meeting_id>/recording/`: where the broadcast records its parts."""
    if not MEETING_ID.fullmatch(meeting_id):
        raise ValueError(f"{meeting_id!r} is not a meeting id")
    return data_dir / "broadcast" / meeting_id / "recording"


def recorded_at_source(data_dir: Path, meeting_id: str) -> Source | None:
    """The meeting's source recording when it has parts (blocking: a file read), else None.
    Raises `FetchError` when its `recording.json` is unreadable."""
    found = read(source_of(data_dir, meeting_id) / RECORDING)
    return found if found is not None and found.parts else None


def archive(
    url: str,
    folder: Path,
    *,
    max_bytes: int,
    attempts: int,
    backoff: float,
    on_progress: Callable[[Progress], None],
    on_retry: Callable[[int, str], None] = lambda attempt, why: None,
    pause: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Fetch `url` into `folder`, `attempts` times at most, waiting `backoff`, then twice as
    long, between them. Raises `FetchError` with the last reason when every attempt failed;
    a partial download is never returned (yt-dlp resumes it at the next attempt)."""
    for attempt in range(1, attempts + 1):
        try:
            return fetch(url, folder, max_bytes=max_bytes, on_progress=on_progress)
        except FetchError as error:
            if attempt == attempts:
                raise FetchError(f"failed {attempts} times; last: {error}") from None
            on_retry(attempt, str(error))
            pause(backoff * 2 ** (attempt - 1))
    raise FetchError("no attempt was made")  # attempts < 1


def bar(progress: Progress) -> str:
    """A one-line progress bar: `[#######-----------]  35.2%  1.4 MiB of 4.0 MiB`."""
    percent = progress.percent
    done = round(BAR_WIDTH * (percent or 0) / 100)
    total = f" of {_mib(progress.total)}" if progress.total else ""
    shown = f"{percent:5.1f}%" if percent is not None else "    ?%"
    return f"[{'#' * done}{'-' * (BAR_WIDTH - done)}] {shown}  {_mib(progress.downloaded)}{total}"


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"
