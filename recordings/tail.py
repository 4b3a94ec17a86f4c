"""A growing file read line by line from a byte offset, as yt-dlp writes its live chat.

yt-dlp appends each polled batch of chat lines and flushes it (issue 11), so the file can be
followed while it grows. Only complete lines are handed out, each with the offset just after
it, which a reader keeps to resume without doubles; a last line with no newline yet (a batch
still being written, or cut by a killed yt-dlp, maybe in the middle of a character) waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO, TypeAlias

log = logging.getLogger(__name__)

Lines: TypeAlias = list[tuple[bytes, int]]
Path: TypeAlias = str | os.PathLike[str]
# How much one read takes at most (more when a single line is longer): a file of 100,000 chat
# lines is a few hundred megabytes, never read whole.
CHUNK = 1 << 20


def complete_lines(path: Path, offset: int, *, limit: int = CHUNK) -> tuple[Lines, int]:
    """The complete lines after `offset` (without their newline), each with the offset after it,
    and the offset after the last one; ([], offset) when there is none or no file yet."""
    try:
        with open(path, "rb") as file:
            return _read(file, offset, limit)
    except FileNotFoundError:
        return [], offset


def _read(file: BinaryIO, offset: int, limit: int) -> tuple[Lines, int]:
    if offset < 0 or limit < 1:
        raise ValueError(f"an offset from 0 and a limit from 1, not {offset} and {limit}")
    file.seek(offset)
    data = bytearray()
    while chunk := file.read(limit):
        data += chunk
        if b"\n" in chunk:
            break
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    lines: Lines = []
    for line in bytes(data[:end]).split(b"\n"):
        offset += len(line) + 1
        lines.append((line, offset))
    return lines, offset


@dataclass(frozen=True, slots=True)
class _Batch:
    lines: Lines
    offset: int
    identity: tuple[int, int] | None  # the file's (device, inode); None: no file yet


def _poll(path: Path, offset: int, identity: tuple[int, int] | None, limit: int) -> _Batch:
    """The next lines of the file, from the start again if it is another file or got shorter
    than `offset` (replaced or truncated: its old offsets mean nothing)."""
    try:
        with open(path, "rb") as file:
            # The open file's own identity and size: a replacement after this is seen next time.
            status = os.fstat(file.fileno())
            now = (status.st_dev, status.st_ino)
            if (identity is not None and now != identity) or status.st_size < offset:
                log.warning("%s was replaced or truncated: read again from the start", path)
                offset = 0
            lines, offset = _read(file, offset, limit)
            return _Batch(lines, offset, now)
    except FileNotFoundError:
        return _Batch([], offset, identity)


async def follow(
    path: Path,
    offset: int,
    *,
    poll: float = 0.2,
    stop: asyncio.Event,
    limit: int = CHUNK,
) -> AsyncIterator[tuple[bytes, int]]:
    """Each complete line from `offset` on, with the offset after it, as the file grows, until
    `stop` is set. The file may not exist yet; if it is replaced or truncated, it is read again
    from the start. The reads run in a thread, off the event loop."""
    identity: tuple[int, int] | None = None
    while not stop.is_set():
        batch = await asyncio.to_thread(_poll, path, offset, identity, limit)
        identity, offset = batch.identity, batch.offset
        for line, after in batch.lines:
            if stop.is_set():
                return
            yield line, after
        if not batch.lines:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
