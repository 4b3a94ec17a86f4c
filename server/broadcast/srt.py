"""The SRT ingest of one meeting: an ffmpeg SRT listener whose FLV output becomes tags (issue 16).

SRT (Haivision's Secure Reliable Transport, over UDP) is what vMix and OBS offer beside RTMP on
lossy links. We do not speak it ourselves: ffmpeg (built with libsrt) listens, copies the
codecs into FLV on its stdout, and the tags go to the meeting's `Publishing` as the RTMP
ingest's do. One listener takes one studio: when the studio leaves, ffmpeg ends and the
session is closed; a new listener is the caller's to start. The passphrase (10-79 characters,
SRT's own AES encryption) is handed to ffmpeg on its command line and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from server.broadcast.flv import FlvError, FlvReader
from server.broadcast.rtmp import Publishing
from server.children import preexec

logger = logging.getLogger(__name__)

READ_SIZE = 65536
PASSPHRASE = re.compile(r"[A-Za-z0-9_-]{10,79}")  # SRT's 10-79 characters, safe in ffmpeg's URL


class SrtIngest:
    """One running SRT listener; `aclose()` ends its ffmpeg by its PID."""

    def __init__(
        self, process: asyncio.subprocess.Process, port: int, publishing: Publishing
    ) -> None:
        self.port = port
        self._process = process
        self._publishing = publishing
        self._closed = False
        self._last_error = ""
        self._errors = asyncio.create_task(self._read_errors())
        self._task = asyncio.create_task(self._pump())

    @property
    def running(self) -> bool:
        """Its ffmpeg still listens or reads."""
        return not self._task.done()

    async def _read_errors(self) -> None:
        """ffmpeg's stderr, read as it comes (a full pipe would stall it); the last line kept."""
        assert self._process.stderr is not None
        while line := await self._process.stderr.readline():
            self._last_error = line.decode(errors="replace").strip() or self._last_error

    async def _pump(self) -> None:
        assert self._process.stdout is not None
        reader, reason = FlvReader(), ""
        try:
            while chunk := await self._process.stdout.read(READ_SIZE):
                for tag in reader.feed(chunk):
                    await self._publishing.tag(tag)  # a slow session slows ffmpeg's pipe
        except FlvError as error:
            reason = f"ffmpeg wrote no FLV: {error}"
        code = await self._process.wait()
        await self._errors
        if code != 0 and not reason:
            reason = f"ffmpeg exited with {code}: {self._last_error}"
        logger.info("srt: port %d closed: %s", self.port, reason or "the studio stopped")
        await self._close(reason)

    async def _close(self, reason: str) -> None:
        if not self._closed:
            self._closed = True
            await self._publishing.closed(reason)

    async def aclose(self) -> None:
        """Stop listening: ffmpeg is killed by its PID, and the session gets
        closed("server closing") unless it was closed already."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()
        await self._errors
        await self._close("server closing")


async def start_srt(
    ffmpeg: str, host: str, port: int, passphrase: str, publishing: Publishing
) -> SrtIngest:
    """Listen for one studio at `srt://host:port` with `passphrase`; its media goes to
    `publishing`."""
    if not PASSPHRASE.fullmatch(passphrase):
        raise ValueError("an SRT passphrase has 10 to 79 of A-Z a-z 0-9 _ -")
    url = f"srt://{host}:{port}?mode=listener&passphrase={passphrase}&pbkeylen=16"
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        url,
        "-c",
        "copy",
        "-f",
        "flv",
        "-flvflags",
        "no_duration_filesize",
        "pipe:1",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=preexec(),
    )
    return SrtIngest(process, port, publishing)
