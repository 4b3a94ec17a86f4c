"""The recording made at the source (issue 16): while a studio pushes to our ingest, the server
writes the remuxed input to `<data dir>/broadcast/<meeting_id>/recording/` as MPEG-TS, one file
per continuous part (`part-0001.ts`, ...), and says what it wrote in `recording.json`:

    {"meeting": "ID", "parts": [{"part": 1, "file": "part-0001.ts", "started_at": ms,
      "ended_at": ms, "duration_ms": 60000, "bytes": 1234567}]}

`started_at` and `ended_at` are the wall-clock ms of the part's first and last media tag, the
clock of the events' `at`: so a question on air at T is T - started_at into its part, exactly.

The archive job uses these parts instead of fetching the stream URL with yt-dlp: `remux` copies
each into the archive folder as `part-0001.mp4`, ... (`ffmpeg -c copy -f mp4 -movflags
+faststart`, no network, no re-encoding) and writes `source.json` beside them, the parts with
their MP4s, which the transcript reads for its offsets. ffmpeg is the caller's: this package
never imports the server, which knows where ffmpeg is (HALYQ_FFMPEG).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recordings.ytdlp import Fetched, FetchError, Progress

logger = logging.getLogger(__name__)

RECORDING = "recording.json"  # the broadcast's own index of its parts
SOURCE = "source.json"  # the archive's copy of it, with each part's MP4
PART_FILE = re.compile(r"part-\d{4,}\.ts")
PARTIAL = ".part"  # a remux being written: the transcript and the recording route skip it
FIELDS = ("part", "file", "started_at", "ended_at", "duration_ms", "bytes")
REMUX_TIMEOUT = 3600.0  # seconds for one part: a copy of an hour of video takes seconds


class SourceUnreadable(FetchError):
    """A `recording.json` (or `source.json`) that does not say which parts there are."""


class StillRecording(FetchError):
    """The broadcast is live: a part is still being written, so there is nothing whole to
    archive yet. The job fails with this reason; queue it again after the broadcast ends."""


@dataclass(frozen=True, slots=True)
class Part:
    """One continuous part of the source recording (`recording.json`'s fields); `media` is its
    MP4 in the archive folder, once remuxed ("" in the broadcast's own index)."""

    part: int
    file: str
    started_at: int
    ended_at: int
    duration_ms: int
    bytes: int
    media: str = ""

    @property
    def closed(self) -> bool:
        """Whether the part is whole: its last media tag is known (0 while being written)."""
        return self.ended_at >= self.started_at > 0

    def holds(self, at: int) -> bool:
        """Whether the moment `at` (ms since the epoch) fell within this part."""
        return self.started_at <= at <= self.ended_at

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        return found | ({"media": self.media} if self.media else {})


@dataclass(frozen=True, slots=True)
class Source:
    """A meeting's source recording: its parts in order."""

    meeting: str
    parts: tuple[Part, ...]

    def part_at(self, at: int) -> Part | None:
        """The part the moment `at` fell in; None before, after or between parts (the studio
        was away then, so no part holds it)."""
        return next((part for part in self.parts if part.holds(at)), None)

    def still_recording(self) -> Part | None:
        """The part being written now, if any (the broadcast is live or in its grace period)."""
        return next((part for part in self.parts if not part.closed), None)

    def as_json(self) -> dict[str, Any]:
        return {"meeting": self.meeting, "parts": [part.as_json() for part in self.parts]}


@dataclass(frozen=True, slots=True)
class Remuxed(Fetched):
    """An archive made from the source recording: `media` is the first part's MP4, `parts`
    every part's in order, `index` the archive's `source.json`, `size` their bytes."""

    parts: tuple[Path, ...] = ()
    index: Path | None = None
    size: int = 0


def read(path: Path) -> Source | None:
    """The recording described by `path` (a `recording.json` or an archive's `source.json`);
    None when there is no such file. Raises `SourceUnreadable` when it says nothing usable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SourceUnreadable(f"{path.name}: {error.strerror or error}") from None
    try:
        body = json.loads(text)
        parts = tuple(sorted((_part(raw) for raw in body["parts"]), key=_number))
        return Source(str(body.get("meeting", "")), parts)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise SourceUnreadable(f"{path.name} is not a recording index ({error!r})") from None


def _part(raw: dict[str, Any]) -> Part:
    values = {name: raw[name] for name in FIELDS}
    for name in ("part", *FIELDS[2:]):
        if not isinstance(values[name], int) or isinstance(values[name], bool):
            raise TypeError(f"{name} is not a whole number")
    if values["part"] < 1:
        raise ValueError("part is not a number from 1")
    if not isinstance(values["file"], str) or not PART_FILE.fullmatch(values["file"]):
        raise ValueError(f"file {values['file']!r} is not a part's name")
    media = raw.get("media", "")
    if not isinstance(media, str) or (media and media != media_name(values["part"])):
        raise ValueError(f"media {media!r} is not the part's MP4")
    return Part(**values, media=media)


def _number(part: Part) -> int:
    return part.part


def media_name(number: int) -> str:
    """The MP4 of part `number` in the archive folder: names sort in the parts' order."""
    return f"part-{number:04d}.mp4"


def remux(
    source: Source,
    recorded: Path,
    into: Path,
    *,
    ffmpeg: str,
    max_bytes: int,
    on_progress: Callable[[Progress], None],
    broadcasting: bool = False,
) -> Remuxed:
    """Copy each part of `source` (files in the folder `recorded`) into `into` as MP4, then
    write `source.json` there. Raises `StillRecording` while a part is open (see
    `check_closed`), `FetchError` when a part is missing, the parts exceed `max_bytes`, or
    ffmpeg fails; a part's MP4 is written under a `.part` name first, so a remux cut short is
    never taken for a recording."""
    if not source.parts:
        raise SourceUnreadable(f"{RECORDING} lists no parts")
    check_closed(source, broadcasting=broadcasting)
    files = [_input(recorded, part) for part in source.parts]
    total = sum(path.stat().st_size for path in files)
    if total > max_bytes:
        raise FetchError(f"the source recording is larger than the size cap ({max_bytes} bytes)")
    into.mkdir(parents=True, exist_ok=True)
    done, made = 0, []
    on_progress(Progress(0, total))
    for part, path in zip(source.parts, files, strict=True):
        made.append(_remux_one(ffmpeg, path, into / media_name(part.part)))
        done += path.stat().st_size
        on_progress(Progress(done, total))
    archived = Source(source.meeting, tuple(_with_media(part) for part in source.parts))
    index = _write_json(into / SOURCE, archived.as_json())
    size = sum(path.stat().st_size for path in made)
    return Remuxed(made[0], (), None, parts=tuple(made), index=index, size=size)


def check_closed(source: Source, *, broadcasting: bool = False) -> None:
    """Raises `StillRecording` while a part is being written (nothing whole to archive yet):
    one not closed in the index, or the last one while the meeting's record says its broadcast
    is live or in its grace period (`broadcasting`: the index is rewritten every few seconds
    while live, with the latest media's time, so only the record tells a live part)."""
    open_part = source.still_recording()
    if open_part is None and broadcasting and source.parts:
        open_part = source.parts[-1]
    if open_part is not None:
        raise StillRecording(
            f"the broadcast is still being recorded (part {open_part.part} is being written): "
            "archive the meeting after its broadcast ends"
        )


def _input(recorded: Path, part: Part) -> Path:
    path = recorded / part.file
    if not path.is_file():
        raise FetchError(f"part {part.part} of the source recording ({part.file}) is missing")
    return path


def _with_media(part: Part) -> Part:
    return Part(part.part, part.file, part.started_at, part.ended_at, part.duration_ms,
                part.bytes, media_name(part.part))  # fmt: skip


def _remux_one(ffmpeg: str, source: Path, target: Path) -> Path:
    partial = target.with_name(target.name + PARTIAL)
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
        "-map", "0", "-c", "copy", "-f", "mp4", "-movflags", "+faststart", str(partial),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=REMUX_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        partial.unlink(missing_ok=True)
        raise FetchError(f"ffmpeg could not remux {source.name}: {error}") from None
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        said = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise FetchError(f"ffmpeg could not remux {source.name}: {said}")
    os.replace(partial, target)
    logger.info("archive: %s remuxed into %s", source.name, target)
    return target


def _write_json(path: Path, body: dict[str, Any]) -> Path:
    """Whole or not at all: a reader never sees half an index."""
    partial = path.with_name(path.name + PARTIAL)
    partial.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, path)
    return path


def parts_of(files: Sequence[Path]) -> Source | None:
    """The archive folder's `source.json` among `files` (its whole files), read; None when the
    archive was not made from the source, or its index is unreadable (logged)."""
    index = next((path for path in files if path.name == SOURCE), None)
    if index is None:
        return None
    try:
        return read(index)
    except SourceUnreadable as error:
        logger.warning("transcript: %s; the source recording's parts are left out", error)
        return None
