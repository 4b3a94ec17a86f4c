"""Server processes under test: start them pinned to a core, find them, measure them, stop them.

Each server writes a ready file with its URL and PID; CPU and memory are read with psutil over the
server and its children (Halyq's embedded redis-server is its child and inherits its affinity).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from server.store.embedded import redis_binary

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
BASELINE_PATH = "/ws/meetings/bench"
METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([0-9eE.+-]+|NaN|[+-]Inf)$")


def die_with_parent() -> None:
    """Run in the child before exec: if the runner dies, the child gets SIGTERM (Linux)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """`command` under `taskset -c cpus` (taskset execs it: the PID stays the command's)."""
    return ["taskset", "-c", cpus, *command] if cpus else command


@dataclass
class ServerProcess:
    """A running server; `family` is it and its children (found once, after it is ready)."""

    kind: str
    process: subprocess.Popen[bytes]
    url: str
    workdir: Path
    path: str = BASELINE_PATH
    family: list[psutil.Process] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        """Resident memory of the server and its children, in bytes."""
        return sum(int(proc.memory_info().rss) for proc in self._alive())

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far, by process name."""
        used: dict[str, float] = {}
        for proc in self._alive():
            times = proc.cpu_times()
            name = "server" if proc.pid == self.pid else str(proc.name())
            used[name] = used.get(name, 0.0) + float(times.user) + float(times.system)
        return used

    def metrics(self) -> dict[str, float]:
        """The Prometheus samples of /metrics (Halyq only), by name with labels."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        samples = {}
        for line in text.splitlines():
            if match := METRIC_LINE.match(line):
                samples[match.group(1)] = float(match.group(2))
        return samples

    def log_tail(self, lines: int = 30) -> str:
        log = self.workdir / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (the server stops its Redis too), then SIGKILL by PID if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for proc in self.family[1:]:  # a child left behind by a killed server
            with contextlib.suppress(psutil.Error):
                proc.wait(timeout=5)

    def _alive(self) -> list[psutil.Process]:
        return [proc for proc in self.family if proc.is_running()]


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)  # Halyq must start its own, embedded Redis in the temp folder
    env.setdefault("HALYQ_LOG_LEVEL", "warning")
    # Every simulated viewer comes from 127.0.0.1: the per-address cap (issue 8) is not what
    # these scenarios measure, so lift it (bench/reliability/ measures it).
    env.setdefault("HALYQ_MAX_CONNECTIONS_PER_ADDRESS", "1000000")
    env.setdefault("HALYQ_ADDRESS_COMMENTS_PER_MINUTE", "1000000")
    env.setdefault("HALYQ_ADDRESS_COMMENT_BURST", "1000000")
    # The servers run from the repository root, where `bench` and `server` are importable.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env


def _launch(kind: str, command: list[str], workdir: Path, cpus: str | None) -> ServerProcess:
    ready = workdir / "ready.json"
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        pinned([*command, "--ready-file", str(ready)], cpus),
        cwd=ROOT,
        env=server_environment(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    log.close()
    server = ServerProcess(kind, process, "", workdir)
    try:
        info = _wait_ready(server, ready)
    except BaseException:
        server.stop()
        raise
    server.url = info["url"]
    root = psutil.Process(process.pid)
    server.family = [root, *root.children(recursive=True)]
    return server


def _wait_ready(server: ServerProcess, ready: Path) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} exited at start:\n{server.log_tail()}")
        with contextlib.suppress(FileNotFoundError, ValueError):
            info: dict[str, Any] = json.loads(ready.read_text())
            if info.get("pid") != server.pid:
                raise RuntimeError(f"{server.kind}: ready file names PID {info.get('pid')}")
            return info
        time.sleep(0.05)
    raise RuntimeError(f"{server.kind} was not ready within {READY_TIMEOUT}s")


def start_halyq(workdir: Path, cpus: str | None, redis_cpus: str | None = None) -> ServerProcess:
    """`python -m server serve` on a free port, with embedded Redis under `workdir/data`.

    The embedded valkey-server inherits the server's affinity; `redis_cpus` moves it elsewhere.
    """
    data = workdir / "data"
    command = [sys.executable, "-m", "server", "serve", "--port", "0", "--data-dir", str(data)]
    server = _launch("halyq", command, workdir, cpus)
    if redis_cpus:
        for process in server.family[1:]:
            if process.name() == Path(redis_binary()).name:
                process.cpu_affinity([int(cpu) for cpu in redis_cpus.split(",")])
    server.path = f"/ws/meetings/{_live_meeting(data)}"
    return server


def start_baseline(workdir: Path, cpus: str | None) -> ServerProcess:
    command = [sys.executable, "-m", "bench.baseline", "--port", "0"]
    return _launch("baseline", command, workdir, cpus)


def _cli(data: Path, *args: str) -> str:
    command = [sys.executable, "-m", "server", "--data-dir", str(data), "meeting", *args]
    done = subprocess.run(
        command, cwd=ROOT, env=server_environment(), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


def _live_meeting(data: Path) -> str:
    """A meeting created and started from the shell beside the server, slow mode off."""
    created = _cli(
        data,
        "create",
        "--title",
        "Бенчмарк: әкімнің тұрғындармен кездесуі",
        "--akim",
        "Бенчмарк Әкім",
        "--level",
        "district",
        "--territory",
        "Бенчмарк ауданы",
        "--planned-minutes",
        "60",
        "--slow-mode",
        "0",
        "--json",
    )
    meeting_id = str(json.loads(created)["id"])
    _cli(data, "start", meeting_id)
    return meeting_id
