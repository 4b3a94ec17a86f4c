"""The SRT ingest (issue 16): a real ffmpeg studio calling our ffmpeg SRT listener."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from server import children
from server.broadcast.ffmpeg import ffmpeg_program
from server.broadcast.flv import AUDIO, DATA, VIDEO
from server.broadcast.srt import start_srt
from tests.helpers import TIMEOUT, wait_for
from tests.media import Session

pytestmark = pytest.mark.anyio

PASSPHRASE = "m1-srt-passphrase"
STUDIO = [
    "-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i",
    "sine=frequency=440", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-tune",
    "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "mpegts",
]  # fmt: skip


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def udp_bound(port: int) -> bool:
    """Someone listens on UDP `port` (Linux's table of sockets): the listener is ready."""
    table = Path("/proc/net/udp").read_text()
    return f":{port:04X} " in table


async def studio(port: int, passphrase: str) -> tuple[int, str]:
    url = f"srt://127.0.0.1:{port}?mode=caller&passphrase={passphrase}&pbkeylen=16"
    process = await asyncio.create_subprocess_exec(
        ffmpeg_program(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        *STUDIO,
        url,
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=children.preexec(),
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), 2 * TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode(errors="replace")


async def test_an_srt_studio_s_media_arrives_as_tags_and_its_end_closes_cleanly() -> None:
    session, port = Session(), free_udp_port()
    ingest = await start_srt(ffmpeg_program(), "127.0.0.1", port, PASSPHRASE, session)
    try:
        await wait_for(lambda: udp_bound(port), what="the SRT listener")
        assert (await studio(port, PASSPHRASE))[0] == 0
        await wait_for(lambda: session.reasons == [""], what="closed('') when the studio ends")
        assert not ingest.running
    finally:
        await ingest.aclose()
    assert session.reasons == [""]  # aclose() does not close it twice
    assert session.tags[0].kind == DATA
    video = [tag for tag in session.tags if tag.kind == VIDEO]
    audio = [tag for tag in session.tags if tag.kind == AUDIO]
    assert video[0].sequence_header
    assert audio[0].sequence_header
    assert video[1].keyframe
    assert 1800 <= video[-1].timestamp - video[0].timestamp <= 2100


async def test_a_wrong_passphrase_gets_nothing_in() -> None:
    session, port = Session(), free_udp_port()
    ingest = await start_srt(ffmpeg_program(), "127.0.0.1", port, PASSPHRASE, session)
    try:
        await wait_for(lambda: udp_bound(port), what="the SRT listener")
        code, _ = await studio(port, "not-the-passphrase")
        assert code != 0
        assert ingest.running
    finally:
        await ingest.aclose()
    assert session.tags == []
    assert session.reasons == ["server closing"]


@pytest.mark.parametrize("passphrase", ["short", "with space in it", "x" * 80])
async def test_a_bad_passphrase_is_refused(passphrase: str) -> None:
    with pytest.raises(ValueError, match="10 to 79"):
        await start_srt(ffmpeg_program(), "127.0.0.1", 9, passphrase, Session())


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("/bin/echo", "ffmpeg wrote no FLV: not an FLV stream"),
        ("/bin/false", "ffmpeg exited with 1: "),
    ],
)
async def test_an_ffmpeg_that_fails_closes_the_session_with_why(program: str, reason: str) -> None:
    session = Session()
    ingest = await start_srt(program, "127.0.0.1", 9, PASSPHRASE, session)
    try:
        await wait_for(lambda: session.reasons != [], what="closed")
    finally:
        await ingest.aclose()
    assert session.reasons == [reason]
