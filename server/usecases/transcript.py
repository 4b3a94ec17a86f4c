"""The transcript of a meeting's questions (issue 12), from its record and its archive folder.

The record says when each question went on and off air (`recordings.transcript.Air`); the
archive folder, `<data dir>/recordings/<meeting id>/` where `halyq archive` puts a recording
and its captions, gives the captions (`<anything>.<lang>.vtt`), whether we hold the recording
itself, and, when a yt-dlp info file (`*.info.json`) is there, the moment the recording began
(`release_timestamp`, a live stream's actual start): else it began when the meeting started.
An archive made from the recording at the source (issue 16) holds `source.json` and one MP4 per
part: offsets count from each part's first media tag, exactly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from recordings.archive import folder_of
from recordings.source import Source, media_name, parts_of
from recordings.transcript import (
    Air,
    Line,
    Transcript,
    UnreadableCaptions,
    language_of,
    read_captions,
    recording_for,
    transcript,
)
from server.usecases.context import UseCases
from server.usecases.meetings import is_meeting_id

logger = logging.getLogger(__name__)

# What a recording may be saved as (yt-dlp's merged formats and audio-only ones), and the type
# `/m/{id}/recording` serves it with.
MEDIA_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska",
    ".mov": "video/quicktime", ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
}  # fmt: skip
CHUNK = 1000  # events per round trip while folding the record


class DataDir(Protocol):
    @property
    def data_dir(self) -> Path: ...


class Holder(Protocol):
    """What the transcript needs of a running app: the use cases and the data dir (the web's
    `Services` is one: `await transcript_of(services, meeting_id)`)."""

    @property
    def usecases(self) -> UseCases: ...

    @property
    def settings(self) -> DataDir: ...


@dataclass(frozen=True, slots=True)
class Archived:
    """What a meeting's archive folder holds: the recording, captions by language, the
    recording's start (ms since the epoch) when a yt-dlp info file says it, and the parts of
    the recording made at the source when it was (issue 16)."""

    media: Path | None = None
    captions: dict[str, tuple[Line, ...]] = field(default_factory=dict)
    origin_ms: int | None = None
    source: Source | None = None


async def transcript_of(services: Holder, meeting_id: str) -> Transcript | None:
    """The meeting's transcript of questions now; None for an unknown meeting."""
    cases = services.usecases
    if not is_meeting_id(meeting_id):
        return None
    meeting = await cases.store.meetings.get(meeting_id)
    if meeting is None:
        return None
    air = Air()
    async for entries in cases.store.record.replay(meeting_id, "0-0", chunk=CHUNK):
        air.add(event for _, event in entries)
    found = await asyncio.to_thread(archived, services.settings.data_dir, meeting_id)
    recording = recording_for(meeting.id, meeting.stream_url, archived=found.media is not None)
    return transcript(
        air, found.captions, meeting_id=meeting.id, recording=recording,
        now_ms=cases.clock(), origin_ms=found.origin_ms, source=found.source,
    )  # fmt: skip


def recording_file(data_dir: Path, meeting_id: str, part: int | None = None) -> Path | None:
    """The archived recording of the meeting, if the archive holds a whole one; with `part`,
    that part of a recording made at the source (issue 16), if the archive holds it."""
    if not is_meeting_id(meeting_id):
        return None
    files = _files(folder_of(data_dir, meeting_id))
    if part is None:
        return _media(files)
    return next((path for path in files if path.name == media_name(part)), None)


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def archived(data_dir: Path, meeting_id: str) -> Archived:
    """Read the archive folder (blocking: run it off the event loop)."""
    files = _files(folder_of(data_dir, meeting_id))
    captions: dict[str, tuple[Line, ...]] = {}
    for path in (p for p in files if p.suffix.lower() == ".vtt"):
        try:
            lines = read_captions(path.read_text(encoding="utf-8", errors="replace"))
        except UnreadableCaptions as error:
            logger.warning("transcript: %s is not WebVTT (%s); left out", path.name, error)
            continue
        lang = language_of(path.name)
        captions[lang] = tuple(sorted((*captions.get(lang, ()), *lines), key=_start))
    return Archived(_media(files), captions, _origin(files), parts_of(files))


def _start(line: Line) -> int:
    return line.start_ms


def _files(folder: Path) -> list[Path]:
    """The whole files of the folder (a `.part` download is not one), by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".part"))


def _media(files: Sequence[Path]) -> Path | None:
    return next((p for p in files if p.suffix.lower() in MEDIA_TYPES), None)


def _origin(files: Sequence[Path]) -> int | None:
    """A live stream's start from yt-dlp's info file (`release_timestamp`, in seconds)."""
    for path in (p for p in files if p.name.endswith(".info.json")):
        try:
            stamp = json.loads(path.read_text(encoding="utf-8")).get("release_timestamp")
        except (ValueError, AttributeError):
            logger.warning("transcript: %s is not yt-dlp's info JSON; left out", path.name)
            continue
        if isinstance(stamp, int | float) and not isinstance(stamp, bool) and stamp > 0:
            return int(stamp * 1000)
    return None
