"""The ffmpeg processes of a broadcast (issue 16): which program runs, the command lines, how a
destination's key is kept out of sight, the backoff between restarts, and ending a process that
will not end by itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from server.broadcast.ffmpeg import (
    Backoff,
    Ffmpeg,
    ffmpeg_program,
    hls_command,
    mask_text,
    masked,
    restream_command,
)
from tests.helpers import wait_for

YOUTUBE = "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-wxyz"
FACEBOOK = "rtmps://live-api-s.facebook.com:443/rtmp/FB-1234567890-0-AbCdEfGhIjKl?s_bl=1&s_sw=0"


def test_the_configured_ffmpeg_wins_then_path_then_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ffmpeg_program("/opt/ffmpeg/bin/ffmpeg") == "/opt/ffmpeg/bin/ffmpeg"
    on_path = tmp_path / "ffmpeg"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ffmpeg_program() == str(on_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    wheel = ffmpeg_program()
    assert "imageio_ffmpeg" in wheel
    assert os.access(wheel, os.X_OK)


def test_a_destination_url_is_shown_with_its_last_four_characters() -> None:
    assert masked(YOUTUBE) == "rtmp://a.rtmp.youtube.com/live2/****wxyz"
    assert masked(FACEBOOK) == "rtmps://live-api-s.facebook.com:443/rtmp/****sw=0"
    assert masked("rtmp://host/app/short") == "rtmp://host/app/****"
    assert masked("rtmp://user:pass@host/app/k3y-long-secret") == "rtmp://****@host/app/****cret"
    assert masked("no-scheme-secret-value") == "****alue"
    assert masked("rtmp://") == "****"


def test_ffmpeg_words_never_carry_a_key() -> None:
    line = f"Error opening output {YOUTUBE}: Connection refused (key abcd-efgh-ijkl-mnop-wxyz)"
    shown = mask_text(line, [YOUTUBE, "rtmp://h/a/xy"])
    assert "abcd-efgh" not in shown
    assert shown.count("****wxyz") == 2


def test_the_backoff_doubles_to_30_seconds_with_jitter_and_resets() -> None:
    backoff = Backoff()
    delays = [backoff.next() for _ in range(10)]
    for delay, nominal in zip(delays, [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30], strict=True):
        assert nominal * 0.75 <= delay <= min(30.0, nominal * 1.25)
    backoff.reset()
    assert backoff.next() <= 0.625


def test_the_ingest_command_continues_the_playlist_after_the_first_part(tmp_path: Path) -> None:
    first = hls_command("ffmpeg", tmp_path, part=1, segment_seconds=1.0, list_size=6,
                        low_rendition=0)  # fmt: skip
    second = hls_command("ffmpeg", tmp_path, part=2, segment_seconds=0.5, list_size=6,
                         low_rendition=0)  # fmt: skip
    assert "discont_start" not in " ".join(first)
    assert "+discont_start" in " ".join(second)
    assert str(tmp_path / "hls" / "p0002-%05d.ts") in second
    assert second[second.index("-hls_time") + 1] == "0.5"
    assert second[second.index("-hls_base_url") + 1] == "live/"
    assert second[-1] == str(tmp_path / "recording" / "part-0002.ts")
    assert "libx264" not in first  # codecs copied: no transcoding by default
    low = hls_command("ffmpeg", tmp_path, part=1, segment_seconds=1.0, list_size=6,
                      low_rendition=360)  # fmt: skip
    assert "scale=-2:360" in low
    assert str(tmp_path / "hls" / "low.m3u8") in low
    assert "-hls_base_url" not in low  # renditions sit beside the master's live/ folder


def test_a_restream_command_copies_codecs_and_notices_a_dead_peer() -> None:
    command = restream_command("ffmpeg", YOUTUBE)
    assert command[-1] == YOUTUBE
    assert command[command.index("-c") + 1] == "copy"
    assert "-rw_timeout" in command


@pytest.mark.anyio
async def test_a_process_that_ignores_sigterm_is_killed_by_its_pid() -> None:
    stubborn = "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + (
        "print('ready', flush=True, file=sys.stderr); sys.stdin.close(); signal.pause()"
    )
    process = await Ffmpeg.start([sys.executable, "-c", stubborn], "stubborn", [])
    await wait_for(lambda: process.last_line == "ready", what="the process to ignore SIGTERM")
    await process.stop(exit_seconds=0.1, term_seconds=0.2)  # SIGTERM ignored: SIGKILL
    assert process.process.returncode == -9


@pytest.mark.anyio
async def test_a_program_that_cannot_run_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="No such file"):
        await Ffmpeg.start([str(tmp_path / "no-ffmpeg")], "missing", [])
