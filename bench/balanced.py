"""Several nodes behind HAProxy against one node (issue 15): delivery and throughput.

`python -m bench.balanced` runs, one after the other:

1. one node: `halyq serve` with its embedded Redis, as `bench.run` starts it, with
   `--single-viewers` (5,000) viewers at `--rate` (100) comments a second;
2. `--nodes` (3) nodes on one Redis behind HAProxy (`bench.balancer`, from deploy/haproxy.cfg),
   with `--viewers` (15,000) viewers and the commenters all connecting through HAProxy.

Both halves are measured as `bench.run` measures (delivery from a comment's send to a viewer's
receipt, deliveries per second over the window, what share of the expected deliveries arrived);
the balanced half also reports how many viewers each node got. The throughput ratio is the
balanced half's delivered messages per second over the one node's (ideal: the number of nodes).
`run_balanced(BalancedScenario(...))` for tests; the command line prints, keeps JSON and adds two
rows to results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

from bench import report
from bench.balancer import HAPROXY, READY_TIMEOUT, Balanced, balanced, stop
from bench.run import (
    VIEWER_GAUGE,
    Scenario,
    ScenarioResult,
    drive,
    preflight,
    scenario_async,
)
from bench.servers import METRIC_LINE, ROOT, server_environment
from server.children import preexec
from server.store.embedded import EmbeddedRedis
from tests.helpers import free_port

# What the nodes need for this load, all of it from loopback through one balancer (the nodes
# believe its X-Forwarded-For, which names the generators' source addresses): the per-address
# caps (issue 8) are not what this bench measures, so lift them, as `bench.servers` does.
NODE_SETTINGS = {
    "HALYQ_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
    "HALYQ_ADDRESS_COMMENTS_PER_MINUTE": "1000000",
    "HALYQ_ADDRESS_COMMENT_BURST": "1000000",
    "HALYQ_LOG_LEVEL": "warning",
}
# HAProxy holds two sockets per viewer (client and node side); bench.balancer fits its `maxconn`
# under our hard limit on open files, so more viewers than that need more HAProxy processes.
HAPROXY_FILES_PER_VIEWER = 2
HAPROXY_RESERVED_FILES = 100  # as bench.balancer reserves beside the connections
HAPROXY_FILL = 0.8  # of each HAProxy's connections the load may fill (the kernel's hash is uneven)
SOURCE_BASE = "127.0.0."
SOURCE_FIRST = 2  # generator i binds 127.0.0.(2 + i): 127.0.0.1 stays HAProxy's own address


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancedScenario:
    """One node with `single_viewers`, then `nodes` nodes behind HAProxy with `viewers`; both
    at `rate` comments a second. CPU lists are `taskset -c` lists (None: not pinned)."""

    nodes: int = 3
    viewers: int = 15_000
    single_viewers: int = 5_000  # 0: skip the one-node half (no ratio then)
    rate: float = 100.0
    duration: float = 30.0
    warmup: float = 5.0
    connect_rate: float = 500.0
    gen_procs: int = 3  # the load processes of the balanced half (the one node's: one per 5,000)
    sample_viewers: int = 1000
    settle: float = 2.0
    drain: float = 5.0
    # Not pinned by default: three nodes, HAProxy, Redis and the load processes cannot be given
    # a core each on a 2-core machine, and pinned (nodes on core 0, the rest on core 1) the
    # balanced half ran slower than with the kernel placing them (bench/results.md).
    server_cpus: str | None = None  # the node, or every node
    gen_cpus: str | None = None
    redis_cpus: str | None = None
    balancer_cpus: str | None = None
    haproxies: int = 0  # HAProxy processes on the one port; 0: as many as the file limit needs

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.viewers < 1 or self.single_viewers < 0 or self.gen_procs < 1:
            raise ValueError("nodes, viewers and gen_procs must be positive")
        if self.haproxies < 0:
            raise ValueError("haproxies cannot be negative")

    def load(self, viewers: int, procs: int) -> Scenario:
        """The `bench.run` scenario of one half: the same load shape, `viewers` over `procs`
        generator processes, each bound to a source address of its own."""
        sources = tuple(f"{SOURCE_BASE}{SOURCE_FIRST + i}" for i in range(procs))
        return Scenario(
            viewers=viewers,
            rate=self.rate,
            duration=self.duration,
            warmup=self.warmup,
            connect_rate=self.connect_rate,
            sample_viewers=self.sample_viewers,
            gen_procs=procs,
            settle=self.settle,
            drain=self.drain,
            server_cpus=self.server_cpus,
            gen_cpus=self.gen_cpus,
            redis_cpus=self.redis_cpus,
            sources=sources,
        )

    @property
    def haproxy_processes(self) -> int:
        """HAProxy processes on the one frontend port (1 where one may hold every viewer)."""
        if self.haproxies:
            return self.haproxies
        commenters = math.ceil(self.rate / 5)
        return balancer_processes(self.viewers + commenters)

    @property
    def single(self) -> Scenario:
        procs = max(1, min(self.gen_procs, -(-self.single_viewers // 5000)))
        return self.load(self.single_viewers, procs)

    @property
    def spread(self) -> Scenario:
        return self.load(self.viewers, self.gen_procs)


@dataclass(slots=True, kw_only=True)
class BalancedResult:
    """Both halves; `viewers_by_node` is each node's viewer gauge once all had connected."""

    scenario: BalancedScenario
    single: ScenarioResult | None
    spread: ScenarioResult
    viewers_by_node: dict[str, float] = field(default_factory=dict)
    haproxy_processes: int = 1

    @property
    def ratio(self) -> float | None:
        """Delivered messages per second, the nodes behind HAProxy over the one node."""
        if self.single is None or not self.single.load.delivered_per_s:
            return None
        return self.spread.load.delivered_per_s / self.single.load.delivered_per_s

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": asdict(self.scenario),
            "machine": report.machine(),
            "ratio": self.ratio,
            "viewers_by_node": self.viewers_by_node,
            "haproxy_processes": self.haproxy_processes,
            "single": None if self.single is None else self.single.to_json(),
            "spread": self.spread.to_json(),
        }


# The nodes behind the balancer, as one target of `bench.run.drive`


def node_metrics(url: str) -> dict[str, float]:
    """One node's Prometheus samples, by name with labels (the `node` label dropped, so that
    the nodes' samples add up under the names `bench.run` reads)."""
    text = httpx.get(url + "/metrics", timeout=10).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if match := METRIC_LINE.match(line):
            name = _without_node_label(match.group(1))
            samples[name] = samples.get(name, 0.0) + float(match.group(2))
    return samples


def _without_node_label(name: str) -> str:
    """`m{a="x",node="n"}` -> `m{a="x"}`; `m{node="n"}` -> `m`."""
    if "{" not in name:
        return name
    base, _, labels = name.partition("{")
    kept = [part for part in labels.rstrip("}").split(",") if part and "=" in part]
    kept = [part for part in kept if not part.startswith("node=")]
    return f"{base}{{{','.join(kept)}}}" if kept else base


@dataclass
class Fleet:
    """The balanced half's server side: nodes, HAProxy, Redis. `url` is HAProxy's; memory and
    CPU add up every process; `metrics()` adds up the nodes' and keeps each node's viewers."""

    balanced: Balanced
    redis_pid: int
    more_haproxy: list[int] = field(default_factory=list)  # PIDs beside balanced.haproxy
    path: str = ""
    kind: str = "halyq"
    viewers_seen: list[dict[str, float]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.balanced.url

    def processes(self) -> dict[str, list[psutil.Process]]:
        """Each process (and its children) by the name its CPU is reported under."""
        named = {node.name: [psutil.Process(node.pid)] for node in self.balanced.nodes}
        haproxies = [self.balanced.haproxy.pid, *self.more_haproxy]
        named["haproxy"] = [psutil.Process(pid) for pid in haproxies]
        named["redis"] = [psutil.Process(self.redis_pid)]
        return {
            name: [proc for root in roots for proc in (root, *root.children(recursive=True))]
            for name, roots in named.items()
        }

    def rss(self) -> int:
        return sum(
            int(proc.memory_info().rss) for family in self.processes().values() for proc in family
        )

    def cpu_seconds(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, family in self.processes().items():
            for proc in family:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = proc.cpu_times()
                    used[name] = used.get(name, 0.0) + float(times.user) + float(times.system)
        return used

    def metrics(self) -> dict[str, float]:
        total: dict[str, float] = {}
        viewers: dict[str, float] = {}
        for node in self.balanced.nodes:
            samples = node_metrics(node.url)
            viewers[node.name] = samples.get(VIEWER_GAUGE, 0.0)
            for name, value in samples.items():
                total[name] = total.get(name, 0.0) + value
        self.viewers_seen.append(viewers)
        return total


def pin_threads(pid: int, cpus: str | None) -> None:
    """Every thread of `pid` onto `cpus` (threads started later inherit it)."""
    if not cpus:
        return
    wanted = {int(cpu) for cpu in cpus.split(",")}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), wanted)


def balancer_processes(connections: int) -> int:
    """HAProxy processes needed to hold `connections` client sockets: each holds two files per
    connection (client and node side) and may open at most our hard limit, which only a process
    with CAP_SYS_RESOURCE may raise (these containers have none). bench.balancer fits each
    HAProxy's `maxconn` under that limit; the kernel spreads new connections over the processes
    (SO_REUSEPORT, HAProxy's default) by a hash, so each gets a margin."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return 1
    per_process = (hard - HAPROXY_RESERVED_FILES) // HAPROXY_FILES_PER_VIEWER
    return max(1, math.ceil(connections / (per_process * HAPROXY_FILL)))


def haproxy_copy_config(lb: Balanced, index: int) -> tuple[Path, str]:
    """`lb`'s HAProxy configuration for one more process on the same frontend port: its own
    stats page (a free port, returned) and stats socket; the nodes and every rule the same."""
    stats_port = urlsplit(lb.stats_url).port
    stats_url = f"http://127.0.0.1:{free_port()}"
    lines = []
    for line in lb.config.read_text().splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped.startswith("stats socket "):
            path = stripped.split()[2]
            line = line.replace(path, f"{path}.{index}")
        elif stripped == f"bind 127.0.0.1:{stats_port}":
            line = f"{indent}bind {stats_url.removeprefix('http://')}"
        lines.append(line)
    config = lb.config.with_name(f"haproxy-{index}.cfg")
    config.write_text("\n".join(lines) + "\n")
    return config, stats_url


@contextlib.contextmanager
def more_haproxy(lb: Balanced, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` more HAProxy processes beside `lb`'s, each up (its health checks see every node
    up) before this yields; each stopped by its PID after, also on failure."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(2, count + 2):
            config, stats_url = haproxy_copy_config(lb, index)
            with config.with_suffix(".log").open("wb") as log:
                process = subprocess.Popen(
                    [HAPROXY, "-db", "-f", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=preexec(),
                )
            started.append(process)
            _wait_up(Balanced(lb.url, stats_url, lb.nodes, process, config))
        yield started
    finally:
        for process in started:
            stop(process)


def _wait_up(copy: Balanced) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    wanted = {node.name for node in copy.nodes}
    while time.monotonic() < deadline:
        if copy.haproxy.poll() is not None:
            raise RuntimeError(f"haproxy exited: see {copy.config.with_suffix('.log')}")
        with contextlib.suppress(httpx.HTTPError):
            if {name for name, state in copy.states().items() if state == "UP"} == wanted:
                return
        time.sleep(0.1)
    raise TimeoutError("the extra HAProxy does not see every node up")


def create_meeting(data_dir: Path) -> str:
    """A live meeting in the Redis of `data_dir` (the CLI joins it), slow mode off."""

    def cli(*args: str) -> str:
        command = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "meeting", *args]
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=server_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
        return done.stdout

    created = cli(
        "create",
        "--title",
        "Бенчмарк: бірнеше түйін",
        "--akim",
        "Бенчмарк Әкім",
        "--level",
        "city_republican",
        "--territory",
        "Бенчмарк қаласы",
        "--planned-minutes",
        "60",
        "--slow-mode",
        "0",
        "--json",
    )
    meeting = str(json.loads(created)["id"])
    cli("start", meeting)
    return meeting


@contextlib.contextmanager
def fleet(scenario: BalancedScenario, workdir: Path) -> Iterator[Fleet]:
    """Redis (embedded, in `workdir/redis`), the nodes and HAProxy, pinned; all stopped after."""
    with EmbeddedRedis(workdir / "redis") as redis:
        assert redis.process is not None
        pin_threads(redis.process.pid, scenario.redis_cpus)
        meeting = create_meeting(workdir / "redis")
        with (
            balanced(redis.url, workdir / "nodes", nodes=scenario.nodes, env=NODE_SETTINGS) as lb,
            more_haproxy(lb, scenario.haproxy_processes - 1) as more,
        ):
            for node in lb.nodes:
                pin_threads(node.pid, scenario.server_cpus)
            pids = [process.pid for process in more]
            for pid in (lb.haproxy.pid, *pids):
                pin_threads(pid, scenario.balancer_cpus)
            yield Fleet(lb, redis.process.pid, pids, path=f"/ws/meetings/{meeting}")


async def _spread_async(scenario: BalancedScenario, workdir: Path) -> tuple[ScenarioResult, Fleet]:
    with fleet(scenario, workdir) as target:
        result = await drive(target, scenario.spread, report.commit())
    return result, target


def run_balanced(scenario: BalancedScenario) -> BalancedResult:
    """The one-node half (unless `single_viewers` is 0), then the balanced half; blocks."""
    single = None
    preflight(scenario.spread)
    if scenario.single_viewers:
        preflight(scenario.single)
        single = asyncio.run(scenario_async("halyq", scenario.single))
    with tempfile.TemporaryDirectory(prefix="halyq-bench-balanced-") as workdir:
        result, target = asyncio.run(_spread_async(scenario, Path(workdir)))
    at_idle = target.viewers_seen[0] if target.viewers_seen else {}
    return BalancedResult(
        scenario=scenario,
        single=single,
        spread=result,
        viewers_by_node=at_idle,
        haproxy_processes=1 + len(target.more_haproxy),
    )


# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.balanced", description=__doc__)
    parser.add_argument("--nodes", type=int, default=3, help="nodes behind HAProxy")
    parser.add_argument("--viewers", type=int, default=15_000, help="viewers through HAProxy")
    parser.add_argument("--single-viewers", type=int, default=5_000, help="viewers of one node")
    parser.add_argument("--rate", type=float, default=100.0, help="comments per second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="comment seconds not measured")
    parser.add_argument("--gen-procs", type=int, default=3, help="load processes (balanced)")
    parser.add_argument("--connect-rate", type=float, default=500.0, help="connects per second")
    parser.add_argument("--sample-viewers", type=int, default=1000, help="viewers timing events")
    parser.add_argument(
        "--haproxies", type=int, default=0, help="HAProxy processes (0: as the file limit needs)"
    )
    parser.add_argument("--pin", action="store_true", help="pin with the CPU lists below")
    parser.add_argument("--server-cpus", default="0", help="with --pin: the node(s)")
    parser.add_argument("--gen-cpus", default="1", help="with --pin: the load processes")
    parser.add_argument("--redis-cpus", default="1", help="with --pin: Redis")
    parser.add_argument("--balancer-cpus", default="1", help="with --pin: HAProxy")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="JSON folder")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--no-record", action="store_true", help="do not append to results.md")
    return parser


def _scenario(args: argparse.Namespace) -> BalancedScenario:
    scenario = BalancedScenario(
        nodes=args.nodes,
        viewers=args.viewers,
        single_viewers=args.single_viewers,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        gen_procs=args.gen_procs,
        connect_rate=args.connect_rate,
        sample_viewers=args.sample_viewers,
        haproxies=args.haproxies,
    )
    if args.pin:
        return replace(
            scenario,
            server_cpus=args.server_cpus,
            gen_cpus=args.gen_cpus,
            redis_cpus=args.redis_cpus,
            balancer_cpus=args.balancer_cpus,
        )
    return scenario


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scenario = _scenario(args)
    print(
        f"bench: one node with {scenario.single_viewers} viewers, then {scenario.nodes} nodes"
        f" behind HAProxy with {scenario.viewers}, {scenario.rate:g} comments/s ..."
    )
    result = run_balanced(scenario)
    print(report.balanced_table(result))
    written = report.write_json(args.out, result.to_json(), kind=f"balanced-{scenario.nodes}n-")
    print(f"bench: JSON in {written}")
    if not args.no_record:
        report.append_balanced_rows(args.results, result)
        print(f"bench: rows added to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
