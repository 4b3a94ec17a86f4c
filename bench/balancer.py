"""N `halyq serve` nodes behind HAProxy on loopback, from deploy/haproxy.cfg (issue 15).

Used by tests/e2e/test_balancer.py and by the balanced bench (bench/balanced.py):

    with balanced(redis_url, workdir, nodes=3) as cluster:
        cluster.url            # the balancer's http://127.0.0.1:port, where viewers connect
        cluster.nodes          # each node: .name (HALYQ_NODE_NAME), .url, .pid, .process
        cluster.states()       # HAProxy's view: {node name: "UP" | "DOWN" | ...}
        cluster.connections()  # each node's open viewer sockets (its /metrics)

Every node runs on the one Redis at `redis_url`, with its own port, data folder, name
(`node1`, `node2`...) and `HALYQ_TRUSTED_PROXIES=127.0.0.1`; HAProxy runs a copy of
deploy/haproxy.cfg whose bind, server and stats socket lines point at them, so that what is
tested is what is documented. `balanced` returns once HAProxy's health checks (`GET /readyz`)
see every node up, and stops every process it started by its PID, also on failure: the nodes
with SIGTERM (they drain), HAProxy with SIGTERM, anything left after `STOP_TIMEOUT` with SIGKILL.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server.children import preexec
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0  # a draining node takes DRAIN_NOTICE + at most uvicorn's graceful 5 s
CONNECTIONS = re.compile(r'^halyq_ws_connections\{audience="viewer",node="[^"]*"\} (\S+)$', re.M)


@dataclass
class Node:
    """One `halyq serve` process."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None


@dataclass
class Balanced:
    """The nodes and their balancer, as `balanced` yields them."""

    url: str
    stats_url: str
    nodes: list[Node]
    haproxy: subprocess.Popen[bytes]
    config: Path
    extra: dict[str, str] = field(default_factory=dict)

    def states(self) -> dict[str, str]:
        """HAProxy's state of each node (`UP`, `DOWN`, `MAINT`...), by its name."""
        text = httpx.get(f"{self.stats_url}/stats;csv", timeout=5).text
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row["pxname"] == "nodes" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def connections(self) -> dict[str, int]:
        """Each running node's open viewer sockets, from its `/metrics`."""
        found = {}
        for node in self.nodes:
            if node.running():
                text = httpx.get(f"{node.url}/metrics", timeout=5).text
                match = CONNECTIONS.search(text)
                found[node.name] = int(float(match.group(1))) if match else 0
        return found


def loopback_config(text: str, port: int, nodes: list[Node], socket_path: Path) -> str:
    """deploy/haproxy.cfg for loopback: the frontend binds `port`, the stats frontend a free
    port, the servers are `nodes`, the stats socket is `socket_path`, and the global `maxconn`
    fits this machine's open-file limit (HAProxy refuses to start otherwise; each connection
    takes two files); nothing else changes."""
    out: list[str] = []
    servers_done = False
    fits = (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100) // 2
    for line in text.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped.startswith("maxconn ") and indent == "    " and not servers_done:
            line = f"{indent}maxconn {min(int(stripped.split()[1]), fits)}"
        elif stripped.startswith("bind :"):
            line = f"{indent}bind 127.0.0.1:{port}"
        elif stripped.startswith("bind 127.0.0.1:"):
            line = f"{indent}bind 127.0.0.1:{free_port()}"
        elif stripped.startswith("stats socket "):
            line = f"{indent}stats socket {socket_path} mode 600 level admin"
        elif stripped.startswith("server "):
            if servers_done:
                continue
            servers_done = True
            out += [f"{indent}server {n.name} {n.url.removeprefix('http://')}" for n in nodes]
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def node_environment(redis_url: str, name: str, extra: dict[str, str]) -> dict[str, str]:
    """A node's environment: this one's without Halyq settings, plus the node's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HALYQ_", "REDIS_"))}
    env |= {
        "REDIS_URL": redis_url,
        "HALYQ_NODE_NAME": name,
        "HALYQ_TRUSTED_PROXIES": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


def start_node(redis_url: str, workdir: Path, name: str, extra: dict[str, str]) -> Node:
    """`halyq serve` on a free port of loopback; returns at once (see `wait_ready`)."""
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    ready = folder / "ready.json"
    ready.unlink(missing_ok=True)
    log = folder / "server.log"
    command = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", "0",
               "--ready-file", str(ready), "--data-dir", str(folder / "data")]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=node_environment(redis_url, name, extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec(),
        )
    return Node(name, process, log)


def wait_ready(node: Node, deadline: float) -> None:
    """Until the node writes its ready file (its URL)."""
    ready = node.log.with_name("ready.json")
    while not (ready.exists() and ready.stat().st_size > 0):
        if not node.running():
            raise RuntimeError(f"{node.name} exited: {node.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{node.name} did not start in time")
        time.sleep(0.05)
    node.url = json.loads(ready.read_text())["url"]


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int | None:
    """SIGTERM the process (by its PID), then SIGKILL if it is still there after `timeout`;
    its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextlib.contextmanager
def balanced(
    redis_url: str, workdir: Path, *, nodes: int = 3, env: dict[str, str] | None = None
) -> Iterator[Balanced]:
    """`nodes` nodes on the Redis at `redis_url` behind HAProxy, all up; see the module."""
    workdir.mkdir(parents=True, exist_ok=True)
    extra = env or {}
    started: list[Node] = []
    haproxy: subprocess.Popen[bytes] | None = None
    try:
        started = [start_node(redis_url, workdir, f"node{i + 1}", extra) for i in range(nodes)]
        deadline = time.monotonic() + READY_TIMEOUT
        for node in started:
            wait_ready(node, deadline)
        port = free_port()
        config = workdir / "haproxy.cfg"
        text = loopback_config(CONFIG.read_text(), port, started, workdir / "haproxy.sock")
        config.write_text(text)
        stats_port = re.findall(r"bind 127\.0\.0\.1:(\d+)", text)[-1]
        with (workdir / "haproxy.log").open("wb") as out:
            haproxy = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=preexec(),
            )
        cluster = Balanced(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{stats_port}",
            started,
            haproxy,
            config,
            extra,
        )
        _wait_all_up(cluster, deadline)
        yield cluster
    finally:
        for node in started:  # all drain at once
            if node.running():
                node.process.send_signal(signal.SIGTERM)
        for node in started:
            stop(node.process)
        if haproxy is not None:
            stop(haproxy)


def _wait_all_up(cluster: Balanced, deadline: float) -> None:
    """Until HAProxy's health checks see every node up."""
    wanted = {node.name for node in cluster.nodes}
    while True:
        if cluster.haproxy.poll() is not None:
            raise RuntimeError("haproxy exited: see haproxy.log")
        with contextlib.suppress(httpx.HTTPError):
            states = cluster.states()
            if {name for name, state in states.items() if state == "UP"} == wanted:
                return
        if time.monotonic() > deadline:
            raise TimeoutError("HAProxy does not see every node up")
        time.sleep(0.1)
