"""The broadcast manager with real ffmpeg processes (issue 16): a studio (ffmpeg making FLV from
lavfi testsrc and a tone, paced in real time) feeds a meeting's session; our HLS and the
recording appear and play, two local RTMP listeners stand in for YouTube and Facebook, a studio
back within the grace period continues the broadcast, and dead ffmpeg processes come back."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from server.broadcast.ffmpeg import Output, ffmpeg_program
from server.broadcast.flv import DATA, FlvReader, Tag
from server.broadcast.manager import BroadcastEnded, Broadcasts
from server.children import preexec
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.anyio

FFMPEG = ffmpeg_program()
QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")
STUDIO = (FFMPEG, *QUIET, "-re", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=30",
          "-f", "lavfi", "-i", "sine=frequency=440", "-c:v", "libx264", "-preset", "ultrafast",
          "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac",
          "-b:a", "64k")  # fmt: skip
KEYS = ("k3yYouTubeSecret0001", "k3yFacebookSecret0002", "k3yInstagramSecret0003")


class Notes:
    """What the manager told of its meetings' changes (the `changed` callback)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, int]] = []
        self.outputs: list[Output] = []

    async def changed(self, meeting_id: str, state: str, part: int, at: int) -> None:
        self.seen.append((meeting_id, state, part, at))

    async def destinations(self, meeting_id: str) -> list[Output]:
        return list(self.outputs)

    def states(self) -> list[tuple[str, int]]:
        return [(state, part) for _, state, part, _ in self.seen]


def manager(tmp_path: Path, notes: Notes, grace: float = 30.0, low: int = 0) -> Broadcasts:
    return Broadcasts(
        folder=tmp_path / "broadcast", ffmpeg=FFMPEG, grace=grace, segment_seconds=1.0,
        list_size=3, low_rendition=low, outputs=notes.destinations, changed=notes.changed,
    )  # fmt: skip


async def feed(session: Any, seconds: float, sent: list[Tag]) -> None:
    """Runs a studio for `seconds` into `session`, then closes it cleanly. Cancelled, it ends
    the studio's ffmpeg (by its PID) without closing the session."""
    process = await asyncio.create_subprocess_exec(
        *STUDIO, "-t", f"{seconds:g}", "-f", "flv", "pipe:1", stdout=asyncio.subprocess.PIPE,
        preexec_fn=preexec(),
    )  # fmt: skip
    assert process.stdout is not None
    reader = FlvReader()
    try:
        while chunk := await process.stdout.read(65536):
            for tag in reader.feed(chunk):
                sent.append(tag)
                await session.tag(tag)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    await session.closed("")


def media_ms(tags: list[Tag]) -> int:
    """The span of the media sent, by its own timestamps."""
    stamps = [t.timestamp for t in tags if t.kind != DATA]
    return max(stamps) - min(stamps)


def duration_ms(path: Path) -> int:
    """A media file's duration as ffmpeg reads it (there is no ffprobe in the wheel)."""
    run = subprocess.run(
        [FFMPEG, "-nostdin", "-hide_banner", "-i", str(path), "-c", "copy", "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", run.stderr)[-1]
    return int((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)


def playlist(broadcasts: Broadcasts, meeting_id: str) -> str:
    path = broadcasts.playlist(meeting_id)
    return path.read_text() if path.exists() else ""


def sequence(text: str) -> int:
    found = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    return int(found.group(1)) if found else -1


def status(broadcasts: Broadcasts, meeting_id: str) -> dict[str, Any]:
    body = broadcasts.status(meeting_id)
    assert body is not None
    return body


@asynccontextmanager
async def running(broadcasts: Broadcasts) -> AsyncIterator[Broadcasts]:
    try:
        yield broadcasts
    finally:
        await broadcasts.aclose()


@contextmanager
def listener(port: int, key: str, out: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in for YouTube or Facebook: ffmpeg listening for one RTMP publisher."""
    command = [FFMPEG, *QUIET, "-listen", "1", "-i", f"rtmp://127.0.0.1:{port}/live2/{key}"]
    command += ["-c", "copy", "-flush_packets", "1", "-f", "flv", "-y", str(out)]
    process = subprocess.Popen(command, preexec_fn=preexec())
    try:
        yield process
    finally:  # SIGKILL: a listener blocked reading its peer may not heed SIGTERM for long
        process.kill()
        process.wait()


def keyframes(path: Path) -> int:
    """Video keyframes in an FLV file a listener wrote: it received a playable stream."""
    return sum(t.keyframe for t in FlvReader().feed(path.read_bytes()) if not t.sequence_header)


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def children(word: str) -> list[psutil.Process]:
    """Our ffmpeg children whose command line names `word`."""
    found = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if any(word in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


async def test_a_part_makes_a_playable_playlist_and_its_recording(tmp_path: Path) -> None:
    notes = Notes()
    async with running(manager(tmp_path, notes)) as broadcasts:
        assert broadcasts.status("m1") is None
        session = await broadcasts.publish("m1")
        assert session is not None
        assert await broadcasts.publish("m1") is None  # one studio per meeting
        assert broadcasts.live == {"m1"}
        sent: list[Tag] = []
        await feed(session, 3.5, sent)
        await wait_for(lambda: notes.states()[-1:] == [("reconnecting", 1)], what="reconnecting")
        folder = tmp_path / "broadcast" / "m1"
        text = playlist(broadcasts, "m1")
        assert "live/p0001-" in text
        assert "#EXT-X-ENDLIST" not in text
        body = status(broadcasts, "m1")
        assert body["ingest"]["video"] == "h264"
        assert body["ingest"]["audio"] == "aac"
        assert body["ingest"]["grace_until"] > 0
        await broadcasts.end("m1")
        assert playlist(broadcasts, "m1").endswith("#EXT-X-ENDLIST\n")
        served = tmp_path / "served"  # the routes' layout: /m/ID/live.m3u8 and /m/ID/live/NAME
        served.mkdir()
        (served / "live.m3u8").symlink_to(broadcasts.playlist("m1"))
        (served / "live").symlink_to(folder / "hls")
        assert await asyncio.to_thread(duration_ms, served / "live.m3u8") >= 1500  # it plays
        await wait_for(lambda: notes.states()[-1:] == [("ended", 1)], what="ended")
        assert notes.states() == [("live", 1), ("reconnecting", 1), ("ended", 1)]
        recording = status(broadcasts, "m1")["recording"]
        (part,) = recording["parts"]
        assert part["file"] == "part-0001.ts"
        assert part["started_at"] == notes.seen[0][3]  # the event's `at` is the part's start
        assert abs(part["duration_ms"] - media_ms(sent)) <= 1000
        assert recording["bytes"] == (folder / "recording" / "part-0001.ts").stat().st_size > 0
        assert broadcasts.segment("m1", "../hls/live.m3u8") is None
        assert broadcasts.segment("m1", "p0001-00001.ts") == folder / "hls" / "p0001-00001.ts"
        assert broadcasts.live == frozenset()


async def test_a_studio_back_within_grace_continues_with_a_new_part(tmp_path: Path) -> None:
    notes = Notes()
    async with running(manager(tmp_path, notes, grace=1.5)) as broadcasts:
        parts: list[list[Tag]] = [[], []]
        for sent in parts:
            session = await broadcasts.publish("m2")
            await feed(session, 3.0, sent)
        await wait_for(lambda: notes.states()[-1:] == [("ended", 2)], what="grace expiry")
        assert notes.states() == [
            ("live", 1), ("reconnecting", 1), ("live", 2), ("reconnecting", 2), ("ended", 2)
        ]  # fmt: skip
        text = playlist(broadcasts, "m2")
        assert text.count("#EXT-X-ENDLIST") == 1
        assert "#EXT-X-DISCONTINUITY" in text
        assert "live/p0002-" in text
        folder = tmp_path / "broadcast" / "m2" / "recording"
        recorded = status(broadcasts, "m2")["recording"]["parts"]
        assert [p["file"] for p in recorded] == ["part-0001.ts", "part-0002.ts"]
        for record, sent in zip(recorded, parts, strict=True):
            recorded_ms = await asyncio.to_thread(duration_ms, folder / record["file"])
            assert abs(recorded_ms - media_ms(sent)) <= 1000
        assert recorded[0]["ended_at"] < recorded[1]["started_at"]
        await broadcasts.end("m2")  # already ended: nothing more told
        assert notes.states().count(("ended", 2)) == 1
        assert status(broadcasts, "m2")["state"] == "ended"
        session = await broadcasts.publish("m2")  # a studio after the end starts again
        studio = asyncio.create_task(feed(session, 30, []))
        try:
            await wait_for(lambda: "live/p0003-" in playlist(broadcasts, "m2"), what="part 3")
            assert "#EXT-X-ENDLIST" not in playlist(broadcasts, "m2")
            assert notes.states()[-1] == ("live", 3)
        finally:
            studio.cancel()
            await asyncio.gather(studio, return_exceptions=True)
        await broadcasts.end("m2")
        assert playlist(broadcasts, "m2").count("#EXT-X-ENDLIST") == 1
        await wait_for(lambda: notes.states()[-1] == ("ended", 3), what="ended again")


async def test_each_destination_gets_the_stream_and_fails_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "halyq.broadcast")
    notes = Notes()
    ports = free_port(), free_port(), free_port()
    names = ("youtube", "facebook", "instagram")
    notes.outputs = [Output(name, f"rtmp://127.0.0.1:{port}/live2/{key}")
                     for name, port, key in zip(names, ports, KEYS, strict=True)]  # fmt: skip
    outs = [tmp_path / "youtube.flv", tmp_path / "facebook.flv", tmp_path / "youtube-2.flv"]
    async with running(manager(tmp_path, notes)) as broadcasts:
        session = await broadcasts.publish("m3")
        assert session is not None
        studio = asyncio.create_task(feed(session, 60, []))
        try:
            with (
                listener(ports[0], KEYS[0], outs[0]) as youtube,
                listener(ports[1], KEYS[1], outs[1]),
            ):

                def states() -> list[str]:
                    return [o["state"] for o in status(broadcasts, "m3")["outputs"]]

                await wait_for(lambda: states()[:2] == ["live", "live"], what="both listeners live")
                await wait_for(lambda: min(size(outs[0]), size(outs[1])) > 30_000)
                assert keyframes(outs[0]) >= 1
                assert keyframes(outs[1]) >= 1
                youtube.kill()  # YouTube goes away, and comes back at once on the same port
                youtube.wait()
                await wait_for(lambda: states()[0] == "retrying", what="youtube retrying")
                facebook_bytes, hls = size(outs[1]), sequence(playlist(broadcasts, "m3"))
                with listener(ports[0], KEYS[0], outs[2]):
                    await wait_for(lambda: size(outs[2]) > 30_000, what="youtube's output again")
                    await wait_for(lambda: states() == ["live", "live", "retrying"])
                    await wait_for(lambda: sequence(playlist(broadcasts, "m3")) >= hls + 2)
                    assert size(outs[1]) > facebook_bytes + 30_000  # facebook went on
                    assert keyframes(outs[2]) >= 1
                    body = status(broadcasts, "m3")
                youtube_status, facebook_status, instagram_status = body["outputs"]
                assert youtube_status["restarts"] >= 1
                assert youtube_status["url"] == f"rtmp://127.0.0.1:{ports[0]}/live2/****0001"
                assert facebook_status["restarts"] == 0
                assert facebook_status["bitrate_kbps"] > 0
                assert body["hls"] == {"state": "running", "playlist": "/m/m3/live.m3u8",
                                       "restarts": 0, "low_rendition": 0}  # fmt: skip
                assert instagram_status["retry_at"] > 0  # nobody listens there: it retries
                assert "Connection refused" in instagram_status["error"]  # ffmpeg's words
        finally:
            studio.cancel()
            await asyncio.gather(studio, return_exceptions=True)
        notes.outputs = notes.outputs[1:2]  # removed mid-broadcast: they stop
        await wait_for(
            lambda: [o["name"] for o in status(broadcasts, "m3")["outputs"]] == ["facebook"]
        )
        await broadcasts.end("m3")
        with pytest.raises(BroadcastEnded):  # the studio still sending is let go
            await session.tag(Tag(DATA, 0, b""))
    assert "****0003" in caplog.text  # ffmpeg's errors were logged, masked
    assert not any(key in caplog.text for key in KEYS)


async def test_a_dead_ingest_ffmpeg_is_restarted_with_a_new_part(tmp_path: Path) -> None:
    notes = Notes()
    async with running(manager(tmp_path, notes)) as broadcasts:
        session = await broadcasts.publish("m4")
        assert session is not None
        studio = asyncio.create_task(feed(session, 60, []))
        try:
            hls = str(tmp_path / "broadcast" / "m4" / "hls")
            await wait_for(lambda: "live/p0001-" in playlist(broadcasts, "m4"), what="part 1")
            (ingest,) = children(hls)
            ingest.kill()  # the ingest ffmpeg dies under a connected studio
            await wait_for(lambda: "live/p0002-" in playlist(broadcasts, "m4"), what="part 2")
            body = status(broadcasts, "m4")
            assert body["hls"]["restarts"] == 1
            assert body["ingest"]["part"] == 2
            assert body["state"] == "live"  # the studio never left: no change told
            assert notes.states() == [("live", 1)]
            assert "#EXT-X-DISCONTINUITY" in playlist(broadcasts, "m4")
        finally:
            studio.cancel()
            await asyncio.gather(studio, return_exceptions=True)
    parts = status(broadcasts, "m4")["recording"]["parts"]
    assert [p["part"] for p in parts] == [1, 2]
    assert children(hls) == []  # aclose ended every ffmpeg


async def test_a_lower_rendition_is_offered_beside_the_copied_one(tmp_path: Path) -> None:
    notes = Notes()
    async with running(manager(tmp_path, notes, low=144)) as broadcasts:
        session = await broadcasts.publish("m5")
        await feed(session, 2.5, [])
        await broadcasts.end("m5")
        hls = tmp_path / "broadcast" / "m5" / "hls"
        master = playlist(broadcasts, "m5")
        assert "live/main.m3u8" in master
        assert "RESOLUTION=256x144" in master
        for name in ("main.m3u8", "low.m3u8"):
            path = broadcasts.segment("m5", name)
            assert path is not None
            assert path.read_text().endswith("#EXT-X-ENDLIST\n")
        assert "p0001-low-" in (hls / "low.m3u8").read_text()
        assert await asyncio.to_thread(duration_ms, hls / "low.m3u8") >= 1000  # it plays
        assert status(broadcasts, "m5")["hls"]["low_rendition"] == 144


async def test_failing_callbacks_and_a_missing_ffmpeg_break_nothing_else(tmp_path: Path) -> None:
    async def refuse(*args: object) -> Any:
        raise RuntimeError("the store is down")

    broadcasts = Broadcasts(
        folder=tmp_path / "broadcast", ffmpeg=FFMPEG, grace=30, segment_seconds=1.0, list_size=3,
        low_rendition=0, outputs=refuse, changed=refuse,
    )  # fmt: skip
    async with running(broadcasts):
        session = await broadcasts.publish("m6")
        assert session is not None
        await session.tag(Tag(DATA, 0, b"\x02\x00\x0aonMetaData"))  # headers, never media
        await session.closed("connection reset")
        assert status(broadcasts, "m6")["state"] == "waiting"  # no part began
        session = await broadcasts.publish("m6")
        assert session is not None
        await feed(session, 2.0, [])
        assert status(broadcasts, "m6")["state"] == "reconnecting"  # told or not, it went on
        assert [p["part"] for p in status(broadcasts, "m6")["recording"]["parts"]] == [1]
    missing = Notes()
    broken = Broadcasts(
        folder=tmp_path / "other", ffmpeg=str(tmp_path / "no-ffmpeg"), grace=30,
        segment_seconds=1.0, list_size=3, low_rendition=0, outputs=missing.destinations,
        changed=missing.changed,
    )  # fmt: skip
    async with running(broken):
        session = await broken.publish("m7")
        assert session is not None
        await session.tag(Tag(DATA, 0, b"\x02\x00\x0aonMetaData"))
        await wait_for(lambda: status(broken, "m7")["hls"]["state"] == "restarting")
        assert status(broken, "m7")["state"] == "waiting"
        await session.closed("")
        await broken.end("m7")
        assert missing.seen == []  # never live: nothing to tell
