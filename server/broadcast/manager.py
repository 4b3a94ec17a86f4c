"""Every meeting's broadcast on this node (issue 16): the studio's media to our HLS, the
recording and each restream destination, through one supervised ffmpeg each; the grace period
that lets a dropped studio continue the same broadcast; the status staff see.

Per meeting: waiting -> live -> reconnecting -> live ... -> ended; a studio publishing after
the end starts again. Each continuous part (a studio connection, or an ingest ffmpeg restarted
after it died) is its own recording file and continues the same playlist after a
discontinuity. Destinations live across the studio's parts, their timestamps shifted by the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server.broadcast.ffmpeg import Output, hls_command, masked, part_file, restream_command
from server.broadcast.flv import AUDIO, VIDEO, Tag
from server.broadcast.relay import Rate, Relay, Sink
from server.broadcast.supervise import Supervised

logger = logging.getLogger("halyq.broadcast")

Changed = Callable[[str, str, int, int], Awaitable[None]]
TICK = 0.5  # destinations' health
OUTPUTS_EVERY = 2.0  # the list of destinations is read again
RECORDING_EVERY = 5.0  # recording.json rewritten while live
SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}\.(ts|m3u8)")
VIDEO_CODECS = {7: "h264", 12: "hevc", 13: "av1"}
FOURCC = {b"avc1": "h264", b"hvc1": "hevc", b"av01": "av1", b"vp09": "vp9"}
AUDIO_CODECS = {10: "aac", 2: "mp3", 9: "opus", 11: "speex"}


class BroadcastEnded(ConnectionAbortedError):
    """The meeting's broadcast was ended while its studio was still sending."""


class Broadcasts:
    """The broadcasts running on this node; see `docs/architecture.md#broadcast`."""

    def __init__(
        self, *, folder: Path, ffmpeg: str, grace: float, segment_seconds: float,
        list_size: int, low_rendition: int, outputs: Callable[[str], Awaitable[list[Output]]],
        changed: Changed, clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.folder, self.ffmpeg, self.grace, self.clock = folder, ffmpeg, grace, clock
        self.segment_seconds, self.list_size = segment_seconds, list_size
        self.low_rendition, self.outputs, self.changed = low_rendition, outputs, changed
        self._meetings: dict[str, _Meeting] = {}

    @property
    def live(self) -> frozenset[str]:
        """Meetings with a studio connected or in their grace period."""
        return frozenset(m.id for m in self._meetings.values() if m.studio or m.grace_until)

    async def publish(self, meeting_id: str) -> StudioSession | None:
        """The session for a studio's media, or None: that meeting's studio is connected."""
        meeting = self._meetings.get(meeting_id)
        if meeting is None:
            meeting = self._meetings[meeting_id] = _Meeting(self, meeting_id)
        if meeting.studio is not None:
            return None
        meeting.studio = StudioSession(meeting)
        return meeting.studio

    def status(self, meeting_id: str) -> dict[str, Any] | None:
        """What staff see (`GET /api/meetings/{id}/broadcast`); None: never broadcast here."""
        meeting = self._meetings.get(meeting_id)
        return meeting.status() if meeting else None

    def playlist(self, meeting_id: str) -> Path:
        return self.folder / meeting_id / "hls" / "live.m3u8"

    def segment(self, meeting_id: str, name: str) -> Path | None:
        """A segment (or a rendition's playlist) by a name that cannot leave hls/."""
        return self.folder / meeting_id / "hls" / name if SEGMENT.fullmatch(name) else None

    async def end(self, meeting_id: str) -> None:
        """The meeting ended: its studio is let go, its outputs stop, its playlist ends."""
        meeting = self._meetings.get(meeting_id)
        if meeting is not None:
            await meeting.finish()

    async def aclose(self) -> None:
        """The server stops: every ffmpeg ended by its PID, every recording part finalised
        (the broadcast itself is not ended: a node started again may carry it on)."""
        await asyncio.gather(*(m.close() for m in self._meetings.values()))


class StudioSession:
    """One studio connection's session (the `Publishing` of `rtmp.py`)."""

    def __init__(self, meeting: _Meeting) -> None:
        self.meeting = meeting
        self.began = False
        self.gone = False

    async def tag(self, tag: Tag) -> None:
        if self.gone:
            raise BroadcastEnded("the broadcast has ended")
        if not self.began:
            self.began = True
            self.meeting.begin()
        self.meeting.media(tag)

    async def closed(self, error: str) -> None:
        if not self.gone:
            self.gone = True
            await self.meeting.studio_left(error)


class _Ingest(Supervised):
    """The ffmpeg making our HLS and the recording part; one per continuous part."""

    label, shift = "ingest", False

    def __init__(self, meeting: _Meeting) -> None:
        self.meeting = meeting
        self.record: dict[str, Any] = {}
        self._previous = list(meeting.stopping)  # the last part's ingest, still finishing
        super().__init__(meeting.relay, meeting.clock, [])

    async def _run(self) -> None:
        await asyncio.gather(*self._previous)  # one ingest at a time writes the playlist
        await super()._run()

    def command(self) -> list[str]:
        meeting, owner = self.meeting, self.meeting.owner
        meeting.part += 1
        self.record = {"part": meeting.part, "file": part_file(meeting.part), "started_at": 0,
                       "ended_at": 0, "duration_ms": 0, "bytes": 0}  # fmt: skip
        meeting.records.append(self.record)
        return hls_command(
            owner.ffmpeg, meeting.folder, part=meeting.part, segment_seconds=owner.segment_seconds,
            list_size=owner.list_size, low_rendition=owner.low_rendition,
        )  # fmt: skip

    def on_media(self, sink: Sink) -> None:
        self.record["started_at"] = sink.first_at
        self.meeting.went_live(self.record["part"], sink.first_at)

    def ended(self, sink: Sink) -> None:
        self.meeting.settle(self.record, sink)
        if sink.first_ts < 0:  # no media reached it: no part
            self.meeting.records.remove(self.record)
            (self.meeting.folder / "recording" / self.record["file"]).unlink(missing_ok=True)
            self.meeting.part -= self.meeting.part == self.record["part"]
        self.meeting.write_recording()

    def began(self, sink: Sink) -> None:
        self.meeting.write_recording()


class _Destination(Supervised):
    """One restream destination's ffmpeg."""

    def __init__(self, meeting: _Meeting, output: Output) -> None:
        self.output, self.label = output, f"output {output.name}"
        self.program = meeting.owner.ffmpeg
        super().__init__(meeting.relay, meeting.clock, [output.url])

    def command(self) -> list[str]:
        return restream_command(self.program, self.output.url)

    def status(self) -> dict[str, Any]:
        return {"name": self.output.name, "url": masked(self.output.url), "state": self.state,
                "restarts": self.restarts, "error": self.error, "retry_at": self.retry_at,
                "bitrate_kbps": self.bitrate_kbps()}  # fmt: skip


class _Meeting:
    """One meeting's broadcast: its state, studio, ffmpeg processes and recording."""

    def __init__(self, owner: Broadcasts, meeting_id: str) -> None:
        self.owner, self.id, self.clock = owner, meeting_id, owner.clock
        self.folder = owner.folder / meeting_id
        self.state, self.since, self.part = "waiting", self.now(), 0
        self.studio: StudioSession | None = None
        self.grace_until = 0
        self.relay = Relay(self.clock)
        self.ingest: _Ingest | None = None
        self.outputs: dict[str, _Destination] = {}
        self.records: list[dict[str, Any]] = []
        self.rate = Rate()
        self.video = self.audio = ""
        self.hls_restarts = 0  # ingest ffmpeg restarted after it died, over past parts
        self._grace: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[tuple[str, int, int]] = asyncio.Queue()
        self._notifier = asyncio.create_task(self._notify())
        self.stopping: set[asyncio.Task[None]] = set()  # ingests finishing

    def now(self) -> int:
        return int(self.clock() * 1000)

    def begin(self) -> None:
        """A studio's first tag: a new part of the timeline, its ingest and destinations."""
        for sub in ("hls", "recording"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        if self.owner.low_rendition:
            self._write_master()
        self.relay.begin_part()
        self.ingest = _Ingest(self)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick())

    def media(self, tag: Tag) -> None:
        self.rate.add(len(tag.data) + 15)
        if tag.sequence_header and tag.kind == VIDEO:
            self.video = FOURCC.get(tag.data[1:5], "") if tag.data[0] & 0x80 else ""
            self.video = self.video or VIDEO_CODECS.get(tag.data[0] & 0x0F, "other")
        elif tag.sequence_header and tag.kind == AUDIO:
            self.audio = AUDIO_CODECS.get(tag.data[0] >> 4, "other")
        self.relay.push(tag)

    def went_live(self, part: int, at: int) -> None:
        """Media reached the ingest: live (a restarted ingest's part changes nothing)."""
        if self.state != "live" and self.studio is not None:
            if self._grace:
                self._grace.cancel()
            self.state, self.since, self.grace_until = "live", at, 0
            self._events.put_nowait(("live", part, at))

    async def studio_left(self, error: str) -> None:
        """The studio went away: its part ends; the grace period runs if it was live."""
        self.studio = None
        logger.info("broadcast %s: the studio left (%s)", self.id, error or "clean")
        self._stop_ingest()
        if self.state == "live":
            now = self.now()
            self.state, self.since = "reconnecting", now
            self.grace_until = now + int(self.owner.grace * 1000)
            self._events.put_nowait(("reconnecting", self.part, now))
            self._grace = asyncio.create_task(self._expire())

    async def _expire(self) -> None:
        await asyncio.sleep(self.owner.grace)
        self._grace = None
        await self.finish()

    def _stop_ingest(self) -> None:
        if self.ingest is not None:
            self.hls_restarts += self.ingest.restarts
            task = asyncio.create_task(self.ingest.stop())
            self.stopping.add(task)
            task.add_done_callback(self.stopping.discard)
            self.ingest = None

    async def finish(self) -> None:
        """Grace expired or the meeting ended: everything stops, the playlist ends."""
        if self.state == "ended":
            return
        ever_live = self.state in ("live", "reconnecting")
        self.state, self.since, self.grace_until = "ended", self.now(), 0
        await self._halt()
        self._end_playlists()
        self.write_recording()
        if ever_live:
            self._events.put_nowait(("ended", self.part, self.since))

    async def _halt(self) -> None:
        """Lets the studio go and stops every ffmpeg of this meeting."""
        # The ticker first: its next look at the destinations would start outputs again while
        # these are being stopped, and nothing would stop those (their ffmpeg left running).
        if self._ticker and self._ticker is not asyncio.current_task():
            self._ticker.cancel()
        if self._grace and self._grace is not asyncio.current_task():
            self._grace.cancel()
        if self.studio is not None:
            self.studio.gone, self.studio = True, None
        self._stop_ingest()
        outputs, self.outputs = list(self.outputs.values()), {}
        await asyncio.gather(*(o.stop() for o in outputs), *self.stopping)
        for output in outputs:
            self.outputs[output.output.name] = output  # shown as stopped

    async def close(self) -> None:
        await self._halt()
        self.write_recording()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._events.join(), 5.0)
        self._notifier.cancel()

    async def _notify(self) -> None:
        """Tells `changed` of each change, one at a time, in order (C2's event)."""
        while True:
            state, part, at = await self._events.get()
            try:
                await self.owner.changed(self.id, state, part, at)
            except Exception:
                logger.exception("broadcast %s: telling of %s failed", self.id, state)
            finally:
                self._events.task_done()

    async def _tick(self) -> None:
        last_outputs = last_recording = 0.0
        while True:
            now = time.monotonic()
            if now - last_outputs >= OUTPUTS_EVERY:
                last_outputs = now
                await self._reconcile()
            if now - last_recording >= RECORDING_EVERY:
                last_recording = now
                self.write_recording()
            for runner in [self.ingest, *self.outputs.values()]:
                if runner is not None:
                    runner.poll()
            await asyncio.sleep(TICK)

    async def _reconcile(self) -> None:
        """Starts the destinations added, stops those removed or changed."""
        if self.state == "ended":
            return
        try:
            wanted = {o.name: o for o in await self.owner.outputs(self.id)}
        except Exception:
            logger.exception("broadcast %s: reading its outputs failed", self.id)
            return
        for name, runner in list(self.outputs.items()):
            if wanted.get(name) != runner.output or runner.state == "stopped":
                del self.outputs[name]
                await runner.stop()
        for name, output in wanted.items():
            if name not in self.outputs and self.state != "ended":
                self.outputs[name] = _Destination(self, output)

    def settle(self, record: dict[str, Any], sink: Sink) -> None:
        """A part's figures from what its sink wrote."""
        if sink.first_ts >= 0:
            record["ended_at"] = sink.last_at
            record["duration_ms"] = sink.last_ts - sink.first_ts
        with contextlib.suppress(OSError):
            record["bytes"] = (self.folder / "recording" / record["file"]).stat().st_size

    def write_recording(self) -> None:
        """recording.json, atomically (the archive reads it; E)."""
        if self.ingest is not None and self.ingest.sink is not None and self.ingest.record:
            self.settle(self.ingest.record, self.ingest.sink)
        body = {"meeting": self.id, "parts": [dict(r) for r in self.records if r["started_at"]]}
        _replace(self.folder / "recording" / "recording.json", json.dumps(body, indent=1))

    def _end_playlists(self) -> None:
        names = ("main.m3u8", "low.m3u8") if self.owner.low_rendition else ("live.m3u8",)
        for name in names:
            path = self.folder / "hls" / name
            with contextlib.suppress(FileNotFoundError):
                text = path.read_text()
                if "#EXT-X-ENDLIST" not in text:
                    _replace(path, text.rstrip("\n") + "\n#EXT-X-ENDLIST\n")

    def _write_master(self) -> None:
        height = self.owner.low_rendition
        _replace(self.folder / "hls" / "live.m3u8", "\n".join([
            "#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS",
            "#EXT-X-STREAM-INF:BANDWIDTH=3000000", "live/main.m3u8",
            f"#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION={height * 16 // 9}x{height}",
            "live/low.m3u8", ""]))  # fmt: skip

    def status(self) -> dict[str, Any]:
        ingest = self.ingest
        hls = (
            "stopped"
            if ingest is None
            else "restarting"
            if ingest.state == "retrying"
            else "running"
        )
        parts = [dict(r) for r in self.records if r["started_at"]]
        return {
            "meeting": self.id, "state": self.state,
            "ingest": {"state": self.state, "since": self.since, "bitrate_kbps": self.rate.kbps(),
                       "part": self.part, "grace_until": self.grace_until, "video": self.video,
                       "audio": self.audio},
            "hls": {"state": hls, "playlist": f"/m/{self.id}/live.m3u8",
                    "restarts": self.hls_restarts + (ingest.restarts if ingest else 0),
                    "low_rendition": self.owner.low_rendition},
            "outputs": [o.status() for o in self.outputs.values()],
            "recording": {"bytes": sum(p["bytes"] for p in parts), "parts": parts},
        }  # fmt: skip


def _replace(path: Path, text: str) -> None:
    """Writes `text` to `path` through a temporary file and a rename: readers see all or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
