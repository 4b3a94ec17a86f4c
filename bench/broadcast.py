"""The broadcast's CPU cost (issue 16): per live meeting, of our RTMP ingest, our HLS with the
recording, and each restream output; and how many meetings one node relays with copy codecs.

`python -m bench.broadcast` runs the broadcast in this process as a node runs it, without the
web server or Redis: `server.broadcast.manager.Broadcasts` (the ffmpeg of our HLS and the
recording, one ffmpeg per restream destination) behind `server.broadcast.rtmp.start_rtmp` (our
RTMP ingest, Python asyncio on uvloop as `halyq serve` runs it). Each meeting's studio is an
ffmpeg pushing a file pre-encoded once (lavfi testsrc 1280x720 at 30 fps and a 440 Hz tone,
libx264 ultrafast, constant 2.5 Mbit/s, a keyframe a second, AAC 128 kbit/s) with `-re
-stream_loop -1 -c copy`: the studio's encoder costs nothing here. Each destination is a local
RTMP listener standing in for YouTube or Facebook (`ffmpeg -listen 1 ... -c copy -f flv
OUT.flv`). Studios and listeners are not ours: their CPU is measured apart and left out.

Three phases:

- cost: one meeting with three outputs, a steady window (30 s) after a warm-up. Our ingest is
  this process's CPU (`time.process_time`, less the bench's own playlist polling, timed the same
  way); HLS + recording and each output are their ffmpeg's utime + stime from /proc/<pid>/stat.
- low rendition: the same meeting with `hls_low_rendition=360` (the optional lower rendition,
  encoded with libx264 veryfast at 600 kbit/s): what it adds to the HLS ffmpeg.
- ramp: 1, 2, 4, 8, 16, ... meetings (each with HLS + recording + one output), a window each,
  until a meeting's HLS falls behind real time (a segment listed later than its media's end by
  more than one segment duration, against the first segment seen in the window) or the CPU is
  saturated: the bench's processes (ours, the studios, the listeners) using >= 95 % of every
  core, or our ingest >= 95 % of its one core (one Python event loop). The knee is the first
  step that fails; the capacity is the step before. Other work on the machine is not counted
  against the node but shows in `machine_busy` (every process) beside the bench's own.

It prints a JSON summary, writes it to bench/out/<time>-broadcast.json and (unless
`--no-record`) adds rows to the "Broadcast (issue 16)" section of bench/results.md.
`run_broadcast(BroadcastBench(...))` runs it from a test (tests/e2e/test_bench_broadcast.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from bench.reliability.report import OUT, utc_stamp
from bench.report import commit, machine
from server.broadcast.ffmpeg import Output, ffmpeg_program
from server.broadcast.manager import Broadcasts
from server.broadcast.rtmp import Publishing, RtmpServer, start_rtmp
from server.children import preexec

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
SECTION = "## Broadcast (issue 16)"
TICKS = os.sysconf("SC_CLK_TCK")
CORES = len(os.sched_getaffinity(0))
SATURATED = 0.95  # share of every core (or of our ingest's one core) that counts as saturated
POLL = 0.25  # seconds between two readings of the playlists and of the processes' CPU
READY_TIMEOUT = 30.0  # seconds for every meeting to go live and every output to connect
EXTINF = re.compile(r"#EXTINF:([0-9.]+)")
QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


@dataclass(frozen=True)
class BroadcastBench:
    """What to run: the cost phase's window and outputs, the low rendition's height (0: skip),
    the ramp's steps (empty: skip) with their outputs and window."""

    outputs: int = 3
    window: float = 30.0
    warmup: float = 5.0
    low_rendition: int = 360
    low_window: float = 20.0
    ramp: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    ramp_outputs: int = 1
    ramp_window: float = 15.0
    segment_seconds: float = 1.0
    studio_seconds: int = 10  # the pre-encoded loop
    size: str = "1280x720"
    fps: int = 30
    video_kbps: int = 2500


@dataclass
class Step:
    """One measured window: `meetings` live, each with `outputs` destinations."""

    meetings: int
    outputs: int
    low_rendition: int
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core, by role
    cpu_per_meeting: dict[str, float] = field(default_factory=dict)
    not_ours_cpu: dict[str, float] = field(default_factory=dict)  # studios, listeners
    machine_busy: float = 0.0  # share of all cores busy, every process
    rss_mb: dict[str, float] = field(default_factory=dict)
    hls_late_s: float = 0.0  # the worst lateness of a segment, any meeting
    segment_s: float = 0.0  # the mean segment duration
    segments: int = 0  # segments listed in the window, all meetings
    sinks: dict[str, Any] = field(default_factory=dict)  # what each sink received
    behind: bool = False
    saturated: bool = False
    restarts: int = 0  # ffmpeg restarts of ours during the step

    @property
    def ok(self) -> bool:
        return not self.behind and not self.saturated


@dataclass
class BenchResult:
    bench: BroadcastBench
    machine: str
    commit: str
    studio: dict[str, Any] = field(default_factory=dict)
    cost: Step | None = None
    low: Step | None = None
    ramp: list[Step] = field(default_factory=list)
    knee: int | None = None  # the first step that fell behind or saturated
    capacity: int | None = None  # the last step that kept up
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def step(s: Step | None) -> dict[str, Any] | None:
            return None if s is None else asdict(s) | {"ok": s.ok}

        return {
            "bench": asdict(self.bench), "machine": self.machine, "commit": self.commit,
            "studio": self.studio, "cost": step(self.cost), "low": step(self.low),
            "ramp": [step(s) for s in self.ramp], "knee": self.knee, "capacity": self.capacity,
            "notes": self.notes,
        }  # fmt: skip


# Processes and their CPU


def proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent PID, CPU ticks utime + stime) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def rss_mb(pid: int | str) -> float:
    """The process's proportional set size (PSS: shared pages split among their sharers, so
    ffmpeg's libraries count once over all ffmpegs), MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0.0


def children() -> list[int]:
    """Every process whose parent is this one."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))) is not None and stat[0] == me:
            found.append(int(entry))
    return found


def role(pid: int) -> str:
    """What one of our ffmpegs does, from its command line (server/broadcast/ffmpeg.py)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    return "hls" if b"hls" in words else "output" if b"-rw_timeout" in words else "other"


def machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuWatch:
    """CPU ticks of our ffmpegs (children of this process not in `theirs`), by role, and of
    `theirs`, kept per PID at each reading: a process that started in the window counts from 0,
    one that ended keeps its last reading."""

    def __init__(self, theirs: dict[int, str]) -> None:
        self.theirs = theirs
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.roles: dict[int, str] = {}
        self.started = False

    def read(self) -> None:
        for pid in children():
            stat = proc_stat(pid)
            if stat is None:
                continue
            if pid not in self.roles:
                self.roles[pid] = self.theirs.get(pid) or role(pid)
                if self.started:  # it began in the window: all its CPU is the window's
                    self.first[pid] = 0
            self.first.setdefault(pid, stat[1])
            self.last[pid] = stat[1]
        self.started = True

    def seconds(self) -> dict[str, float]:
        by_role: dict[str, float] = {}
        for pid, last in self.last.items():
            name = self.roles[pid]
            by_role[name] = by_role.get(name, 0.0) + (last - self.first[pid]) / TICKS
        return by_role

    def rss(self) -> dict[str, float]:
        by_role: dict[str, float] = {}
        for pid in children():
            name = self.roles.get(pid) or self.theirs.get(pid) or role(pid)
            by_role[name] = by_role.get(name, 0.0) + rss_mb(pid)
        return by_role


# HLS: is it keeping up?


class Playlist:
    """One meeting's media playlist, read as it grows: each segment's first sighting (wall
    clock) against the media time its end is at, so a segment listed late is seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, tuple[float, float]] = {}  # name -> (wall, duration)
        self.order: list[str] = []

    def read(self, now: float) -> None:
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            return
        duration = 0.0
        for line in lines:
            if found := EXTINF.match(line):
                duration = float(found.group(1))
            elif line and not line.startswith("#") and line not in self.seen:
                self.seen[line] = (now, duration)
                self.order.append(line)

    def lateness(self, since: float) -> tuple[float, int, float]:
        """(worst lateness s, segments, mean duration s) of the segments first seen after
        `since`: how much later than the first of them each was listed, beyond its media."""
        names = [n for n in self.order if self.seen[n][0] >= since]
        if len(names) < 2:
            return 0.0, len(names), 0.0
        wall0, media, worst = self.seen[names[0]][0], 0.0, 0.0
        for name in names[1:]:
            wall, duration = self.seen[name]
            media += duration
            worst = max(worst, (wall - wall0) - media)
        mean = sum(self.seen[n][1] for n in names) / len(names)
        return worst, len(names), mean


# The node under test


class Node:
    """Broadcasts behind our RTMP ingest, in this process; studios and listeners around it."""

    def __init__(self, folder: Path, bench: BroadcastBench, low_rendition: int) -> None:
        self.folder, self.bench, self.program = folder, bench, ffmpeg_program()
        self.low_rendition = low_rendition
        self.destinations: dict[str, list[Output]] = {}
        self.changes: list[tuple[str, str, int, int]] = []
        self.theirs: dict[int, str] = {}  # PID -> "studio" or "listener"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.listened: dict[str, list[Path]] = {}
        self.broadcasts: Broadcasts | None = None
        self.rtmp: RtmpServer | None = None

    async def start(self) -> None:
        self.broadcasts = Broadcasts(
            folder=self.folder / "broadcast", ffmpeg=self.program, grace=5.0,
            segment_seconds=self.bench.segment_seconds, list_size=6,
            low_rendition=self.low_rendition, outputs=self._outputs, changed=self._changed,
        )  # fmt: skip
        self.rtmp = await start_rtmp("127.0.0.1", 0, self._authorize)

    async def _outputs(self, meeting_id: str) -> list[Output]:
        return self.destinations.get(meeting_id, [])

    async def _changed(self, meeting_id: str, state: str, part: int, at: int) -> None:
        self.changes.append((meeting_id, state, part, at))

    async def _authorize(self, app: str, key: str, peer: str) -> Publishing | None:
        assert self.broadcasts is not None
        return await self.broadcasts.publish(key) if app == "live" else None

    def add_meeting(self, meeting_id: str, studio: Path, outputs: int) -> None:
        """Its listeners first (the outputs retry until they listen), then its studio."""
        assert self.rtmp is not None
        files, destinations = [], []
        for n in range(outputs):
            url = f"rtmp://127.0.0.1:{free_port()}/live2/{meeting_id}-key{n}"
            out = self.folder / f"{meeting_id}-out{n}.flv"
            self._spawn([self.program, *QUIET, "-listen", "1", "-i", url, "-c", "copy",
                         "-f", "flv", "-y", str(out)], "listener")  # fmt: skip
            files.append(out)
            destinations.append(Output(f"out{n}", url))
        self.listened[meeting_id] = files
        self.destinations[meeting_id] = destinations
        self._spawn([self.program, *QUIET, "-re", "-stream_loop", "-1", "-i", str(studio),
                     "-c", "copy", "-f", "flv",
                     f"rtmp://127.0.0.1:{self.rtmp.port}/live/{meeting_id}"], "studio")  # fmt: skip

    def _spawn(self, command: list[str], kind: str) -> None:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=preexec(),
        )  # fmt: skip
        self.processes.append(process)
        self.theirs[process.pid] = kind

    def status(self, meeting_id: str) -> dict[str, Any]:
        assert self.broadcasts is not None
        return self.broadcasts.status(meeting_id) or {}

    def playlist(self, meeting_id: str) -> Path:
        hls = self.folder / "broadcast" / meeting_id / "hls"
        return hls / ("main.m3u8" if self.low_rendition else "live.m3u8")

    async def ready(self, meetings: Sequence[str]) -> None:
        """Every meeting live with a playlist, every output connected."""
        timeout = READY_TIMEOUT
        deadline = time.monotonic() + timeout
        while not all(self._ready(m) for m in meetings):
            if time.monotonic() > deadline:
                late = [m for m in meetings if not self._ready(m)]
                raise RuntimeError(f"not live within {timeout:.0f} s: {late}: "
                                   f"{[self.status(m) for m in late[:2]]}")  # fmt: skip
            await asyncio.sleep(POLL)

    def _ready(self, meeting_id: str) -> bool:
        status = self.status(meeting_id)
        outputs = status.get("outputs", [])
        return (
            status.get("state") == "live"
            and self.playlist(meeting_id).exists()
            and len(outputs) == len(self.destinations.get(meeting_id, []))
            and all(o["state"] == "live" for o in outputs)
        )

    def restarts(self, meetings: Sequence[str]) -> int:
        total = 0
        for m in meetings:
            status = self.status(m)
            total += status.get("hls", {}).get("restarts", 0)
            total += sum(o["restarts"] for o in status.get("outputs", []))
        return total

    async def close(self) -> None:
        """Studios first (their meetings go reconnecting), then ours, then the listeners; each
        process this bench started is ended by its PID, without blocking the event loop (a
        studio ending says goodbye to our ingest, which must be there to answer)."""
        await end([p for p in self.processes if self.theirs[p.pid] == "studio"])
        if self.rtmp is not None:
            await self.rtmp.aclose()
        if self.broadcasts is not None:
            await self.broadcasts.aclose()
        await end(self.processes)


async def end(processes: Sequence[subprocess.Popen[bytes]], patience: float = 5.0) -> None:
    """SIGTERM to each, then SIGKILL to those still running after `patience` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for _ in range(round(patience / 0.05)):
        if all(p.poll() is not None for p in processes):
            break
        await asyncio.sleep(0.05)
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def node(folder: Path, bench: BroadcastBench, low_rendition: int) -> AsyncIterator[Node]:
    running = Node(folder, bench, low_rendition)
    try:
        await running.start()
        yield running
    finally:
        await running.close()


# Measuring


async def measure(
    running: Node, meetings: Sequence[str], outputs: int, warmup: float, window: float
) -> Step:
    """Warm up, then read the CPU, the playlists and the sinks over `window` seconds."""
    await running.ready(meetings)
    await asyncio.sleep(warmup)
    step = Step(len(meetings), outputs, running.low_rendition)
    playlists = {m: Playlist(running.playlist(m)) for m in meetings}
    watch = CpuWatch(running.theirs)
    sizes = sink_sizes(running, meetings)
    restarts = running.restarts(meetings)
    polling = 0.0
    watch.read()
    busy0, total0 = machine_ticks()
    wall0, cpu0 = time.monotonic(), time.process_time()
    start = time.time()
    for playlist in playlists.values():
        playlist.read(start)
    while time.monotonic() - wall0 < window:
        await asyncio.sleep(POLL)
        before = time.process_time()
        watch.read()
        stamp = time.time()
        for playlist in playlists.values():
            playlist.read(stamp)
        polling += time.process_time() - before
    step.seconds = time.monotonic() - wall0
    ingest = time.process_time() - cpu0 - polling
    busy1, total1 = machine_ticks()
    step.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
    seconds = watch.seconds()
    step.cpu = {
        "ingest": 100 * ingest / step.seconds,
        "hls_recording": 100 * seconds.get("hls", 0.0) / step.seconds,
        "outputs": 100 * seconds.get("output", 0.0) / step.seconds,
        "bench_polling": 100 * polling / step.seconds,
    }
    step.cpu["ours"] = step.cpu["ingest"] + step.cpu["hls_recording"] + step.cpu["outputs"]
    step.cpu_per_meeting = {
        k: v / len(meetings) for k, v in step.cpu.items() if k != "bench_polling"
    }
    if outputs:
        step.cpu_per_meeting["per_output"] = step.cpu["outputs"] / (len(meetings) * outputs)
    step.not_ours_cpu = {
        "studios": 100 * seconds.get("studio", 0.0) / step.seconds,
        "listeners": 100 * seconds.get("listener", 0.0) / step.seconds,
    }
    rss = watch.rss()
    step.rss_mb = {"ingest_process": rss_mb("self"), "hls_recording": rss.get("hls", 0.0),
                   "outputs": rss.get("output", 0.0)}  # fmt: skip
    step.rss_mb["ours_per_meeting"] = (step.rss_mb["hls_recording"] + step.rss_mb["outputs"]) / len(
        meetings
    )
    late = [p.lateness(start + POLL) for p in playlists.values()]
    step.hls_late_s = max((w for w, _, _ in late), default=0.0)
    step.segments = sum(n for _, n, _ in late)
    durations = [d for _, n, d in late if n]
    step.segment_s = sum(durations) / len(durations) if durations else 0.0
    step.behind = step.segments == 0 or step.hls_late_s > max(step.segment_s, 0.5)
    theirs = step.not_ours_cpu["studios"] + step.not_ours_cpu["listeners"]
    step.saturated = (
        step.cpu["ours"] + theirs + step.cpu["bench_polling"] >= 100 * CORES * SATURATED
        or step.cpu["ingest"] + step.cpu["bench_polling"] >= 100 * SATURATED
    )
    step.sinks = received(running, meetings, sizes, playlists, start)
    step.restarts = running.restarts(meetings) - restarts
    return step


def sink_sizes(running: Node, meetings: Sequence[str]) -> dict[str, int]:
    sizes = {}
    for m in meetings:
        for path in running.listened[m]:
            sizes[str(path)] = size(path)
        sizes[f"{m}:recording"] = running.status(m).get("recording", {}).get("bytes", 0)
        sizes[f"{m}:part"] = size(running.folder / "broadcast" / m / "recording" / "part-0001.ts")
    return sizes


def received(
    running: Node, meetings: Sequence[str], before: dict[str, int],
    playlists: dict[str, Playlist], since: float,
) -> dict[str, Any]:  # fmt: skip
    """What each sink got during the window: bytes per listener, the recording part's bytes,
    HLS segments listed; `all` says whether every one of them got media."""
    listeners = [size(p) - before[str(p)] for m in meetings for p in running.listened[m]]
    recording = [
        size(running.folder / "broadcast" / m / "recording" / "part-0001.ts") - before[f"{m}:part"]
        for m in meetings
    ]
    segments = [sum(1 for n in p.order if p.seen[n][0] > since) for p in playlists.values()]
    return {
        "listener_bytes": listeners,
        "recording_bytes": recording,
        "hls_segments": segments,
        "all": all(b > 0 for b in listeners + recording + segments),
    }


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def encode_studio(bench: BroadcastBench, path: Path) -> dict[str, Any]:
    """The studio's file, encoded once (its encoder's CPU is not the broadcast's)."""
    kbps = bench.video_kbps
    command = [
        ffmpeg_program(), *QUIET, "-y", "-f", "lavfi", "-i",
        f"testsrc=size={bench.size}:rate={bench.fps}", "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", str(bench.studio_seconds), "-c:v", "libx264", "-preset", "ultrafast",
        "-tune", "zerolatency", "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k",
        "-bufsize", f"{kbps}k", "-x264-params", "nal-hrd=cbr", "-g", str(bench.fps),
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(path),
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(command, check=True, timeout=600, preexec_fn=preexec())
    return {
        "file_bytes": path.stat().st_size,
        "kbps": round(path.stat().st_size * 8 / 1000 / bench.studio_seconds),
        "seconds": bench.studio_seconds,
        "size": bench.size,
        "fps": bench.fps,
        "encode_s": round(time.monotonic() - started, 1),
    }


async def run_async(bench: BroadcastBench) -> BenchResult:
    result = BenchResult(bench, machine(), commit())
    with tempfile.TemporaryDirectory(prefix="halyq-bench-broadcast-") as temporary:
        folder = Path(temporary)
        studio = folder / "studio.flv"
        result.studio = encode_studio(bench, studio)
        async with node(folder / "cost", bench, 0) as running:
            running.add_meeting("cost", studio, bench.outputs)
            result.cost = await measure(running, ["cost"], bench.outputs, bench.warmup,
                                        bench.window)  # fmt: skip
        if bench.low_rendition:
            async with node(folder / "low", bench, bench.low_rendition) as running:
                running.add_meeting("low", studio, bench.outputs)
                result.low = await measure(running, ["low"], bench.outputs, bench.warmup,
                                           bench.low_window)  # fmt: skip
        if bench.ramp:
            await ramp(bench, folder / "ramp", studio, result)
    return result


async def ramp(bench: BroadcastBench, folder: Path, studio: Path, result: BenchResult) -> None:
    """Meetings added step by step to one node until one step falls behind or saturates."""
    async with node(folder, bench, 0) as running:
        meetings: list[str] = []
        for count in bench.ramp:
            while len(meetings) < count:
                meeting = f"m{len(meetings) + 1:03d}"
                running.add_meeting(meeting, studio, bench.ramp_outputs)
                meetings.append(meeting)
            try:
                step = await measure(running, meetings, bench.ramp_outputs, bench.warmup,
                                     bench.ramp_window)  # fmt: skip
            except RuntimeError as error:  # not even live: the node is past its knee
                result.notes.append(f"{count} meetings: {error}"[:500])
                result.knee = count
                break
            result.ramp.append(step)
            print(json.dumps(summary_of(step)), file=sys.stderr, flush=True)
            if not step.ok:
                result.knee = count
                break
            result.capacity = count


def run_broadcast(bench: BroadcastBench) -> BenchResult:
    """The whole bench, as a test calls it."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_async(bench))


# Reporting


def summary_of(step: Step) -> dict[str, Any]:
    return {
        "meetings": step.meetings, "outputs": step.outputs, "cpu": rounded(step.cpu),
        "per_meeting": rounded(step.cpu_per_meeting), "machine_busy": round(step.machine_busy, 3),
        "hls_late_s": round(step.hls_late_s, 2), "segment_s": round(step.segment_s, 2),
        "rss_mb": rounded(step.rss_mb), "sinks_all": step.sinks.get("all"), "ok": step.ok,
    }  # fmt: skip


def rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in values.items()}


def write_json(result: BenchResult) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{utc_stamp()}-broadcast.json"
    path.write_text(json.dumps(result.as_dict(), indent=1))
    return path


def markdown_rows(result: BenchResult) -> list[str]:
    """Rows of the section's table: the cost, the low rendition, each ramp step."""
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    rows = []
    for label, step in [("cost", result.cost), ("low rendition", result.low),
                        *[("ramp", s) for s in result.ramp]]:  # fmt: skip
        if step is None:
            continue
        cpu, per = step.cpu, step.cpu_per_meeting
        verdict = "ok" if step.ok else ("behind" if step.behind else "saturated")
        rows.append(
            f"| {when} | {result.commit} | {result.machine} | {label} | {step.meetings} x "
            f"{step.outputs} | {cpu['ingest']:.1f} | {cpu['hls_recording']:.1f} | "
            f"{cpu['outputs']:.1f} | {cpu['ours']:.1f} | {per['ours']:.1f} | "
            f"{step.not_ours_cpu['studios'] + step.not_ours_cpu['listeners']:.1f} | "
            f"{step.machine_busy * 100:.0f} | {step.hls_late_s:.2f} / {step.segment_s:.2f} | "
            f"{step.rss_mb['ingest_process']:.0f} / {step.rss_mb['ours_per_meeting']:.0f} | "
            f"{'yes' if step.sinks.get('all') else 'NO'} | {verdict} |"
        )
    return rows


HEADER = (
    "| date (UTC) | commit | machine | phase | meetings x outputs | ingest % | HLS + recording % "
    "| outputs % | ours % | ours per meeting % | studios + listeners % (not ours) | machine busy % "
    "| HLS worst late / segment s | RSS MB ingest process / ffmpegs per meeting | every sink "
    "got media | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def record(result: BenchResult, path: Path = RESULTS) -> None:
    """Adds the run's rows to the section's table (the section is added the first time)."""
    text = path.read_text(encoding="utf-8")
    rows = "\n".join(markdown_rows(result))
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{HEADER}\n{rows}\n"
    else:
        head, tail = text.split(SECTION, 1)
        table_end = tail.find("\n\n", tail.find("|---"))
        table_end = len(tail.rstrip("\n")) if table_end < 0 else table_end
        tail = tail[:table_end] + "\n" + rows + tail[table_end:]
        text = head + SECTION + tail
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.broadcast",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--outputs", type=int, default=3, help="restream outputs (cost phase)")
    parser.add_argument("--window", type=float, default=30.0, help="cost window, seconds")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--low-rendition", type=int, default=360, help="0: skip that phase")
    parser.add_argument("--ramp", default="1,2,4,8,16,32,64", help="meetings per step; '': skip")
    parser.add_argument("--ramp-window", type=float, default=15.0)
    parser.add_argument("--ramp-outputs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 s, ramp 1,2")
    parser.add_argument("--no-record", action="store_true", help="do not add to results.md")
    args = parser.parse_args(argv)
    steps = tuple(int(n) for n in args.ramp.split(",") if n.strip())
    bench = BroadcastBench(
        outputs=args.outputs, window=args.window, warmup=args.warmup,
        low_rendition=args.low_rendition, ramp=steps, ramp_window=args.ramp_window,
        ramp_outputs=args.ramp_outputs,
    )  # fmt: skip
    if args.quick:
        bench = BroadcastBench(outputs=args.outputs, window=10, warmup=3, low_window=10,
                               ramp=(1, 2), ramp_window=8)  # fmt: skip
    result = run_broadcast(bench)
    path = write_json(result)
    print(json.dumps({"cost": summary_of(result.cost) if result.cost else None,
                      "low": summary_of(result.low) if result.low else None,
                      "knee": result.knee, "capacity": result.capacity, "json": str(path)},
                     indent=1))  # fmt: skip
    if not args.no_record:
        record(result)
    return 0 if result.cost is not None and result.cost.sinks.get("all") else 1


if __name__ == "__main__":
    sys.exit(main())
