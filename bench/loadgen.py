"""The load generator: N cheap viewers and R comments a second for a bounded time, then a result.

`run_load` is the library entry; `python -m bench.loadgen` runs it alone, or under the runner
(`--control`: JSON lines on stdout, the start time from stdin), possibly one of several processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench.commenters import Commenters, Window
from bench.histogram import Histogram
from bench.viewer import Tally, Viewer, handshake_request

QUIET = 1.0  # seconds without a new in-window delivery after which the drain may stop
CLOSE_WAIT = 3.0  # seconds the server gets to answer our close frames before we abort
FD_MARGIN = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadConfig:
    """One generator process's share of the load."""

    url: str  # http://127.0.0.1:PORT
    path: str  # /ws/meetings/ID
    viewers: int
    rate: float  # comments per second (0: viewers only)
    duration: float = 30.0
    warmup: float = 5.0
    connect_rate: float = 300.0  # new viewer connections per second
    per_connection: float = 5.0  # comments per second on one commenter connection
    sample_viewers: int = 1000  # viewers that time every event (0: all of them)
    connect_timeout: float = 30.0
    drain: float = 5.0  # seconds at most to wait for late acks and deliveries
    tag: str = "g0"  # prefix of client_msg_ids, unique per process
    source: str | None = None  # loopback address the viewers' sockets bind (None: any)

    def __post_init__(self) -> None:
        if self.viewers < 0 or self.rate < 0:
            raise ValueError("viewers and rate cannot be negative")
        if min(self.connect_rate, self.per_connection, self.duration) <= 0 or self.warmup < 0:
            raise ValueError("connect_rate, per_connection and duration must be positive")

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + self.path

    @property
    def sample_stride(self) -> int:
        if self.sample_viewers <= 0:
            return 1
        return max(1, math.ceil(self.viewers / self.sample_viewers))


@dataclass(slots=True, kw_only=True)
class LoadResult:
    """What one or more generator processes measured; counts cover the measured window."""

    viewers: int = 0
    connected: int = 0
    failed: int = 0
    dropped: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    sampled_viewers: int = 0
    commenters: int = 0
    sent_total: int = 0
    sent: int = 0
    acked: int = 0
    held: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unanswered: int = 0
    events: int = 0
    frames: int = 0
    window_s: float = 0.0
    gen_cpu_s: float = 0.0
    processes: int = 1
    ack: Histogram = field(default_factory=Histogram)
    delivery: Histogram = field(default_factory=Histogram)

    @property
    def delivered_per_s(self) -> float:
        return self.events / self.window_s if self.window_s else 0.0

    @property
    def gen_cpu(self) -> float:
        """CPU seconds per second of the window, summed over processes (1.0 = one core)."""
        return self.gen_cpu_s / self.window_s if self.window_s else 0.0

    @property
    def completeness(self) -> float | None:
        """Timed deliveries over those expected: sampled viewers times comments sent in the
        window and not refused (unanswered ones count: a backlogged server posts them late)."""
        expected = self.sampled_viewers * (self.sent - sum(self.rejected.values()) - self.held)
        return self.delivery.total / expected if expected else None

    def summary(self) -> dict[str, float | None]:
        return {
            "ack_p50_ms": self.ack.percentile_ms(0.50),
            "ack_p99_ms": self.ack.percentile_ms(0.99),
            "delivery_p50_ms": self.delivery.percentile_ms(0.50),
            "delivery_p99_ms": self.delivery.percentile_ms(0.99),
            "delivery_max_ms": self.delivery.max_ms(),
            "delivered_per_s": self.delivered_per_s,
            "events_per_frame": self.events / self.frames if self.frames else None,
            "gen_cpu": self.gen_cpu,
            "completeness": self.completeness,
        }

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {item.name: getattr(self, item.name) for item in fields(self)}
        data["ack"], data["delivery"] = self.ack.to_json(), self.delivery.to_json()
        data["summary"] = self.summary()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadResult:
        names = {item.name for item in fields(cls)} - {"ack", "delivery"}
        return cls(
            **{name: data[name] for name in names if name in data},
            ack=Histogram.from_json(data.get("ack", {})),
            delivery=Histogram.from_json(data.get("delivery", {})),
        )

    @classmethod
    def merge(cls, parts: list[LoadResult]) -> LoadResult:
        """One result for processes that ran the same window side by side."""
        merged = cls(processes=0, ack=Histogram(), delivery=Histogram())
        for part in parts:
            for item in fields(cls):
                mine, theirs = getattr(merged, item.name), getattr(part, item.name)
                if isinstance(mine, Histogram):
                    setattr(merged, item.name, mine.merge([theirs]))
                elif isinstance(mine, dict):
                    setattr(merged, item.name, dict(Counter(mine) + Counter(theirs)))
                elif item.name == "window_s":
                    merged.window_s = max(mine, theirs)
                else:
                    setattr(merged, item.name, mine + theirs)
        return merged


@dataclass(frozen=True, slots=True)
class Connected:
    """The connect phase's outcome, told to whoever decides when the comments start."""

    connected: int
    failed: int


# The start of the comments in wall-clock seconds, decided once the viewers are connected.
StartDecider = Callable[[Connected], Awaitable[float]]


def ensure_file_limit(needed: int) -> None:
    """Raise the soft limit on open files to `needed`, or stop with a clear message."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"loadgen: needs {needed} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def open_viewers(config: LoadConfig, tally: Tally) -> tuple[list[Viewer], Counter[str]]:
    """Open the viewers at `connect_rate` a second; returns those that got the hello."""
    loop = asyncio.get_running_loop()
    host, port = config.host_port
    stride = config.sample_stride
    began = loop.time()
    tasks = []
    for index in range(config.viewers):
        delay = began + index / config.connect_rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        opening = _open_viewer(config, tally, host, port, sampled=index % stride == 0)
        tasks.append(loop.create_task(opening))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    viewers = [outcome for outcome in outcomes if isinstance(outcome, Viewer)]
    failures = Counter(type(o).__name__ for o in outcomes if not isinstance(o, Viewer))
    return viewers, failures


async def _open_viewer(
    config: LoadConfig, tally: Tally, host: str, port: int, *, sampled: bool
) -> Viewer:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    viewer = Viewer(tally, handshake_request(host, port, config.path), ready, sampled=sampled)
    try:
        async with asyncio.timeout(config.connect_timeout):
            local = (config.source, 0) if config.source else None
            await loop.create_connection(lambda: viewer, host, port, local_addr=local)
            await ready
    except BaseException:
        viewer.abort()
        raise
    return viewer


async def close_viewers(viewers: list[Viewer], tally: Tally) -> None:
    """Close politely, give the server a moment to answer, then abort what is left."""
    tally.all_closed = asyncio.Event()
    for viewer in viewers:
        viewer.close()
    if tally.open > 0:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT):
                await tally.all_closed.wait()
    for viewer in viewers:
        viewer.abort()


async def sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _drain(config: LoadConfig, tally: Tally, commenters: Commenters) -> None:
    """Wait for the acks of the window's comments and the deliveries still under way."""
    deadline = time.monotonic() + config.drain
    while time.monotonic() < deadline:
        quiet = time.monotonic() - tally.last_sample > QUIET
        if commenters.unanswered() == 0 and quiet:
            return
        await asyncio.sleep(0.05)


async def _measure(config: LoadConfig, tally: Tally, start: float) -> LoadResult:
    """Comments from `start`; counts and CPU over the window after the warm-up."""
    window = Window(start + config.warmup, start + config.warmup + config.duration)
    tally.window_ns = (window.start_ns, window.end_ns)
    commenters = Commenters(config.ws_url, config.rate, config.per_connection, window, config.tag)
    async with asyncio.timeout(config.connect_timeout):
        await commenters.connect()
    try:
        commenters.start(start)
        await sleep_until(window.start)
        tally.measuring, cpu = True, time.process_time()
        await sleep_until(window.end)
        tally.measuring, cpu = False, time.process_time() - cpu
        await _drain(config, tally, commenters)
    finally:
        await commenters.close()
    return LoadResult(
        commenters=commenters.count,
        sent_total=commenters.sent_total,
        sent=commenters.sent,
        acked=commenters.acked,
        held=commenters.held,
        rejected=dict(commenters.rejected),
        unanswered=commenters.unanswered(),
        window_s=window.seconds,
        gen_cpu_s=cpu,
        ack=commenters.ack,
    )


async def run_load(config: LoadConfig, decide_start: StartDecider | None = None) -> LoadResult:
    """Connect the viewers, let `decide_start` pick the start (default: at once), run, report."""
    ensure_file_limit(config.viewers + math.ceil(config.rate / config.per_connection) + FD_MARGIN)
    tally = Tally()
    viewers, failures = await open_viewers(config, tally)
    try:
        connected = Connected(len(viewers), sum(failures.values()))
        start = await decide_start(connected) if decide_start else time.time() + 0.5
        result = await _measure(config, tally, start)
    finally:
        await close_viewers(viewers, tally)
    result.viewers = config.viewers
    result.connected = len(viewers)
    result.failed = sum(failures.values())
    result.failures = dict(failures)
    result.dropped = tally.dropped
    result.close_codes = {str(code): count for code, count in tally.close_codes.items()}
    result.sampled_viewers = sum(1 for viewer in viewers if viewer.sampled)
    result.events, result.frames = tally.events, tally.frames
    result.delivery = tally.latency
    return result


# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--path", required=True, help="the viewer path, /ws/meetings/ID")
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="comments per second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--connect-rate", type=float, default=300.0)
    parser.add_argument("--per-connection", type=float, default=5.0)
    parser.add_argument("--sample-viewers", type=int, default=1000)
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--tag", default="g0", help="client_msg_id prefix, unique per process")
    parser.add_argument("--source", help="loopback address the viewers bind, e.g. 127.0.0.2")
    parser.add_argument(
        "--control", action="store_true", help="JSON lines on stdout, start time from stdin"
    )
    return parser


def _config(args: argparse.Namespace) -> LoadConfig:
    host = urlsplit(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loadgen: load goes to loopback only")
    if args.source and not ipaddress.ip_address(args.source).is_loopback:
        raise SystemExit("loadgen: --source must be a loopback address")
    return LoadConfig(
        url=args.url,
        path=args.path,
        viewers=args.viewers,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        connect_rate=args.connect_rate,
        per_connection=args.per_connection,
        sample_viewers=args.sample_viewers,
        drain=args.drain,
        tag=args.tag,
        source=args.source,
    )


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _start_from_stdin(connected: Connected) -> float:
    """Tell the runner we are connected; it answers with the start time once all are."""
    _emit({"phase": "connected", "connected": connected.connected, "failed": connected.failed})
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit("loadgen: the runner went away")
    start: float = json.loads(line)["start"]
    return start


def time_limit(config: LoadConfig, wait_for_start: float) -> float:
    """An upper bound on a whole run, after which the generator gives up by itself."""
    connecting = config.viewers / config.connect_rate + config.connect_timeout
    return connecting + wait_for_start + config.warmup + config.duration + config.drain + 30


async def _main(config: LoadConfig, control: bool) -> LoadResult:
    async with asyncio.timeout(time_limit(config, 600.0 if control else 1.0)):
        return await run_load(config, _start_from_stdin if control else None)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = _config(args)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(_main(config, args.control))
    if args.control:
        _emit({"phase": "result", "result": result.to_json()})
    else:
        print(json.dumps(result.summary(), indent=2))
        counts = {k: v for k, v in result.to_json().items() if k not in ("ack", "delivery")}
        print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
