"""The console scenario: comments arriving at R a second, timed until moderator consoles show them.

`python -m bench.console_run --rate 500 --consoles 2` (or `python -m bench.run --console ...`)
starts Halyq as `bench.run` does, adds a moderator with `python -m server user add`, signs the
consoles in over HTTP, runs the commenters (`bench.loadgen`) and the consoles (`bench.console`)
side by side, and prints, keeps and records the result; `run_console_scenario(...)` for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import report
from bench.console import ConsoleResult
from bench.loadgen import CLOSE_WAIT, LoadResult
from bench.run import (
    LINE_LIMIT,
    START_DELAY,
    Generator,
    Scenario,
    add_placement_arguments,
    cpu_deltas,
    placed,
    preflight,
    start_generator,
    window_deltas,
)
from bench.servers import (
    ROOT,
    ServerProcess,
    die_with_parent,
    pinned,
    server_environment,
    start_halyq,
)

DISPLAY_P99_MS = report.DISPLAY_P99_MS

BENCH_USER = "bench-moderator"
CONNECT_TIMEOUT = 90.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleScenario:
    """The commenters' load (viewers optional) and how many consoles watch it."""

    load: Scenario = field(default_factory=lambda: Scenario(viewers=0, rate=500.0))
    consoles: int = 2
    earlier_questions: int = 0  # asked through `submit` before the consoles open (bench.seed)
    earlier_comments: int = 0  # posted the same way after them (issue 14: 20,000 earlier items)

    def to_json(self) -> dict[str, Any]:
        return asdict(self.load) | {
            "consoles": self.consoles,
            "earlier_questions": self.earlier_questions,
            "earlier_comments": self.earlier_comments,
        }


@dataclass(slots=True, kw_only=True)
class ConsoleScenarioResult:
    """The commenters' view, the consoles' view, and the server's resource use."""

    scenario: ConsoleScenario
    load: LoadResult
    consoles: ConsoleResult
    server_cpu_s: dict[str, float]  # CPU seconds in the window, by process (server, redis...)
    server_metrics: dict[str, float] = field(default_factory=dict)  # window deltas
    machine_busy_s: float = 0.0  # CPU seconds of every process on the machine in the window
    commit: str = ""
    seeded: dict[str, float] = field(default_factory=dict)  # bench.seed's answer, if it ran

    @property
    def server_cpu(self) -> float:
        """CPU seconds per second of the window, server and children (1.0 = one core)."""
        window = self.load.window_s
        return sum(self.server_cpu_s.values()) / window if window else 0.0

    @property
    def other_cpu(self) -> float:
        """Cores busy in the window with anything but the server, Redis and the load processes
        (other work on the machine: above ~0.1 the numbers are noisy)."""
        ours = sum(self.server_cpu_s.values()) + self.load.gen_cpu_s + self.consoles.gen_cpu_s
        window = self.load.window_s
        return max(0.0, self.machine_busy_s - ours) / window if window else 0.0

    @property
    def display_p99_ms(self) -> float | None:
        return self.consoles.latency.percentile_ms(0.99)

    @property
    def meets_target(self) -> bool | None:
        """p99 within the target and nothing acked missing from a console; None if unmeasured."""
        p99 = self.display_p99_ms
        if p99 is None:
            return None
        return p99 <= DISPLAY_P99_MS and not self.consoles.missing

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.to_json(),
            "machine": report.machine(),
            "commit": self.commit,
            "target_display_p99_ms": DISPLAY_P99_MS,
            "load": self.load.to_json(),
            "consoles": self.consoles.to_json(),
            "server_cpu_s": self.server_cpu_s,
            "server_cpu": self.server_cpu,
            "server_metrics": self.server_metrics,
            "machine_busy_s": self.machine_busy_s,
            "other_cpu": self.other_cpu,
            "seeded": self.seeded,
        }


def seed_questions(
    server: ServerProcess, count: int, cpus: str | None, comments: int = 0
) -> dict[str, float]:
    """`python -m bench.seed`: `count` earlier questions in the meeting, then `comments` earlier
    comments, through `submit`; returns how many were asked and posted, in how many seconds,
    and how many questions got a duplicate."""
    meeting = server.path.rsplit("/", 1)[1]
    command = [sys.executable, "-m", "bench.seed", "--data-dir", str(server.workdir / "data"),
               "--meeting", meeting, "--questions", str(count),
               "--comments", str(comments)]  # fmt: skip
    done = subprocess.run(
        pinned(command, cpus),
        cwd=ROOT,
        env=server_environment(),
        capture_output=True,
        text=True,
        timeout=max(600, (count + comments) // 10),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-3000:]}")
    print(f"bench: earlier questions: {done.stdout.strip()}")
    seeded: dict[str, float] = json.loads(done.stdout)
    return seeded


# Staff: a moderator from the shell, as an administrator adds one


def add_moderator(server: ServerProcess, name: str, password: str) -> None:
    """`python -m server user add NAME --role moderator --password-stdin` on the server's data
    folder (it joins the running server's embedded Redis)."""
    command = [sys.executable, "-m", "server", "--data-dir", str(server.workdir / "data"),
               "user", "add", name, "--role", "moderator", "--password-stdin"]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=server_environment(),
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")


async def _start_consoles(
    server: ServerProcess, scenario: ConsoleScenario, password: str
) -> Generator:
    load = scenario.load
    # fmt: off
    command = [
        sys.executable, "-m", "bench.console", "--control",
        "--url", server.url, "--meeting", server.path.rsplit("/", 1)[-1],
        "--user", BENCH_USER, "--password-stdin", "--consoles", str(scenario.consoles),
        "--duration", str(load.duration), "--warmup", str(load.warmup),
        "--drain", str(load.drain),
    ]
    # fmt: on
    process = await asyncio.create_subprocess_exec(
        *pinned(command, load.gen_cpus),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent,
        limit=LINE_LIMIT,
    )
    assert process.stdin is not None
    process.stdin.write(password.encode() + b"\n")  # never on the command line
    return Generator(-1, process)


# The scenario against one server


async def _connected(processes: list[Generator], viewers: int, connect_rate: float) -> None:
    async with asyncio.timeout(viewers / connect_rate + CONNECT_TIMEOUT):
        messages = [await process.line() for process in processes]
    for process, message in zip(processes, messages, strict=True):
        if message.get("phase") != "connected":
            raise RuntimeError(f"load process {process.index}: unexpected {message}")


@dataclass
class _Window:
    cpu: dict[str, float]
    metrics: dict[str, float]
    machine_busy_s: float


def _machine_busy() -> float:
    """CPU seconds all processes of the machine have used (everything but idle and I/O wait)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def _window(server: ServerProcess, load: Scenario, start: float) -> _Window:
    """The server's CPU and /metrics, and the whole machine's CPU, over the measured window."""
    await asyncio.sleep(max(0.0, start + load.warmup - time.time()))
    cpu, metrics, busy = server.cpu_seconds(), server.metrics(), _machine_busy()
    await asyncio.sleep(max(0.0, start + load.warmup + load.duration - time.time()))
    busy = _machine_busy() - busy
    cpu = cpu_deltas(cpu, server.cpu_seconds())
    return _Window(cpu, window_deltas(metrics, server.metrics()), busy)


async def _drive(
    server: ServerProcess, scenario: ConsoleScenario, commit: str
) -> ConsoleScenarioResult:
    load = scenario.load
    password = secrets.token_urlsafe(18)
    await asyncio.to_thread(add_moderator, server, BENCH_USER, password)
    seeded: dict[str, float] = {}
    if scenario.earlier_questions or scenario.earlier_comments:
        seeded = await asyncio.to_thread(
            seed_questions,
            server,
            scenario.earlier_questions,
            load.gen_cpus,
            scenario.earlier_comments,
        )
    consoles = await _start_consoles(server, scenario, password)
    generators: list[Generator] = []
    try:
        generators = [await start_generator(server, load, i) for i in range(load.gen_procs)]
        await _connected([consoles, *generators], load.viewers, load.connect_rate)
        await asyncio.sleep(load.settle if load.viewers else 0.0)
        start = time.time() + START_DELAY
        for process in (consoles, *generators):
            await process.go(start)
        window = await _window(server, load, start)
        async with asyncio.timeout(load.drain + CLOSE_WAIT + 60):
            parts = [LoadResult.from_json((await g.line())["result"]) for g in generators]
        merged = LoadResult.merge(parts)
        await consoles.send({"expect": merged.acked})
        async with asyncio.timeout(2 * load.drain + 60):
            seen = ConsoleResult.from_json((await consoles.line())["result"])
    finally:
        for process in (*generators, consoles):
            await process.stop()
    return ConsoleScenarioResult(
        scenario=scenario,
        load=merged,
        consoles=seen,
        server_cpu_s=window.cpu,
        server_metrics=window.metrics,
        machine_busy_s=window.machine_busy_s,
        commit=commit,
        seeded=seeded,
    )


async def console_scenario_async(scenario: ConsoleScenario) -> ConsoleScenarioResult:
    """Start Halyq in a temporary folder, run `scenario` against it, stop it."""
    with tempfile.TemporaryDirectory(prefix="halyq-bench-console-") as workdir:
        commit = report.commit()
        load = scenario.load
        server = start_halyq(Path(workdir), load.server_cpus, load.redis_cpus)
        try:
            return await _drive(server, scenario, commit)
        finally:
            server.stop()


def run_console_scenario(scenario: ConsoleScenario) -> ConsoleScenarioResult:
    """Run the console scenario; blocks until it is over (it calls `asyncio.run`)."""
    preflight(scenario.load)
    return asyncio.run(console_scenario_async(scenario))


# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.console_run", description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="comments per second")
    parser.add_argument("--consoles", type=int, default=2, choices=range(1, 4), metavar="1-3")
    parser.add_argument("--viewers", type=int, default=0, help="idle viewers beside (0)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="comment seconds not measured")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds at most for late ones")
    parser.add_argument("--servers", default="halyq", help="halyq (the baseline has no console)")
    parser.add_argument("--per-connection", type=float, default=5.0, help="comments/s/commenter")
    parser.add_argument(
        "--earlier-questions", type=int, default=0, help="questions asked before the window (0)"
    )
    parser.add_argument(
        "--earlier-comments", type=int, default=0, help="comments posted before the window (0)"
    )
    add_placement_arguments(parser)
    return parser


def _scenario(args: argparse.Namespace) -> ConsoleScenario:
    load = Scenario(
        viewers=args.viewers,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        drain=args.drain,
        per_connection=args.per_connection,
    )
    return ConsoleScenario(
        load=placed(load, args),
        consoles=args.consoles,
        earlier_questions=args.earlier_questions,
        earlier_comments=args.earlier_comments,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if {name.strip() for name in args.servers.split(",") if name.strip()} != {"halyq"}:
        raise SystemExit("bench: the console scenario runs against halyq only")
    if args.rate <= 0:
        raise SystemExit("bench: the console scenario needs comments (--rate > 0)")
    scenario = _scenario(args)
    print(
        f"bench: halyq: {args.rate:g} comments/s, {scenario.consoles} console(s),"
        f" {args.viewers} viewers ..."
    )
    result = run_console_scenario(scenario)
    print(report.console_table(result))
    written = report.write_json(args.out, result.to_json(), kind="console-")
    print(f"bench: JSON in {written}")
    if not args.no_record:
        report.append_console_row(args.results, result)
        print(f"bench: a row added to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
