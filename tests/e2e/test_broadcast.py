"""The broadcast's acceptance (issue 16), against a real `halyq serve` process with its RTMP
ingest on: a studio (ffmpeg: lavfi testsrc and a tone, in real time) pushes to the meeting's
`rtmp_url` from `halyq meeting keys --json`.

- our HLS playlist appears within 10 s, and headless Chromium plays it on the viewer page;
- two local RTMP listeners (ffmpeg `-listen 1`, standing in for YouTube and Facebook), added
  with `halyq meeting outputs add`, each receive the stream; one killed disturbs neither the
  other nor our HLS, and a listener started again on its port gets the stream again;
- the studio killed and started again within the grace period continues the broadcast: the same
  playlist after a discontinuity, the state back to live, and a recording of one file per
  continuous part, each as long as what was sent within one segment;
- a wrong stream key is refused: the studio's ffmpeg exits non-zero, nothing is published.

Each test has a meeting of its own on the one server of the module. Every process a test starts
is ended by its PID, also when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from moderation import StartMeeting
from server.broadcast.ffmpeg import ffmpeg_program
from server.children import preexec
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.e2e._chromium import TRAPS
from tests.helpers import (
    TIMEOUT,
    ServerProcess,
    end,
    environment,
    free_port,
    start_server,
    unique_prefix,
    wait_for,
)
from tests.server.test_meeting_outputs_cli import halyq

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

ADMIN_TOKEN = "broadcast-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
GRACE = 8.0  # seconds a studio may be away and continue the broadcast
SEGMENT_S = 1.0  # HALYQ_HLS_SEGMENT_SECONDS, and the studio's keyframe interval
APPEARS_S = 10.0  # the issue: the playlist appears within 10 s of the studio's start
FFMPEG = ffmpeg_program()
QUIET = ["-hide_banner", "-nostdin", "-loglevel", "error"]
SOURCE = ["-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
          "-re", "-f", "lavfi", "-i", "sine=frequency=440"]  # fmt: skip
ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
          "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"]  # fmt: skip
TIME = re.compile(r"time=(\d+):(\d+):(\d+\.\d+)")


@dataclass
class Node:
    """The `halyq serve` process, and how the test reaches its Redis and files."""

    server: ServerProcess
    redis_url: str
    prefix: str
    data: Path
    work: Path
    rtmp_port: int


@dataclass
class OnAir:
    """A live meeting of its own on the node, with its studio's RTMP URL."""

    node: Node
    meeting_id: str
    rtmp_url: str

    @property
    def folder(self) -> Path:
        return self.node.data / "broadcast" / self.meeting_id

    @property
    def playlist(self) -> Path:
        return self.folder / "hls" / "live.m3u8"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Node]:
    work = tmp_path_factory.mktemp("broadcast")
    prefix, data, port = unique_prefix(), work / "data", free_port()
    env = environment(
        REDIS_URL=redis_url, HALYQ_REDIS_PREFIX=prefix, HALYQ_DATA_DIR=str(data),
        HALYQ_ADMIN_TOKEN=ADMIN_TOKEN, HALYQ_RTMP_PORT=str(port),
        HALYQ_RTMP_HOST="127.0.0.1", HALYQ_BROADCAST_GRACE_SECONDS=str(GRACE),
        HALYQ_HLS_SEGMENT_SECONDS=str(SEGMENT_S),
    )  # fmt: skip
    server = start_server(work, "serve", env=env)
    try:
        yield Node(server, redis_url, prefix, data, work, port)
    finally:
        server.stop()


async def on_air(node: Node) -> OnAir:
    """A new live meeting, and its `rtmp_url` as `halyq meeting keys --json` prints it."""
    store = Store(node.redis_url, node.prefix)
    try:
        await store.check_durability()
        cases = UseCases(store=store)
        meeting = await create_meeting(cases, meeting_command())
        await change_meeting(cases, meeting.id, StartMeeting())
    finally:
        await store.close()
    keys = await asyncio.to_thread(
        shell, node, "meeting", "keys", meeting.id, "--json", "--base-url", node.server.url
    )
    return OnAir(node, meeting.id, json.loads(keys)["rtmp_url"])


def shell(node: Node, *args: str) -> str:
    """A `halyq` command on the node's Redis and settings, as an operator runs it; its stdout."""
    settings = Settings(redis_url=node.redis_url, redis_prefix=node.prefix)
    done = halyq(settings, *args, HALYQ_RTMP_PORT=str(node.rtmp_port))
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextlib.contextmanager
def process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process of this test, dying with it, ended by its PID."""
    with log.open("wb") as out:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=preexec(),
        )  # fmt: skip
    try:
        yield child
    finally:
        if child.poll() is None:
            end(child)


def studio(url: str, copy: Path, seconds: float = 0) -> list[str]:
    """A studio pushing to `url`; `copy` keeps what it sent (the tee's second output, written
    packet by packet: a studio killed has it all)."""
    bounded = ["-t", f"{seconds:g}"] if seconds else []
    return [FFMPEG, *QUIET, *SOURCE, *bounded, *ENCODE, "-map", "0:v", "-map", "1:a",
            "-f", "tee", f"[f=flv:onfail=abort]{url}|[f=mpegts:flush_packets=1]{copy}"]  # fmt: skip


def listener(port: int, out: Path) -> list[str]:
    """A stand-in for YouTube or Facebook: an RTMP server taking one stream into a file."""
    return [FFMPEG, *QUIET, "-listen", "1", "-i", f"rtmp://127.0.0.1:{port}/live2/key-{port}",
            "-c", "copy", "-flush_packets", "1", "-f", "flv", str(out)]  # fmt: skip


def duration(path: Path) -> float:
    """A media file's duration in seconds, as ffmpeg reads it through (there is no ffprobe)."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-c", "copy", "-f", "null", "-"],
        capture_output=True, text=True, timeout=TIMEOUT * 3,
    )  # fmt: skip
    found = TIME.findall(done.stderr)
    assert found, done.stderr[-2000:]
    hours, minutes, seconds = found[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def segments(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line.endswith(".ts")]


async def status(http: httpx.AsyncClient, meeting_id: str) -> dict[str, Any]:
    answer = await http.get(f"/api/meetings/{meeting_id}/broadcast", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def grows(path: Path, what: str) -> None:
    """Wait until `path` has grown, then a while more (data keeps coming)."""
    start = size(path)
    await wait_for(lambda: size(path) > start + 10_000, TIMEOUT * 2, what)


async def playlist_appears(broadcast: OnAir, started: float) -> None:
    await wait_for(lambda: broadcast.playlist.exists(), APPEARS_S * 2, "the playlist")
    took = time.monotonic() - started
    assert took < APPEARS_S, f"the playlist took {took:.1f} s"


@pytest.fixture
async def http(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.server.url, timeout=TIMEOUT) as client:
        yield client


async def test_the_playlist_appears_and_chromium_plays_it(
    node: Node, http: httpx.AsyncClient, browser: Browser
) -> None:
    broadcast = await on_air(node)
    with process(studio(broadcast.rtmp_url, node.work / "a.ts", 40), node.work / "a.log"):
        await playlist_appears(broadcast, time.monotonic())
        found = await http.get(f"/m/{broadcast.meeting_id}/live.m3u8")
        assert found.headers["content-type"] == "application/vnd.apple.mpegurl"
        first = segments(broadcast.playlist)[0].rsplit("/", 1)[1]
        segment = await http.get(f"/m/{broadcast.meeting_id}/live/{first}")
        assert segment.headers["content-type"] == "video/mp2t"
        assert segment.content[:1] == b"\x47"  # MPEG-TS
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        await page.add_init_script(TRAPS)
        await page.goto(f"{node.server.url}/m/{broadcast.meeting_id}?lang=en")
        video = "document.getElementById('video')"

        async def plays(beyond: float) -> bool:
            return bool(await page.evaluate(f"{video} && {video}.currentTime > {beyond}"))

        await wait_for(lambda: plays(0.0), TIMEOUT * 2, "the video to play")
        now = float(await page.evaluate(f"{video}.currentTime"))
        await wait_for(lambda: plays(now + 1.0), TIMEOUT, "currentTime to advance by 1 s")
        assert (await page.evaluate(f"{video}.currentSrc")) != ""
        assert await page.evaluate("window.__violations") == []
        await context.close()
        state = await status(http, broadcast.meeting_id)
        assert state["state"] == "live"
        assert state["ingest"]["video"] == "h264"
        assert state["ingest"]["audio"] == "aac"
        assert state["hls"]["state"] == "running"


async def test_each_listener_gets_the_stream_and_one_lost_disturbs_nothing(
    node: Node, http: httpx.AsyncClient
) -> None:
    broadcast = await on_air(node)
    work, ports = node.work, {"youtube": free_port(), "facebook": free_port()}
    files = {name: work / f"{name}-1.flv" for name in ports}
    with contextlib.ExitStack() as stack:
        listeners = {
            name: stack.enter_context(process(listener(port, files[name]), work / f"{name}.log"))
            for name, port in ports.items()
        }
        await asyncio.gather(*(
            asyncio.to_thread(
                shell, node, "meeting", "outputs", broadcast.meeting_id, "add",
                "--name", name, "--url", f"rtmp://127.0.0.1:{port}/live2/key-{port}",
            ) for name, port in ports.items()
        ))  # fmt: skip
        stack.enter_context(process(studio(broadcast.rtmp_url, work / "b.ts", 60), work / "b.log"))
        await playlist_appears(broadcast, time.monotonic())
        await asyncio.gather(*(grows(f, f"{f.name} to receive the stream") for f in files.values()))

        listeners["youtube"].send_signal(signal.SIGKILL)  # YouTube goes away
        listeners["youtube"].wait(TIMEOUT)
        before = segments(broadcast.playlist)
        await grows(files["facebook"], "facebook to go on receiving")

        async def retrying() -> bool:
            found = {
                o["name"]: o["state"] for o in (await status(http, broadcast.meeting_id))["outputs"]
            }
            return found == {"youtube": "retrying", "facebook": "live"}

        await wait_for(retrying, TIMEOUT, "youtube's output to be retrying, facebook's live")
        await wait_for(lambda: segments(broadcast.playlist)[-1] != before[-1], TIMEOUT,
                       "our playlist to go on growing")  # fmt: skip

        again = work / "youtube-2.flv"  # YouTube is back on its port
        stack.enter_context(process(listener(ports["youtube"], again), work / "youtube-2.log"))
        await grows(again, "youtube's output to resume")
        shown = [o["url"] for o in (await status(http, broadcast.meeting_id))["outputs"]]
        assert len(shown) == 2
        assert all("/live2/****" in url and "key-" not in url for url in shown)  # masked


async def test_a_studio_back_within_the_grace_continues_the_broadcast(
    node: Node, http: httpx.AsyncClient
) -> None:
    broadcast, work = await on_air(node), node.work
    sent = [work / "c1.ts", work / "c2.ts"]
    with process(studio(broadcast.rtmp_url, sent[0]), work / "c1.log") as first:
        await playlist_appears(broadcast, time.monotonic())
        await wait_for(lambda: len(segments(broadcast.playlist)) >= 4, TIMEOUT, "4 segments")
        first.send_signal(signal.SIGKILL)  # the studio's machine fails
        first.wait(TIMEOUT)

    async def state_is(expected: str) -> bool:
        return bool((await status(http, broadcast.meeting_id))["state"] == expected)

    await wait_for(lambda: state_is("reconnecting"), TIMEOUT, "the state to be reconnecting")
    with process(studio(broadcast.rtmp_url, sent[1], 5), work / "c2.log") as second:
        await wait_for(lambda: state_is("live"), TIMEOUT, "the state to be live again")
        assert (await status(http, broadcast.meeting_id))["ingest"]["part"] == 2
        await asyncio.to_thread(second.wait, TIMEOUT * 2)
        assert second.returncode == 0
    text = broadcast.playlist.read_text()
    assert "#EXT-X-DISCONTINUITY" in text  # the same playlist goes on
    assert any("p0002-" in name for name in segments(broadcast.playlist))

    record = broadcast.folder / "recording" / "recording.json"

    def both_parts_closed() -> bool:
        if not record.exists():
            return False
        parts = json.loads(record.read_text())["parts"]
        return len(parts) == 2 and all(p["ended_at"] for p in parts)

    await wait_for(both_parts_closed, GRACE + TIMEOUT, "both recording parts to be finished")
    parts = json.loads(record.read_text())["parts"]
    assert [p["file"] for p in parts] == ["part-0001.ts", "part-0002.ts"]
    assert sorted(f.name for f in (broadcast.folder / "recording").glob("*.ts")) == [
        "part-0001.ts",
        "part-0002.ts",
    ]  # one file per continuous part
    for part, copy in zip(parts, sent, strict=True):
        recorded = duration(broadcast.folder / "recording" / part["file"])
        assert abs(recorded - duration(copy)) <= SEGMENT_S, (part, recorded)
        assert abs(part["duration_ms"] / 1000 - recorded) <= SEGMENT_S, part
    assert parts[1]["started_at"] > parts[0]["ended_at"]


async def test_a_wrong_stream_key_is_refused(node: Node, http: httpx.AsyncClient) -> None:
    broadcast = await on_air(node)
    wrong = broadcast.rtmp_url[:-4] + "AAAA"
    if wrong == broadcast.rtmp_url:
        wrong = broadcast.rtmp_url[:-4] + "BBBB"
    command = [FFMPEG, *QUIET, *SOURCE, "-t", "5", *ENCODE, "-f", "flv", wrong]
    with process(command, node.work / "wrong.log") as refused:
        code = await asyncio.to_thread(refused.wait, TIMEOUT)
    assert code != 0
    assert not broadcast.folder.exists()  # nothing published
    assert (await status(http, broadcast.meeting_id))["state"] == "waiting"
    log = node.server.log.read_text()
    assert "refused: not a stream key of a meeting" in log
    assert broadcast.rtmp_url[-24:-4] not in log  # a stream key is never logged
