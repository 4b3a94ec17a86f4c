"""The ffmpeg processes of a broadcast (issue 16): finding the program, their command lines,
starting and ending one by its PID, and keeping destination URLs (secrets) out of what they
print. The supervision (restarts, backoff) is in `supervise.py`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from server.children import preexec

logger = logging.getLogger("halyq.broadcast")

STOP_SECONDS = 5.0  # after SIGTERM, before SIGKILL
EXIT_SECONDS = 3.0  # after stdin is closed, for ffmpeg to finish its files on its own
NAME = re.compile(r"[a-z0-9_-]{1,32}")
BASE = ("-hide_banner", "-nostdin", "-loglevel", "error", "-f", "flv", "-i", "pipe:0")
MEDIA = ("-map", "0:v?", "-map", "0:a?")  # not the data stream flv makes of onMetaData


def ffmpeg_program(configured: str = "") -> str:
    """HALYQ_FFMPEG, else `ffmpeg` on PATH, else the imageio-ffmpeg wheel's binary."""
    if configured:
        return configured
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg  # type: ignore[import-untyped]

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True, slots=True)
class Output:
    """One restream destination: `url` holds the platform's stream key, a secret."""

    name: str  # [a-z0-9_-]{1,32}
    url: str  # rtmp:// or rtmps:// with the key


def masked(url: str) -> str:
    """The URL as staff may see it: the key (its last path segment) reduced to its last 4."""
    head, _, key = url.rpartition("/")
    if not head or "://" not in url or head.endswith(":/"):
        return "****" + url[-4:] if len(url) > 8 else "****"
    head = re.sub(r"//[^/@]*@", "//****@", head)  # a user:password in the URL
    return f"{head}/****{key[-4:] if len(key) > 8 else ''}"


def mask_text(text: str, urls: list[str]) -> str:
    """`text` (an ffmpeg error line) with every URL, and every key alone, masked."""
    for url in urls:
        key = url.rpartition("/")[2]
        text = text.replace(url, masked(url))
        if len(key) >= 4:
            text = text.replace(key, "****" + (key[-4:] if len(key) > 8 else ""))
    return text


class Backoff:
    """Delays between restarts: 0.5 s doubling to 30 s, each jittered by +-25% so that many
    destinations failing together do not retry together."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.delay = first, cap, first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.cap, self.delay * 2)
        return min(self.cap, delay * random.uniform(0.75, 1.25))

    def reset(self) -> None:
        self.delay = self.first


def hls_command(
    program: str, folder: Path, *, part: int, segment_seconds: float, list_size: int,
    low_rendition: int,
) -> list[str]:  # fmt: skip
    """Our HLS and the recording part from one FLV input, codecs copied. Segments are named by
    part (p0002-00001.ts) so a new part never overwrites an old one, and the playlist goes on
    (append_list) with a discontinuity. With `low_rendition` a second, encoded rendition."""
    hls, recording = folder / "hls", folder / "recording"
    flags = "delete_segments+append_list+omit_endlist+program_date_time+independent_segments"
    if part > 1:
        flags += "+discont_start"
    common = ["-f", "hls", "-hls_time", f"{segment_seconds:g}", "-hls_list_size", str(list_size)]
    common += ["-hls_delete_threshold", "4", "-hls_flags", flags, "-start_number", "1"]
    command = [program, *BASE, *MEDIA, "-c", "copy", *common]
    if low_rendition:
        command += ["-hls_segment_filename", str(hls / f"p{part:04d}-%05d.ts")]
        command += [str(hls / "main.m3u8"), "-map", "0:v:0?", "-map", "0:a:0?"]
        command += ["-c:v", "libx264", "-preset", "veryfast", "-b:v", "600k", "-maxrate", "700k"]
        command += ["-bufsize", "1200k", "-vf", f"scale=-2:{low_rendition}", "-c:a", "copy"]
        command += ["-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds:g})", *common]
        command += ["-hls_segment_filename", str(hls / f"p{part:04d}-low-%05d.ts")]
        command += [str(hls / "low.m3u8")]
    else:
        command += ["-hls_segment_filename", str(hls / f"p{part:04d}-%05d.ts")]
        command += ["-hls_base_url", "live/", str(hls / "live.m3u8")]
    command += [*MEDIA, "-c", "copy", "-f", "mpegts", str(recording / part_file(part))]
    return command


def part_file(part: int) -> str:
    """The recording file of one continuous part."""
    return f"part-{part:04d}.ts"


def restream_command(program: str, url: str) -> list[str]:
    """One destination: FLV in, codecs copied, FLV out over RTMP(S). `-rw_timeout` (in µs)
    makes a peer that stops reading an error rather than a hang."""
    return [program, *BASE, *MEDIA, "-c", "copy", "-rw_timeout", "10000000", "-f", "flv", url]


class Ffmpeg:
    """One running ffmpeg: FLV goes in on `stdin`; its stderr is read line by line, masked,
    logged, and the last line kept as the reason it failed."""

    def __init__(self, process: asyncio.subprocess.Process, label: str, urls: list[str]) -> None:
        self.process, self.label, self.urls = process, label, urls
        self.last_line = ""
        assert process.stdin is not None
        assert process.stderr is not None
        self.stdin: asyncio.StreamWriter = process.stdin
        self._reader = asyncio.create_task(self._read(process.stderr))

    @classmethod
    async def start(cls, command: list[str], label: str, urls: list[str]) -> Ffmpeg:
        """Starts it; raises OSError when the program cannot run."""
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, preexec_fn=preexec(),
        )  # fmt: skip
        return cls(process, label, urls)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read(self, stderr: asyncio.StreamReader) -> None:
        while line := await stderr.readline():
            text = mask_text(line.decode(errors="replace").strip(), self.urls)
            if text:
                self.last_line = text[:300]
                logger.warning("ffmpeg %s (pid %d): %s", self.label, self.pid, text)

    async def wait(self) -> int:
        """Its exit status, once it has exited and its stderr is read."""
        code = await self.process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), 1.0)
        return code

    async def stop(
        self, exit_seconds: float = EXIT_SECONDS, term_seconds: float = STOP_SECONDS
    ) -> None:
        """Ends it by its PID: stdin closed (ffmpeg finishes its files), then SIGTERM, then
        SIGKILL after 5 s; always waited for, so no zombie is left."""
        with contextlib.suppress(Exception):
            self.stdin.close()
        for sig, seconds in ((None, exit_seconds), (signal.SIGTERM, term_seconds)):
            if sig is not None and self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), seconds)
                break
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.wait()
        self._reader.cancel()
