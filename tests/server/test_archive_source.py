"""The archive uses the recording made at the source (issue 16, item 4), on a real Redis, a real
server and the real ffmpeg: parts written as the broadcast writes them (`recording.json` and
MPEG-TS files) are remuxed into the archive folder by the real worker with no network; a part
still being written is refused with the reason; the transcript counts each time on air from
the part that holds it, exactly; `/m/{id}/recording?part=N` serves each part."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from argparse import Namespace
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from moderation import Meeting
from recordings.archive import FetchError, Progress, folder_of, source_of
from recordings.source import Source, StillRecording, read, remux
from server.broadcast.ffmpeg import ffmpeg_program
from server.cli.archive import Worker, url_of
from server.settings import Settings
from server.store import Store
from server.store.jobs import Job
from server.usecases import UseCases, create_meeting
from server.usecases.broadcast import broadcast_changed
from tests.conftest import meeting_command
from tests.helpers import ROOT, TIMEOUT, LiveServer, environment
from tests.server.test_transcript import MsClock, approve_all, studio

LENGTHS = (3, 2)  # seconds of media in each part, as a studio sent them
# When each part began and ended, in seconds after the meeting started (the clock of its events):
# the studio connected 2 s after the start, dropped at 40 s, and came back at 70 s.
SPANS = ((2.0, 40.0), (70.0, 95.0))
DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+\.\d+)")


@pytest.fixture(scope="module")
def made_parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two MPEG-TS parts (testsrc and a tone, H.264 and AAC, as the ingest records them), once
    for the module: making them is not what is tested."""
    folder = tmp_path_factory.mktemp("parts")
    for number, seconds in enumerate(LENGTHS, 1):
        subprocess.run(
            [ffmpeg_program(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=160x120:rate=10",
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10",
             "-c:a", "aac", "-shortest", "-f", "mpegts", str(folder / f"part-{number:04d}.ts")],
            check=True, timeout=TIMEOUT * 3,
        )  # fmt: skip
    return folder


def duration(path: Path) -> float:
    """The media's duration in seconds, as ffmpeg reads it (there is no ffprobe)."""
    said = subprocess.run(
        [ffmpeg_program(), "-nostdin", "-hide_banner", "-i", str(path)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    found = DURATION.search(said.stderr)
    assert found is not None, said.stderr
    hours, minutes, seconds = found.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def record(data_dir: Path, meeting_id: str, made: Path, start: int, *, live: bool = False) -> Path:
    """The broadcast's folder as the broadcast writes it; with `live`, part 2 is being written."""
    folder = source_of(data_dir, meeting_id)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for number, ((on, off), seconds) in enumerate(zip(SPANS, LENGTHS, strict=True), 1):
        name = f"part-{number:04d}.ts"
        shutil.copyfile(made / name, folder / name)
        ended = 0 if live and number == len(SPANS) else start + round(off * 1000)
        parts.append({
            "part": number, "file": name, "started_at": start + round(on * 1000),
            "ended_at": ended, "duration_ms": seconds * 1000,
            "bytes": (folder / name).stat().st_size,
        })  # fmt: skip
    body = {"meeting": meeting_id, "parts": parts}
    (folder / "recording.json").write_text(json.dumps(body), encoding="utf-8")
    return folder


def recorded(data_dir: Path, meeting_id: str) -> Source:
    found = read(source_of(data_dir, meeting_id) / "recording.json")
    assert found is not None
    return found


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def clock(server: LiveServer) -> MsClock:
    fake = MsClock()
    server.services.usecases.clock = fake
    return fake


async def next_job(worker: Worker) -> Job:
    """The next job the worker takes, run to its end."""
    while (ended := await worker.once()) is None:
        pass
    return ended


def no_url() -> Namespace:
    return Namespace(url=None)


@pytest.mark.anyio
async def test_the_worker_remuxes_the_source_parts_and_the_transcript_counts_in_them(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, made_parts: Path
) -> None:
    settings: Settings = server.services.settings
    cases = server.services.usecases
    # A YouTube URL: fetching it would need the network, which the job must never touch.
    meeting = await create_meeting(cases, meeting_command(stream_url="https://youtu.be/x"))
    clock.at(0)
    await studio(http, meeting.id, "start")
    ids = await approve_all(server, meeting)
    script = [(10.5, "rundown/take", {"question": ids[0]}), (20.25, "rundown/answered", None),
              (50, "rundown/take", {"question": ids[1]}),  # the studio is away (no part)
              (60, "rundown/answered", None),
              (80.125, "rundown/take", {"question": ids[2]}),
              (99, "rundown/answered", None)]  # fmt: skip
    for seconds, verb, payload in script:
        clock.at(seconds)
        await studio(http, meeting.id, verb, payload)
    for state, part, seconds in (("live", 1, 2), ("reconnecting", 1, 40), ("live", 2, 70)):
        await broadcast_changed(cases, meeting.id, state, part, clock.start + seconds * 1000)

    # On air: the index, rewritten every few seconds, says part 2 up to its latest media; only
    # the record tells that it is still being written.
    record(settings.data_dir, meeting.id, made_parts, clock.start)
    live = await cases.store.meetings.get(meeting.id)
    assert live is not None
    with pytest.raises(StillRecording, match="part 2 is being written"):
        url_of(no_url(), settings, live)  # `halyq archive` refuses
    store = server.services.store
    await store.jobs.queue(meeting.id, meeting.stream_url, clock.start)  # queued anyway
    failed = await next_job(Worker(store, settings, lambda progress: None))
    assert failed.state == "failed"
    assert "the broadcast is still being recorded (part 2 is being written)" in failed.reason
    assert not folder_of(settings.data_dir, meeting.id).exists()

    clock.at(120)
    await studio(http, meeting.id, "end")
    await broadcast_changed(cases, meeting.id, "ended", 2, clock.start + 120_000)
    ended = await cases.store.meetings.get(meeting.id)
    assert ended is not None
    assert ended.broadcast == "ended"
    url = url_of(no_url(), settings, ended)
    assert url == f"source:broadcast/{meeting.id}/recording"
    shown: list[Progress] = []
    await store.jobs.queue(meeting.id, url, clock.start)
    done = await next_job(Worker(store, settings, shown.append))
    archive = folder_of(settings.data_dir, meeting.id)
    mp4s = [archive / "part-0001.mp4", archive / "part-0002.mp4"]
    assert sorted(p.name for p in archive.iterdir()) == [m.name for m in mp4s] + ["source.json"]
    assert (done.state, done.reason, done.media) == ("complete", "", str(mp4s[0]))
    assert done.downloaded == done.total == sum(m.stat().st_size for m in mp4s)
    assert (done.captions, done.live_chat, done.percent) == ((), "", 100.0)
    assert shown[-1].percent == 100.0
    for mp4, seconds in zip(mp4s, LENGTHS, strict=True):
        assert mp4.read_bytes()[4:8] == b"ftyp"
        assert abs(duration(mp4) - seconds) < 0.15  # the media copied whole, not re-encoded
    index = json.loads((archive / "source.json").read_text(encoding="utf-8"))
    assert [p["media"] for p in index["parts"]] == ["part-0001.mp4", "part-0002.mp4"]

    body: dict[str, Any] = (await http.get(f"/api/meetings/{meeting.id}/transcript")).json()
    parts = recorded(settings.data_dir, meeting.id).parts
    assert (body["origin"], body["origin_at"]) == ("source", parts[0].started_at)
    assert body["recording"] == {"kind": "archive", "url": f"/m/{meeting.id}/recording"}
    assert [p["part"] for p in body["parts"]] == [1, 2]
    intervals = {q["id"]: q["intervals"][0] for q in body["aired"]}
    links = {q["id"]: q["link"] for q in body["aired"]}
    # On air 10.5 s to 20.25 s after the start; the part began at 2 s.
    assert [intervals[ids[0]][key] for key in ("part", "on", "off")] == [1, 8.5, 18.25]
    assert links[ids[0]] == f"/m/{meeting.id}/recording?part=1#t=8"
    assert intervals[ids[1]]["part"] is None  # between the parts: no part holds it
    assert links[ids[1]] == f"/m/{meeting.id}/recording?part=2#t=0"
    # On air at 80.125 s in the part from 70 s; off at 99 s, after the part ended at 95 s.
    assert [intervals[ids[2]][key] for key in ("part", "on", "off")] == [2, 10.125, 25.0]


@pytest.mark.anyio
async def test_each_part_is_served_with_ranges_and_a_bad_part_is_refused(
    server: LiveServer, http: httpx.AsyncClient, made_parts: Path
) -> None:
    settings: Settings = server.services.settings
    meeting = await create_meeting(server.services.usecases, meeting_command())
    archive = folder_of(settings.data_dir, meeting.id)
    source = _closed(settings, meeting, made_parts)
    remux(source, source_of(settings.data_dir, meeting.id), archive, ffmpeg=ffmpeg_program(),
          max_bytes=1 << 30, on_progress=lambda progress: None)  # fmt: skip
    second = (archive / "part-0002.mp4").read_bytes()
    answer = await http.get(f"/m/{meeting.id}/recording?part=2")
    assert (answer.status_code, answer.content) == (200, second)
    assert answer.headers["content-type"] == "video/mp4"
    ranged = await http.get(f"/m/{meeting.id}/recording?part=2", headers={"Range": "bytes=8-15"})
    assert (ranged.status_code, ranged.content) == (206, second[8:16])
    first = await http.get(f"/m/{meeting.id}/recording")  # no part: the first, as before
    assert first.content == (archive / "part-0001.mp4").read_bytes()
    assert (await http.get(f"/m/{meeting.id}/recording?part=3")).status_code == 404
    for bad in ("0", "x", "-1", "10000"):
        refused = await http.get(f"/m/{meeting.id}/recording?part={bad}")
        assert refused.status_code == 400, bad
        assert "part" in refused.text


def _closed(settings: Settings, meeting: Meeting, made: Path) -> Source:
    record(settings.data_dir, meeting.id, made, 1_796_050_000_000)
    return recorded(settings.data_dir, meeting.id)


def test_a_missing_part_a_size_over_the_cap_and_a_broken_part_fail_with_the_reason(
    tmp_path: Path, made_parts: Path
) -> None:
    folder = record(tmp_path, "m-1", made_parts, 1_796_050_000_000)
    source = recorded(tmp_path, "m-1")
    into = tmp_path / "archive"

    def run(max_bytes: int = 1 << 30) -> None:
        remux(source, folder, into, ffmpeg=ffmpeg_program(), max_bytes=max_bytes,
              on_progress=lambda progress: None)  # fmt: skip

    with pytest.raises(FetchError, match=r"larger than the size cap \(1000 bytes\)"):
        run(1000)
    assert not into.exists()
    (folder / "part-0002.ts").write_bytes(b"\x00" * 2000)  # not MPEG-TS
    with pytest.raises(FetchError, match=r"ffmpeg could not remux part-0002\.ts: "):
        run()
    assert sorted(p.name for p in into.iterdir()) == ["part-0001.mp4"]  # no half file, no index
    (folder / "part-0002.ts").unlink()
    with pytest.raises(FetchError, match=r"part 2 of the source recording \(part-0002.ts\)"):
        run()
    with pytest.raises(FetchError, match=r"ffmpeg could not remux part-0001\.ts: .*No such file"):
        remux(Source("m-1", source.parts[:1]), folder, into, ffmpeg=str(tmp_path / "no-ffmpeg"),
              max_bytes=1 << 30, on_progress=lambda progress: None)  # fmt: skip
    with pytest.raises(FetchError, match=r"recording\.json lists no parts"):
        remux(Source("m-1", ()), folder, into, ffmpeg="", max_bytes=0, on_progress=print)


@pytest.mark.anyio
async def test_a_source_job_whose_recording_is_gone_fails_and_fetches_nothing(
    store: Store, settings: Settings
) -> None:
    await store.jobs.queue("m-1", "source:broadcast/m-1/recording", 1)
    failed = await next_job(Worker(store, settings, lambda progress: None))
    assert (failed.state, failed.reason) == (
        "failed", "the source recording is gone (broadcast/m-1/recording)"
    )  # fmt: skip


# `halyq archive` as an operator runs it


def halyq(data: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--data-dir", str(data), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT * 3,
    )  # fmt: skip


@pytest.mark.anyio
async def test_halyq_archive_refuses_a_live_broadcast_then_archives_it_when_it_ended(
    tmp_path: Path, settings: Settings, store: Store, made_parts: Path
) -> None:
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    meeting = await create_meeting(UseCases(store=store), meeting_command())
    record(tmp_path, meeting.id, made_parts, 1_796_050_000_000, live=True)
    refused = halyq(tmp_path, env, "archive", meeting.id)
    assert refused.returncode == 1
    assert "halyq: archive: the broadcast is still being recorded (part 2" in refused.stderr
    assert await store.jobs.all() == []  # nothing queued

    record(tmp_path, meeting.id, made_parts, 1_796_050_000_000)
    done = halyq(tmp_path, env, "archive", meeting.id, "--url", "https://youtu.be/x", "--wait")
    assert done.returncode == 0, done.stderr
    assert "recorded at the source; --url is not fetched" in done.stderr
    archive = folder_of(tmp_path, meeting.id)
    assert f"complete: {archive / 'part-0001.mp4'}" in done.stdout
    (job,) = await store.jobs.all()
    assert (job.url, job.state) == (f"source:broadcast/{meeting.id}/recording", "complete")
    assert (archive / "part-0002.mp4").is_file()
