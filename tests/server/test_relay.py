"""The relay between a studio and its ffmpeg processes (issue 16), with real processes reading
the sinks (`cat`, and one that never reads): a late sink starts at a keyframe with the cached
headers, audio alone starts at once, a destination's clock keeps rising across the studio's
parts, and a sink that cannot keep up fails alone."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from server.broadcast.flv import AUDIO, DATA, VIDEO, FlvReader, Tag
from server.broadcast.relay import MAX_QUEUED, Rate, Relay, Sink
from server.children import preexec
from tests.helpers import wait_for

pytestmark = pytest.mark.anyio

METADATA = Tag(DATA, 0, b"\x02\x00\x0aonMetaData\x08\x00\x00\x00\x00\x00\x00\x09")
AVC_HEADER = Tag(VIDEO, 0, b"\x17\x00\x00\x00\x00config")
AAC_HEADER = Tag(AUDIO, 0, b"\xaf\x00\x12\x10")


def keyframe(ms: int) -> Tag:
    return Tag(VIDEO, ms, b"\x17\x01\x00\x00\x00key")


def frame(ms: int) -> Tag:
    return Tag(VIDEO, ms, b"\x27\x01\x00\x00\x00inter")


def sound(ms: int) -> Tag:
    return Tag(AUDIO, ms, b"\xaf\x01sound")


class Reader:
    """A real process reading a sink (`cat`), and the tags that came out of it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.tags: list[Tag] = []
        self._flv = FlvReader()
        self._task = asyncio.create_task(self._read())

    def has(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.tags) >= count

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(65536):
            self.tags += self._flv.feed(chunk)


@asynccontextmanager
async def process(*command: str) -> AsyncIterator[asyncio.subprocess.Process]:
    started = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        preexec_fn=preexec(),
    )  # fmt: skip
    try:
        yield started
    finally:
        if started.returncode is None:
            started.kill()  # by its PID
        await started.wait()


def sink_of(proc: asyncio.subprocess.Process, *, shift: bool = True) -> Sink:
    assert proc.stdin is not None
    return Sink(proc.stdin, shift=shift, clock=lambda: 1796059999.0)


CAT = shutil.which("cat") or "/bin/cat"


async def test_a_late_sink_starts_at_the_last_keyframe_after_the_headers() -> None:
    relay = Relay(clock=lambda: 1796050000.0)  # a replayed tag keeps its arrival time
    relay.begin_part()
    for tag in (METADATA, AVC_HEADER, AAC_HEADER, keyframe(0), frame(33), sound(40)):
        relay.push(tag)
    relay.push(keyframe(1000))
    relay.push(frame(1033))
    async with process(CAT) as cat:
        reader, sink = Reader(cat), sink_of(cat)
        relay.attach(sink)  # joins mid-GOP: the GOP since 1000 is replayed
        relay.push(sound(1040))
        await sink.finish()
        await wait_for(lambda: len(reader.tags) == 6, what="six tags")
    kinds = [(t.kind, t.timestamp) for t in reader.tags]
    assert kinds == [(DATA, 1000), (VIDEO, 1000), (AUDIO, 1000), (VIDEO, 1000), (VIDEO, 1033),
                     (AUDIO, 1040)]  # fmt: skip
    assert reader.tags[1].sequence_header
    assert reader.tags[3].keyframe
    assert (sink.first_ts, sink.last_ts, sink.first_at) == (1000, 1040, 1796050000000)
    relay.detach(sink)
    assert relay.sinks == []


async def test_audio_alone_starts_at_once_and_video_waits_for_a_keyframe() -> None:
    audio_only, video = Relay(), Relay()
    async with process(CAT) as one, process(CAT) as two:
        readers = Reader(one), Reader(two)
        sinks = sink_of(one), sink_of(two)
        audio_only.attach(sinks[0])
        video.attach(sinks[1])
        for relay in (audio_only, video):
            relay.begin_part()
        audio_only.push(AAC_HEADER)
        audio_only.push(sound(20))
        video.push(AVC_HEADER)
        video.push(frame(10))  # not a keyframe: nothing yet
        video.push(keyframe(40))
        for sink in sinks:
            await sink.finish()
        await wait_for(lambda: len(readers[0].tags) == 2 and len(readers[1].tags) == 2)
    assert [t.timestamp for t in readers[0].tags] == [20, 20]
    assert [t.timestamp for t in readers[1].tags] == [40, 40]


async def test_a_destinations_clock_rises_across_the_studios_parts() -> None:
    relay = Relay()
    async with process(CAT) as long_lived, process(CAT) as per_part:
        destination, ingest = Reader(long_lived), Reader(per_part)
        relay.attach(sink_of(long_lived))
        relay.begin_part()
        for ms in (0, 1000, 2000):
            relay.push(keyframe(ms))
        relay.begin_part()  # the studio is back: its clock starts again at 0
        part_sink = sink_of(per_part, shift=False)
        relay.attach(part_sink)
        for ms in (0, 1000):
            relay.push(keyframe(ms))
        for sink in relay.sinks:
            await sink.finish()
        await wait_for(lambda: len(destination.tags) == 5 and len(ingest.tags) == 2)
    stamps = [t.timestamp for t in destination.tags]
    assert stamps[:3] == [0, 1000, 2000]
    assert stamps[3] > 2000  # shifted by the gap, never going back
    assert stamps[4] == stamps[3] + 1000
    assert [t.timestamp for t in ingest.tags] == [0, 1000]  # the per-part ingest: as sent


async def test_a_sink_that_cannot_keep_up_fails_alone() -> None:
    relay = Relay()
    relay.begin_part()
    big = b"\x17\x01" + bytes(256 * 1024)
    async with process(CAT) as cat, process("sleep", "60") as stuck, process("sleep", "60") as slow:
        reader = Reader(cat)
        healthy, flooded, stalled = sink_of(cat), sink_of(stuck), sink_of(slow)
        for sink in (healthy, flooded):
            relay.attach(sink)
        for ms in range(40):  # 10 MiB: cat takes each; the other queues past its bound
            relay.push(Tag(VIDEO, ms, big))
            await wait_for(reader.has(ms + 1), what=f"tag {ms} through cat")
        assert "MiB queued" in flooded.failure
        assert flooded.failed.is_set()
        relay.attach(stalled)
        relay.push(Tag(VIDEO, 100, big))  # 256 KiB: more than a pipe holds, never read
        await wait_for(lambda: stalled.failure != "", what="the stalled sink failed")
        assert "full" in stalled.failure
        relay.push(Tag(VIDEO, 101, big))  # a failed sink takes nothing more
        await healthy.finish()
        await wait_for(lambda: len(reader.tags) == 42, what="every tag to the healthy sink")
        assert healthy.failure == ""
        assert healthy.written > MAX_QUEUED


async def test_a_sink_whose_reader_exits_fails() -> None:
    async with process("true") as gone:
        await gone.wait()
        sink = sink_of(gone)
        for ms in range(8):
            sink.offer(keyframe(ms), [], True)
        await wait_for(lambda: sink.failure != "", what="the sink failed")
        assert sink.failure == "it closed its input"
        sink.cancel()


async def test_the_rate_counts_the_last_seconds() -> None:
    rate = Rate(window=5.0)
    assert rate.kbps() == 0
    rate.add(125_000)  # 1 Mbit in the window: 200 kbit/s over 5 s
    assert rate.kbps() == 200
    short = Rate(window=0.01)
    short.add(1000)
    await wait_for(lambda: short.kbps() == 0, what="the sample to leave the window")
