"""yt-dlp behind one function: the only module that imports it (a ruff rule bans it elsewhere),
so that when YouTube changes and yt-dlp with it, one file is where we look (issue 11).

`fetch` downloads a recording with its Kazakh and Russian captions (uploaded or automatic) and,
for YouTube, the live-chat replay, into one folder, and says which files are whole.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg  # type: ignore[import-untyped]
import yt_dlp  # type: ignore[import-untyped]
from yt_dlp.utils import DownloadError  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

# Regexes, matched whole by yt-dlp: "kk", "kk-KZ", "ru", "ru-RU"... and YouTube's chat replay.
CAPTIONS = ("kk.*", "ru.*")
LIVE_CHAT = "live_chat"
PART = ".part"


class FetchError(Exception):
    """The download did not give a whole recording; the message says why, for the job list."""


@dataclass(frozen=True, slots=True)
class Progress:
    """What yt-dlp's progress hook last said: bytes so far and, when known, of how many."""

    downloaded: int
    total: int | None

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return min(100.0, 100.0 * self.downloaded / self.total)


@dataclass(frozen=True, slots=True)
class Fetched:
    """The files of one archived recording, all under its folder."""

    media: Path
    captions: tuple[Path, ...]
    live_chat: Path | None


def ffmpeg() -> str:
    """The ffmpeg on PATH, else the one in the imageio-ffmpeg wheel (always there)."""
    return shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()


def fetch(
    url: str, folder: Path, *, max_bytes: int, on_progress: Callable[[Progress], None]
) -> Fetched:
    """Download `url` into `folder`; raise `FetchError` unless the recording is there whole
    and within `max_bytes`. A download cut short leaves its `.part` file, which the next call
    resumes; it is never reported as done."""
    folder.mkdir(parents=True, exist_ok=True)
    said = _Said()
    options = _options(folder, max_bytes, _hook(on_progress), said)
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
    except DownloadError as error:
        raise FetchError(_reason(str(error))) from None
    if info is None:
        raise FetchError("yt-dlp found nothing to download")
    return _whole(_entry(info), folder, max_bytes, said)


def _options(
    folder: Path, max_bytes: int, hook: Callable[[dict[str, Any]], None], said: _Said
) -> dict[str, Any]:
    return {
        "paths": {"home": str(folder), "temp": str(folder)},
        "outtmpl": {"default": "%(id)s.%(ext)s"},
        "writesubtitles": True,
        "writeautomaticsub": True,
        "subtitleslangs": [*CAPTIONS, LIVE_CHAT],
        "max_filesize": max_bytes,
        "ffmpeg_location": ffmpeg(),
        "progress_hooks": [hook],
        "logger": said,
        "noprogress": True,
        "noplaylist": True,
        "playlist_items": "1",
        "retries": 1,  # the job retries with its own backoff (see recordings/archive.py)
        "fragment_retries": 3,
        "socket_timeout": 30,
    }


def _hook(on_progress: Callable[[Progress], None]) -> Callable[[dict[str, Any]], None]:
    def hook(status: dict[str, Any]) -> None:
        if status.get("status") not in ("downloading", "finished"):
            return
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        downloaded = int(status.get("downloaded_bytes") or 0)
        on_progress(Progress(downloaded, int(total) if total else None))

    return hook


class _Said:
    """yt-dlp's logger: its lines go to ours, and the ones that explain a failure are kept."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        self.lines.append(message)
        logger.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        self.debug(message)

    def warning(self, message: str) -> None:
        self.lines.append(message)
        logger.warning("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        self.lines.append(message)
        logger.error("yt-dlp: %s", message)

    def larger_than_the_cap(self) -> bool:
        return any("larger than max-filesize" in line for line in self.lines)


def _reason(message: str) -> str:
    return message.removeprefix("ERROR: ").strip() or "yt-dlp failed"


def _entry(info: dict[str, Any]) -> dict[str, Any]:
    """The one video: a page with a player is a playlist of one for yt-dlp's generic reader."""
    entries = [entry for entry in info.get("entries") or () if entry]
    return entries[0] if entries else info


def _whole(info: dict[str, Any], folder: Path, max_bytes: int, said: _Said) -> Fetched:
    if said.larger_than_the_cap():
        raise FetchError(f"the recording is larger than the size cap ({max_bytes} bytes)")
    downloads = info.get("requested_downloads") or ()
    media = Path(downloads[0]["filepath"]) if downloads else None
    if media is None or not media.is_file() or media.name.endswith(PART):
        raise FetchError("yt-dlp wrote no whole recording")
    size = media.stat().st_size
    expected = info.get("filesize")
    if expected and size != int(expected):
        raise FetchError(f"the recording has {size} bytes of {expected}")
    if sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) > max_bytes:
        media.unlink()
        raise FetchError(f"the recording is larger than the size cap ({max_bytes} bytes)")
    subtitles = info.get("requested_subtitles") or {}
    files = {lang: Path(sub["filepath"]) for lang, sub in subtitles.items() if sub.get("filepath")}
    chat = files.pop(LIVE_CHAT, None)
    captions = tuple(sorted(path for path in files.values() if path.is_file()))
    return Fetched(media, captions, chat if chat is not None and chat.is_file() else None)
