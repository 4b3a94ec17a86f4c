"""The runner: the same load against Halyq and the websockets baseline, each pinned, in turn.

`python -m bench.run --viewers 1000 --rate 100` prints a table and the ratio, and keeps JSON and a
results.md row; `run_scenario("halyq", Scenario(viewers=50, rate=20, duration=3))` for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import psutil

from bench import report
from bench.loadgen import CLOSE_WAIT, FD_MARGIN, LoadResult, ensure_file_limit
from bench.servers import ROOT, die_with_parent, pinned, start_baseline, start_halyq

ServerKind = Literal["halyq", "baseline"]
SERVERS: tuple[ServerKind, ...] = ("halyq", "baseline")
START_DELAY = 1.5  # seconds between "go" and the first comment: commenters connect meanwhile
LINE_LIMIT = 1 << 26  # a result line carries two histograms: far more than asyncio's 64 KiB
VIEWER_GAUGE = 'halyq_ws_connections{audience="viewer"}'
WINDOW_COUNTERS = (
    "halyq_events_out_total",
    "halyq_frames_out_total",
    "halyq_slow_clients_dropped_total",
    'halyq_comments_total{outcome="posted"}',
    'halyq_comments_total{outcome="held"}',
    'halyq_comments_total{outcome="rate_limited"}',
    "halyq_fanout_latency_seconds_sum",
    "halyq_fanout_latency_seconds_count",
    "halyq_ack_latency_seconds_sum",
    "halyq_ack_latency_seconds_count",
    'halyq_event_loop_lag_seconds_bucket{le="0.02"}',
    "halyq_event_loop_lag_seconds_count",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One load shape; CPU lists are `taskset -c` lists, None for no pinning."""

    viewers: int = 1000
    rate: float = 100.0
    duration: float = 30.0
    warmup: float = 5.0
    connect_rate: float = 300.0
    per_connection: float = 5.0
    sample_viewers: int = 1000
    gen_procs: int = 1
    settle: float = 2.0  # seconds after the last viewer connected before memory is read
    drain: float = 5.0
    server_cpus: str | None = "0"
    gen_cpus: str | None = "1"
    # The reference rig (shared/reference/reliability.md, 3.1): Redis beside the generator.
    redis_cpus: str | None = "1"
    # Loopback source addresses for the generators' sockets, process i binding sources[i % n]
    # (empty: the kernel's choice, 127.0.0.1): many thousands of sockets to one port, and a
    # balancer's onward connections, then do not share one address's ephemeral ports.
    sources: tuple[str, ...] = ()

    def source(self, index: int) -> str | None:
        """The source address of generator process `index`, or None for the default."""
        return self.sources[index % len(self.sources)] if self.sources else None

    def share(self, index: int) -> tuple[int, float]:
        """Viewers and comment rate of generator process `index` (process 0 comments)."""
        viewers = self.viewers // self.gen_procs + (index < self.viewers % self.gen_procs)
        return viewers, self.rate if index == 0 else 0.0


@dataclass(slots=True, kw_only=True)
class ScenarioResult:
    """One server under one scenario: the generators' view and the server's resource use."""

    server: str
    scenario: Scenario
    load: LoadResult
    rss_before: int
    rss_idle: int
    server_cpu_s: dict[str, float]  # CPU seconds in the window, by process (server, redis...)
    server_metrics: dict[str, float] = field(default_factory=dict)  # window deltas (Halyq)
    viewers_reported: float | None = None  # the server's own viewer gauge at idle
    commit: str = ""  # of the code the server started from (it may change during a run)
    machine_busy_s: float = 0.0  # CPU seconds of every process on the machine in the window

    @property
    def memory_per_connection(self) -> float | None:
        """Bytes: (RSS with the idle viewers - RSS before them) / viewers connected."""
        if not self.load.connected:
            return None
        return (self.rss_idle - self.rss_before) / self.load.connected

    @property
    def server_cpu(self) -> float:
        """CPU seconds per second of the window, server and children (1.0 = one core)."""
        window = self.load.window_s
        return sum(self.server_cpu_s.values()) / window if window else 0.0

    @property
    def other_cpu(self) -> float:
        """Cores busy in the window with anything but the server side and the load processes
        (other work on the machine: above ~0.15 the numbers are noisy)."""
        ours = sum(self.server_cpu_s.values()) + self.load.gen_cpu_s
        window = self.load.window_s
        return max(0.0, self.machine_busy_s - ours) / window if window else 0.0

    @property
    def expected_per_s(self) -> float:
        """Deliveries a second if every connected viewer got every comment posted (sent in the
        window, not refused or held)."""
        load = self.load
        posted = load.sent - sum(load.rejected.values()) - load.held
        return load.connected * posted / load.window_s if load.window_s else 0.0

    @property
    def delivered_share(self) -> float | None:
        """Delivered messages per second over those expected (1.0: none missing or late)."""
        expected = self.expected_per_s
        return self.load.delivered_per_s / expected if expected else None

    @property
    def cpu_us_per_connection(self) -> float | None:
        """Server CPU microseconds per connection per second of load."""
        connected = self.load.connected
        return self.server_cpu * 1e6 / connected if connected else None

    @property
    def cpu_us_per_message(self) -> float | None:
        """Server CPU microseconds per delivered comment event."""
        events = self.load.events
        return sum(self.server_cpu_s.values()) * 1e6 / events if events else None

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "commit": self.commit,
            "scenario": asdict(self.scenario),
            "load": self.load.to_json(),
            "rss_before": self.rss_before,
            "rss_idle": self.rss_idle,
            "memory_per_connection": self.memory_per_connection,
            "server_cpu_s": self.server_cpu_s,
            "server_cpu": self.server_cpu,
            "cpu_us_per_connection": self.cpu_us_per_connection,
            "cpu_us_per_message": self.cpu_us_per_message,
            "expected_per_s": self.expected_per_s,
            "other_cpu": self.other_cpu,
            "delivered_share": self.delivered_share,
            "server_metrics": self.server_metrics,
            "viewers_reported": self.viewers_reported,
        }


@dataclass(slots=True)
class Comparison:
    """Halyq and the baseline under the same scenario, in the same run."""

    scenario: Scenario
    results: dict[str, ScenarioResult]

    @property
    def ratio(self) -> float | None:
        """Delivered messages per second, Halyq / baseline."""
        halyq, baseline = self.results.get("halyq"), self.results.get("baseline")
        if halyq is None or baseline is None or not baseline.load.delivered_per_s:
            return None
        return halyq.load.delivered_per_s / baseline.load.delivered_per_s

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": asdict(self.scenario),
            "machine": report.machine(),
            "ratio": self.ratio,
            "results": {name: result.to_json() for name, result in self.results.items()},
        }


class Target(Protocol):
    """What a scenario drives and measures: one server (`ServerProcess`), or several nodes behind
    a balancer (`bench.balanced.Fleet`); `kind` "halyq" has Prometheus `metrics()`."""

    @property
    def kind(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def path(self) -> str: ...

    def rss(self) -> int: ...

    def cpu_seconds(self) -> dict[str, float]: ...

    def metrics(self) -> dict[str, float]: ...


# Generator processes


@dataclass
class Generator:
    """One load process under `--control` (`bench.loadgen`, or `bench.console`)."""

    index: int
    process: asyncio.subprocess.Process

    async def line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await self.process.stdout.readline()
        if not raw:
            raise RuntimeError(f"generator {self.index} exited ({await self.process.wait()})")
        message: dict[str, Any] = json.loads(raw)
        return message

    async def go(self, start: float) -> None:
        await self.send({"start": start})

    async def send(self, message: dict[str, Any]) -> None:
        """One JSON line to the process's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()

    async def stop(self) -> None:
        """Wait a little for a clean exit, then kill by PID."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 10)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start_generator(server: Target, scenario: Scenario, index: int) -> Generator:
    viewers, rate = scenario.share(index)
    # 0 samples every viewer; else each process times its share of `sample_viewers`
    share = scenario.sample_viewers // scenario.gen_procs
    sampled = max(1, share) if scenario.sample_viewers else 0
    # fmt: off
    command = [
        sys.executable, "-m", "bench.loadgen", "--control",
        "--url", server.url, "--path", server.path,
        "--viewers", str(viewers), "--rate", str(rate),
        "--duration", str(scenario.duration), "--warmup", str(scenario.warmup),
        "--connect-rate", str(scenario.connect_rate / scenario.gen_procs),
        "--per-connection", str(scenario.per_connection),
        "--sample-viewers", str(sampled),
        "--drain", str(scenario.drain), "--tag", f"g{index}",
    ]
    # fmt: on
    if source := scenario.source(index):
        command += ["--source", source]
    process = await asyncio.create_subprocess_exec(
        *pinned(command, scenario.gen_cpus),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent,
        limit=LINE_LIMIT,
    )
    return Generator(index, process)


# One scenario against one server


def window_deltas(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after.get(name, 0.0) - before.get(name, 0.0) for name in WINDOW_COUNTERS}


def cpu_deltas(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


async def _sleep_until(wall: float) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()))


@dataclass
class _Idle:
    rss_before: int
    rss_idle: int
    viewers_reported: float | None


async def _connect_all(
    server: Target, scenario: Scenario, generators: list[Generator], rss_before: int
) -> _Idle:
    """Wait until every generator has its viewers connected, let them settle, read memory."""
    async with asyncio.timeout(scenario.viewers / scenario.connect_rate + 90):
        messages = [await generator.line() for generator in generators]
    for generator, message in zip(generators, messages, strict=True):
        if message.get("phase") != "connected":
            raise RuntimeError(f"generator {generator.index}: unexpected {message}")
    await asyncio.sleep(scenario.settle)
    reported = server.metrics().get(VIEWER_GAUGE) if server.kind == "halyq" else None
    return _Idle(rss_before, server.rss(), reported)


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used (everything but idle and I/O wait)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass
class _Window:
    cpu: dict[str, float]
    metrics: dict[str, float]
    machine_busy_s: float
    parts: list[LoadResult]


async def _measure(server: Target, scenario: Scenario, generators: list[Generator]) -> _Window:
    """Start the comments, sample the server (and the machine) at the window's edges, collect
    the results."""
    start = time.time() + START_DELAY
    for generator in generators:
        await generator.go(start)
    halyq = server.kind == "halyq"
    await _sleep_until(start + scenario.warmup)
    cpu, metrics, busy = server.cpu_seconds(), server.metrics() if halyq else {}, machine_busy()
    await _sleep_until(start + scenario.warmup + scenario.duration)
    busy = machine_busy() - busy
    cpu = cpu_deltas(cpu, server.cpu_seconds())
    metrics = window_deltas(metrics, server.metrics()) if halyq else {}
    async with asyncio.timeout(scenario.drain + CLOSE_WAIT + 60):
        messages = [await generator.line() for generator in generators]
    parts = [LoadResult.from_json(message["result"]) for message in messages]
    return _Window(cpu, metrics, busy, parts)


async def drive(server: Target, scenario: Scenario, commit: str) -> ScenarioResult:
    await asyncio.sleep(0.5)  # let start-up work (imports, first Redis calls) finish
    rss_before = server.rss()
    generators = [await start_generator(server, scenario, i) for i in range(scenario.gen_procs)]
    try:
        idle = await _connect_all(server, scenario, generators, rss_before)
        window = await _measure(server, scenario, generators)
    finally:
        for generator in generators:
            await generator.stop()
    return ScenarioResult(
        server=server.kind,
        scenario=scenario,
        load=LoadResult.merge(window.parts),
        rss_before=idle.rss_before,
        rss_idle=idle.rss_idle,
        server_cpu_s=window.cpu,
        server_metrics=window.metrics,
        viewers_reported=idle.viewers_reported,
        commit=commit,
        machine_busy_s=window.machine_busy_s,
    )


async def scenario_async(kind: ServerKind, scenario: Scenario) -> ScenarioResult:
    """Start `kind` in a temporary folder, run `scenario` against it, stop it."""
    with tempfile.TemporaryDirectory(prefix=f"halyq-bench-{kind}-") as workdir:
        commit = report.commit()
        # Started from this (the main) thread: the server's parent-death signal follows the
        # thread that forked it, and a worker thread may end before the run does.
        if kind == "halyq":
            server = start_halyq(Path(workdir), scenario.server_cpus, scenario.redis_cpus)
        else:
            server = start_baseline(Path(workdir), scenario.server_cpus)
        try:
            return await drive(server, scenario, commit)
        finally:
            server.stop()


def run_scenario(kind: ServerKind, scenario: Scenario) -> ScenarioResult:
    """Run one scenario against one server (`halyq` or `baseline`); blocks until it is over."""
    preflight(scenario)
    return asyncio.run(scenario_async(kind, scenario))


def compare(scenario: Scenario, servers: tuple[ServerKind, ...] = SERVERS) -> Comparison:
    """The same scenario against each server in turn."""
    return Comparison(scenario, {kind: run_scenario(kind, scenario) for kind in servers})


def preflight(scenario: Scenario) -> None:
    """CPUs to pin to, open files for the server and generators (they inherit our limit)."""
    commenters = math.ceil(scenario.rate / scenario.per_connection) if scenario.rate > 0 else 0
    ensure_file_limit(scenario.viewers + commenters + FD_MARGIN)
    with contextlib.suppress(OSError, ValueError):
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
        if somaxconn < scenario.connect_rate:
            print(f"bench: warning: net.core.somaxconn is {somaxconn}; connects may be refused")
    available = os.sched_getaffinity(0)
    for cpus in (scenario.server_cpus, scenario.gen_cpus):
        wanted = {int(part) for part in (cpus or "").split(",") if part.isdigit()}
        if wanted - available:
            raise SystemExit(f"bench: CPU {cpus} is not available here; try --no-pin")


# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="comments per second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="comment seconds not measured")
    parser.add_argument("--servers", default=",".join(SERVERS), help="halyq,baseline")
    parser.add_argument("--gen-procs", type=int, default=1, help="generator processes")
    parser.add_argument("--connect-rate", type=float, default=300.0, help="connects per second")
    parser.add_argument("--per-connection", type=float, default=5.0, help="comments/s/commenter")
    parser.add_argument("--sample-viewers", type=int, default=1000, help="viewers timing events")
    add_placement_arguments(parser)
    parser.add_argument(
        "--console",
        action="store_true",
        help="run the console scenario instead (options: python -m bench.console_run --help)",
    )
    return parser


def add_placement_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the processes run and where the results go: the same for every scenario."""
    parser.add_argument("--server-cpus", default="0", help="taskset -c list for the server")
    parser.add_argument("--gen-cpus", default="1", help="taskset -c list for the load processes")
    parser.add_argument("--redis-cpus", default="1", help="CPUs for Halyq's embedded Redis")
    parser.add_argument("--no-pin", action="store_true", help="no taskset at all")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="JSON folder")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--no-record", action="store_true", help="do not append to results.md")


def placed(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """`scenario` pinned as `args` say (`--no-pin`: not at all)."""
    if args.no_pin:
        return replace(scenario, server_cpus=None, gen_cpus=None, redis_cpus=None)
    return replace(
        scenario, server_cpus=args.server_cpus, gen_cpus=args.gen_cpus, redis_cpus=args.redis_cpus
    )


def _scenario(args: argparse.Namespace) -> Scenario:
    scenario = Scenario(
        viewers=args.viewers,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        connect_rate=args.connect_rate,
        per_connection=args.per_connection,
        sample_viewers=args.sample_viewers,
        gen_procs=max(1, args.gen_procs),
    )
    return placed(scenario, args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--console" in argv:
        # Imported here: the console scenario builds on this module.
        from bench import console_run

        return console_run.main([arg for arg in argv if arg != "--console"])
    args = _parser().parse_args(argv)
    servers = tuple(name.strip() for name in args.servers.split(",") if name.strip())
    unknown = set(servers) - set(SERVERS)
    if unknown:
        raise SystemExit(f"bench: unknown server(s) {', '.join(sorted(unknown))}")
    scenario = _scenario(args)
    comparison = Comparison(scenario, {})
    for kind in SERVERS:
        if kind in servers:
            print(f"bench: {kind}: {scenario.viewers} viewers, {scenario.rate:g} comments/s ...")
            comparison.results[kind] = run_scenario(kind, scenario)
    print(report.table(comparison.results, comparison.ratio))
    written = report.write_json(args.out, comparison.to_json())
    print(f"bench: JSON in {written}")
    if not args.no_record:
        report.append_row(args.results, comparison.results, comparison.ratio)
        print(f"bench: a row added to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
