"""Admission control and bad input at the reliability catalogue's scale (issue 8, item 3):

- OVL-5, a connection flood: 5,000 WebSocket handshakes from one address in 10 s, while 500
  established viewers from 10 other addresses receive 20 comments a second; then, beyond the
  catalogue, 2,000 handshakes at once from 20 addresses, to fill the handshake queue. The
  per-address cap answers 429 and the queue 503, both with `Retry-After`; the viewers see no
  disconnect, and a delivery p99 <= 200 ms during the flood (the burst's is reported); the
  server's open files stay under 80% of its limit (4,096 here, so that the limit means
  something). The server runs alone on CPU 0, everything else on CPU 1.
- idle: 1,500 idle connections and 1,500 half-finished upgrades from one address at an
  open-file limit of 1,024: a viewer from another address connects in under a second,
  `/healthz` answers, every idle connection is closed within 15 s.
- INP-1 and INP-2: the cases of `bench/reliability/badframes.py`, each with its documented
  reaction within a second, while a control viewer receives all 100 comments published
  meanwhile; no traceback in the log; the server's memory grows by at most 5 MB over INP-2.

    .venv/bin/python -m bench.reliability.admission            # the catalogue's numbers (~1 min)
    .venv/bin/python -m bench.reliability.admission --quick    # a smoke run
    .venv/bin/python -m bench.reliability.admission --only ovl5,inp

Each scenario runs its own `halyq serve` (embedded Redis, a fresh folder). It prints a JSON
summary with each criterion and the figures, writes it to bench/out/<time>-admission.json, and
exits 1 if a criterion failed. Run it alone on the machine (`flock /tmp/halyq-heavy.lock ...`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

from bench.commenters import comment_text
from bench.histogram import Histogram
from bench.loadgen import close_viewers, ensure_file_limit
from bench.reliability import badframes, report
from bench.reliability.report import Result
from bench.viewer import Tally, Viewer, handshake_request
from tests.helpers import ROOT, ServerProcess, environment, start_server

TOKEN = "bench-admission-token"
UNLIMITED = {  # the per-address comment buckets would slow the bench's few commenters down
    "HALYQ_ADDRESS_COMMENTS_PER_MINUTE": "1000000",
    "HALYQ_ADDRESS_COMMENT_BURST": "100000",
    "HALYQ_VIEWER_WARMUP_SECONDS": "0",
    "HALYQ_LOG_LEVEL": "info",
}
TAG = "admission-bench"


@dataclass(frozen=True, slots=True)
class Flood:
    """OVL-5."""

    viewers: int = 500
    viewer_addresses: int = 10
    rate: float = 20.0  # comments a second, from `commenters` connections
    commenters: int = 4
    flood: int = 5_000  # handshakes from one address...
    flood_seconds: float = 10.0  # ...in this time
    burst: int = 2_000  # then handshakes at once...
    burst_addresses: int = 20  # ...from these many addresses
    files: int = 4_096
    p99_ms: float = 200.0


@dataclass(frozen=True, slots=True)
class Idle:
    idle: int = 1_500
    half: int = 1_500
    files: int = 1_024
    closed_within: float = 15.0


FULL = {"ovl5": Flood(), "idle": Idle(), "inp": None}
QUICK = {
    "ovl5": Flood(viewers=100, flood=1_000, flood_seconds=2.0, burst=600, burst_addresses=6),
    "idle": Idle(idle=300, half=300),
    "inp": None,
}


# The server under test


@dataclass
class Target:
    server: ServerProcess
    host: str
    port: int
    meeting_path: str

    @property
    def pid(self) -> int:
        return self.server.process.pid

    async def metrics(self) -> dict[str, float]:
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(self.server.url + "/metrics")).text
        found = re.findall(r"^(halyq_[a-z_]+(?:\{[^}]*\})?) (\S+)$", text, re.MULTILINE)
        return {name: float(value) for name, value in found}

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def log(self) -> str:
        return self.server.log.read_text(errors="replace")


SERVER_CPU = 0  # on a machine of 2 CPUs or more: the server alone on the first...
LOAD_CPUS = {1}  # ...Redis, this process and its flood workers on the second (bench/README.md)


PINNED = {SERVER_CPU, *LOAD_CPUS} <= os.sched_getaffinity(0)  # decided once, at the start


def _server_start(files: int | None) -> Callable[[], None]:
    """For `preexec_fn`: the server's open-file limit (soft and hard), and its CPU."""

    def start() -> None:
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
        if PINNED:
            os.sched_setaffinity(0, {SERVER_CPU})

    return start


def _pin_the_load(server: ServerProcess) -> None:
    if PINNED:
        os.sched_setaffinity(0, LOAD_CPUS)  # this process, and the flood workers it starts
        for child in psutil.Process(server.process.pid).children(recursive=True):
            child.cpu_affinity(list(LOAD_CPUS))  # the embedded redis-server


@contextlib.asynccontextmanager
async def halyq(files: int | None = None) -> AsyncIterator[Target]:
    """`halyq serve` with its embedded Redis in a fresh folder, a live meeting (slow mode
    off), and `files` as its open-file limit (soft and hard: the raise cannot help); pinned
    to a CPU of its own when there are two."""
    with tempfile.TemporaryDirectory(prefix="halyq-admission-") as folder:
        workdir = Path(folder)
        env = environment(HALYQ_DATA_DIR=str(workdir / "data"), HALYQ_ADMIN_TOKEN=TOKEN,
                          **UNLIMITED)  # fmt: skip
        start = _server_start(files)
        server = await asyncio.to_thread(start_server, workdir, env=env, preexec_fn=start)
        _pin_the_load(server)
        try:
            host, port = server.url.removeprefix("http://").split(":")
            meeting_id = await _live_meeting(server.url)
            yield Target(server, host, int(port), f"/ws/meetings/{meeting_id}")
        finally:
            await asyncio.to_thread(server.stop)


async def _live_meeting(url: str) -> str:
    meeting = {
        "title": "Бенчмарк: қабылдау",
        "akim": "Бенчмарк Әкім",
        "level": "district",
        "territory": "Бенчмарк ауданы",
        "planned_minutes": 60,
        "slow_mode_seconds": 0,
    }
    admin = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=admin, timeout=10) as http:
        created = (await http.post("/api/meetings", json=meeting)).raise_for_status().json()
        (await http.post(f"/api/meetings/{created['id']}/start")).raise_for_status()
    return str(created["id"])


class Peaks:
    """The server's open files, sampled every 50 ms while a scenario runs, and the CPU used
    meanwhile by the machine and by the bench and the server (other work on a 2-core machine
    makes the figures noisy)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.open_files = 0
        self.cpu: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._began = (0.0, 0.0)

    def __enter__(self) -> Peaks:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        self._began = (_busy(), self._ours())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
        busy, ours = _busy() - self._began[0], self._ours() - self._began[1]
        self.cpu = {"machine_s": round(busy, 1), "bench_and_server_s": round(ours, 1),
                    "load_average_1m": os.getloadavg()[0], "pinned": PINNED}  # fmt: skip

    def _ours(self) -> float:
        """CPU seconds of this process, its children that ended (the flood workers) and those
        that run (the server and its Redis)."""
        bench = psutil.Process()
        used = sum(bench.cpu_times()[:4])
        return float(used + sum(sum(p.cpu_times()[:2]) for p in bench.children(recursive=True)))

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.open_files = max(self.open_files, self.target.open_files())
            await asyncio.sleep(0.05)


def _busy() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


# OVL-5: the flood


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # 0: closed without an answer
    retry_after: str | None
    seconds: float
    at: float = field(default_factory=time.monotonic)


class Probe(asyncio.Protocol):
    """One flooding handshake: writes the upgrade, notes the answer's status and Retry-After,
    then holds the socket (discarding what comes), as a flood that wants to stay would."""

    def __init__(self, request: bytes, answered: asyncio.Future[Answer]) -> None:
        self.request = request
        self.answered = answered
        self.buffer = b""
        self.began = time.monotonic()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.answered.done():
            return
        self.buffer += data
        if b"\r\n\r\n" in self.buffer:
            head = self.buffer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            retry = re.search(r"(?im)^retry-after:\s*(\S+)", head)
            status = int(head.split(" ", 2)[1])
            self._answer(Answer(status, retry[1] if retry else None, self._elapsed()))

    def connection_lost(self, exc: Exception | None) -> None:
        self._answer(Answer(0, None, self._elapsed()))
        self.transport = None

    def _elapsed(self) -> float:
        return time.monotonic() - self.began

    def _answer(self, answer: Answer) -> None:
        if not self.answered.done():
            self.answered.set_result(answer)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def _probe(order: dict[str, Any], source: str, probes: list[Probe]) -> Answer:
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[Answer] = loop.create_future()
    request, _ = handshake_request(order["host"], order["port"], order["path"])
    probe = Probe(request, answered)
    probes.append(probe)
    try:
        async with asyncio.timeout(15):
            await loop.create_connection(lambda: probe, order["host"], order["port"],
                                         local_addr=(source, 0))  # fmt: skip
            return await answered
    except (OSError, TimeoutError):
        return Answer(-1, None, time.monotonic() - probe.began)


async def flood(order: dict[str, Any]) -> list[Answer]:
    """`count` handshakes spread evenly over `seconds` (0: all at once), round the `sources`;
    each flooding socket that gets in is held until every one is answered."""
    probes: list[Probe] = []
    tasks = []
    began = time.monotonic()
    count, seconds, sources = order["count"], order["seconds"], order["sources"]
    for number in range(count):
        if seconds and (delay := began + number * seconds / count - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        source = sources[number % len(sources)]
        tasks.append(asyncio.ensure_future(_probe(order, source, probes)))
    answers = list(await asyncio.gather(*tasks))
    for probe in probes:
        probe.abort()
    return answers


async def _flood(target: Target, sources: list[str], count: int, seconds: float) -> list[Answer]:
    """`flood` in a process of its own (`--flood-worker`), so that the flood's client work
    cannot delay the measured viewers of this one."""
    order = {"host": target.host, "port": target.port, "path": target.meeting_path,
             "sources": sources, "count": count, "seconds": seconds}  # fmt: skip
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.reliability.admission", "--flood-worker", json.dumps(order),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await worker.communicate()
    if worker.returncode != 0:
        raise RuntimeError(f"the flood worker failed ({worker.returncode})")
    return [Answer(**answer) for answer in json.loads(out)]


async def _open_viewers(target: Target, tally: Tally, scale: Flood) -> list[Viewer]:
    loop = asyncio.get_running_loop()
    viewers = []
    for number in range(scale.viewers):
        ready: asyncio.Future[None] = loop.create_future()
        request = handshake_request(target.host, target.port, target.meeting_path)
        viewer = Viewer(tally, request, ready, sampled=True)
        source = f"127.0.0.{2 + number % scale.viewer_addresses}"
        await loop.create_connection(lambda v=viewer: v, target.host, target.port,  # type: ignore[misc]
                                     local_addr=(source, 0))  # fmt: skip
        await ready
        viewers.append(viewer)
    return viewers


async def _comment(target: Target, stop: asyncio.Event, rate: float, index: int) -> int:
    """One commenter at `rate` a second (slow mode is off), from its own address."""
    url = f"ws://{target.host}:{target.port}{target.meeting_path}"
    sent = 0
    async with connect(url, local_addr=(f"127.0.2.{index + 1}", 0), max_queue=None) as ws:
        began = time.monotonic()
        while not stop.is_set():
            body = {"type": "comment", "client_msg_id": f"c{index}-{sent}", "name": "Бенч",
                    "text": comment_text(time.time_ns(), sent)}  # fmt: skip
            await ws.send(json.dumps(body))
            sent += 1
            await asyncio.sleep(max(0.0, began + sent / rate - time.monotonic()))
    return sent


def _statuses(answers: list[Answer]) -> dict[str, int]:
    return {
        str(status): count for status, count in sorted(Counter(a.status for a in answers).items())
    }


def _admitted_per_second(answers: list[Answer]) -> int:
    """The most upgrades accepted within any one second (from the flood's side)."""
    first = min((a.at for a in answers), default=0.0)
    admitted = Counter(int(a.at - first) for a in answers if a.status == 101)
    return max(admitted.values(), default=0)


async def ovl5(scale: Flood) -> Result:
    result = Result("OVL-5 connection flood", dataclasses.asdict(scale))
    ensure_file_limit(scale.viewers + scale.flood + scale.burst + 1_000)
    async with halyq(scale.files) as target:
        tally = Tally()
        viewers = await _open_viewers(target, tally, scale)
        tally.window_ns = (time.time_ns(), time.time_ns() + 10**12)
        tally.measuring = True
        stop = asyncio.Event()
        per = scale.rate / scale.commenters
        commenters = [asyncio.ensure_future(_comment(target, stop, per, i))
                      for i in range(scale.commenters)]  # fmt: skip
        with Peaks(target) as peaks:
            phases = {}
            await asyncio.sleep(2.0)  # the quiet before: delivery without a flood
            phases["quiet"], tally.latency = tally.latency, Histogram()
            before = await target.metrics()
            one = await _flood(target, ["127.0.0.1"], scale.flood, scale.flood_seconds)
            phases["one_address"], tally.latency = tally.latency, Histogram()
            middle = await target.metrics()
            many = [f"127.0.1.{n + 1}" for n in range(scale.burst_addresses)]
            burst = await _flood(target, many, scale.burst, 0)
            stop.set()
            sent = sum(await asyncio.gather(*commenters))
            await _drained(tally)
            phases["burst"] = tally.latency
        metrics = await target.metrics()
        dropped = tally.dropped
        await close_viewers(viewers, tally)
        log = target.log()
    _ovl5_criteria(result, scale, one, burst, phases, dropped, peaks.open_files)
    result.figures |= {
        "comments_sent": sent,
        "delivery_ms": {name: _latency(h) for name, h in phases.items()},
        "event_loop_lag": {"one_address": _lag(before, middle), "burst": _lag(middle, metrics)},
        "one_address_statuses": _statuses(one),
        "burst_statuses": _statuses(burst),
        "admitted_per_second_max": max(_admitted_per_second(one), _admitted_per_second(burst)),
        "refusals": {k: v for k, v in metrics.items() if k.startswith("halyq_refusals_total")},
        "admission_log_lines": log.count("admission: "),
        "cpu": peaks.cpu,
    }
    return result


def _latency(histogram: Histogram) -> dict[str, float | None]:
    return {"samples": histogram.total, "p50": histogram.percentile_ms(0.5),
            "p99": histogram.percentile_ms(0.99), "max": histogram.max_ms()}  # fmt: skip


def _lag(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """How often the event loop was held over 100 ms and 250 ms between two scrapes."""

    def over(bound: str) -> float:
        name = 'halyq_event_loop_lag_seconds_bucket{le="%s"}'
        total = "halyq_event_loop_lag_seconds_count"
        return (after[total] - before[total]) - (after[name % bound] - before[name % bound])

    return {"over_100ms": over("0.1"), "over_250ms": over("0.25")}


async def _drained(tally: Tally) -> None:
    """Wait until no stamped comment arrived for half a second (at most 10 s)."""
    for _ in range(100):
        if time.monotonic() - tally.last_sample > 0.5:
            return
        await asyncio.sleep(0.1)


def _ovl5_criteria(
    result: Result, scale: Flood, one: list[Answer], burst: list[Answer],
    phases: dict[str, Histogram], dropped: int, open_files: int,
) -> None:  # fmt: skip
    refused = [a for a in one + burst if a.status in (429, 503)]
    one_open = sum(a.status == 101 for a in one)
    result.check("the per-address cap answers 429", any(a.status == 429 for a in one),
                 _statuses(one), "429s from the one address")  # fmt: skip
    result.check("one address holds at most HALYQ_MAX_CONNECTIONS_PER_ADDRESS sockets",
                 one_open <= 256, one_open, "<= 256 (the default)")  # fmt: skip
    result.check("the handshake queue answers 503", any(a.status == 503 for a in burst),
                 _statuses(burst), "503s in the burst")  # fmt: skip
    result.check("every refusal has Retry-After", all(a.retry_after for a in refused),
                 sum(a.retry_after is None for a in refused), "0 without")  # fmt: skip
    unanswered = [a for a in one + burst if a.status not in (101, 429, 503)]
    result.check("every handshake is answered 101, 429 or 503", not unanswered,
                 len(unanswered), "0 others")  # fmt: skip
    # The catalogue's flood is the one address's; the burst, beyond it, is there to fill the
    # handshake queue: its delivery figures are reported (`delivery_ms`), not judged.
    p99 = phases["one_address"].percentile_ms(0.99)
    fast = p99 is not None and p99 <= scale.p99_ms
    target = f"<= {scale.p99_ms} ms"
    result.check("established viewers: delivery p99 during the flood", fast, p99, target)
    result.check("established viewers: disconnects", dropped == 0, dropped, "0")
    share = open_files / scale.files
    result.check("open files stay under 80% of the limit", share < 0.8,
                 f"{open_files} of {scale.files}", "< 80%")  # fmt: skip


# The flood of idle connections at 1,024 open files


async def _hold(target: Target, first: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    with contextlib.suppress(ConnectionError):
        writer.write(first)
    return reader, writer


async def _closed(reader: asyncio.StreamReader, began: float) -> float:
    """Seconds from `began` until the server closed this connection."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(4096):
            pass
    return time.monotonic() - began


async def idle(scale: Idle) -> Result:
    result = Result("1,500 idle + 1,500 half-finished upgrades at 1,024 open files",
                    dataclasses.asdict(scale))  # fmt: skip
    ensure_file_limit(scale.idle + scale.half + 500)
    async with halyq(scale.files) as target:
        half = (f"GET {target.meeting_path} HTTP/1.1\r\nHost: {target.host}\r\n"
                "Upgrade: websocket\r\n").encode()  # fmt: skip
        began = time.monotonic()
        with Peaks(target) as peaks:
            held = [
                await _hold(target, first) for first in [b""] * scale.idle + [half] * scale.half
            ]
            closing = [asyncio.ensure_future(_closed(reader, began)) for reader, _ in held]
            joined, healthz = await _newcomer(target)
            done, _ = await asyncio.wait(closing, timeout=scale.closed_within + 5)
        metrics = await target.metrics()
        for _, writer in held:
            writer.close()
    last = max((task.result() for task in done), default=None)
    result.check("a viewer from another address connects", joined < 1.0, joined, "< 1 s")
    result.check("/healthz answers", healthz < 1.0, healthz, "< 1 s")
    all_closed = len(done) == len(closing) and last is not None and last <= scale.closed_within
    within = f"all within {scale.closed_within} s"
    result.check("every idle connection is closed", all_closed, last, within)
    result.figures |= {
        "closed": len(done),
        "open_files_peak": peaks.open_files,
        "refusals": {k: v for k, v in metrics.items() if k.startswith("halyq_refusals_total")},
        "open_files_limit": metrics.get("halyq_open_files_limit"),
        "cpu": peaks.cpu,
    }
    return result


async def _newcomer(target: Target) -> tuple[float, float]:
    """Seconds a viewer from 127.0.0.2 takes to get its history, then /healthz takes."""
    began = time.monotonic()
    url = f"ws://{target.host}:{target.port}{target.meeting_path}"
    async with connect(url, local_addr=("127.0.0.2", 0), open_timeout=10) as viewer:
        while '"type":"events"' not in str(await asyncio.wait_for(viewer.recv(), 10)):
            pass
    joined = time.monotonic() - began
    began = time.monotonic()
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=transport, timeout=10) as http:
        (await http.get(target.server.url + "/healthz")).raise_for_status()
    return joined, time.monotonic() - began


# INP-1 and INP-2


class Control:
    """A viewer that counts the bench's comments, and commenters that publish 100 of them."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.url = f"ws://{target.host}:{target.port}{target.meeting_path}"
        self.seen: set[str] = set()

    async def watch(self, ws: ClientConnection, expected: int) -> None:
        while len(self.seen) < expected:
            frame = json.loads(await ws.recv())
            for event in frame.get("events", []) if frame.get("type") == "events" else []:
                if TAG in str(event.get("text", "")):
                    self.seen.add(str(event["text"]))

    async def publish(self, connection: int, count: int, seconds: float) -> None:
        """`count` comments over `seconds`, from an address of their own; returns once each
        is acknowledged."""
        async with connect(self.url, local_addr=(f"127.0.3.{connection + 1}", 0)) as ws:
            for number in range(count):
                body = {"type": "comment", "client_msg_id": f"p{connection}-{number}",
                        "name": "Бенч", "text": f"{TAG} {connection}-{number}"}  # fmt: skip
                await ws.send(json.dumps(body))
                await asyncio.sleep(seconds / count)
            acks = 0
            while acks < count:
                acks += json.loads(await ws.recv()).get("type") == "ack"


async def inputs(_: None = None) -> Result:
    result = Result("INP-1 and INP-2 bad input", {"inp1_cases": len(badframes.INP1)})
    async with halyq() as target:
        control = Control(target)
        async with connect(control.url) as watcher:
            watching = asyncio.ensure_future(control.watch(watcher, 100))
            publishing = asyncio.gather(*(control.publish(n, 25, 4.0) for n in range(4)))
            host, port, path = target.host, target.port, target.meeting_path
            inp1 = [await badframes.run_case(host, port, path, case) for case in badframes.INP1]
            rss_before = target.rss()
            inp2 = await _inp2(target)
            await publishing
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watching, 10)
        await asyncio.sleep(1.0)  # let the server settle before the second memory reading
        rss_after = target.rss()
        log = target.log()
    _input_criteria(result, inp1, inp2, len(control.seen), log)
    growth = (rss_after - rss_before) / 1e6
    result.check("INP-2: server memory growth", growth <= 5.0, round(growth, 2), "<= 5 MB")
    result.figures["cases"] = [dataclasses.asdict(o) for o in inp1 + inp2]
    return result


async def _inp2(target: Target) -> list[badframes.Outcome]:
    host, port, path = target.host, target.port, target.meeting_path
    found = [await badframes.run_case(host, port, path, case) for case in badframes.INP2]
    found.append(await badframes.huge_frame(host, port, path))
    found.append(await badframes.deflate_offer(host, port, path))
    admin = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        big = await http.post(target.server.url + "/api/meetings", content=b" " * (1 << 20),
                              headers=admin)  # fmt: skip
    found.append(badframes.Outcome("a 1 MiB POST (webhooks: none yet; the admin API)", "413",
                                   big.status_code == 413, 0.0, str(big.status_code)))  # fmt: skip
    return found


def _input_criteria(
    result: Result, inp1: list[badframes.Outcome], inp2: list[badframes.Outcome], seen: int,
    log: str,
) -> None:  # fmt: skip
    for label, outcomes in (("INP-1", inp1), ("INP-2", inp2)):
        wrong = [f"{o.name}: wanted {o.expected}, got {o.detail}" for o in outcomes if not o.passed]
        result.check(f"{label}: every case gets its documented reaction within 1 s", not wrong,
                     wrong or len(outcomes), "all")  # fmt: skip
    result.check("the control viewer receives the 100 comments published meanwhile",
                 seen == 100, seen, "100")  # fmt: skip
    tracebacks = log.count("Traceback")
    result.check("no traceback in the server's log", tracebacks == 0, tracebacks, "0")


SCENARIOS: dict[str, Callable[[Any], Any]] = {"ovl5": ovl5, "idle": idle, "inp": inputs}


async def run(names: list[str], scales: dict[str, Any]) -> list[Result]:
    return [await SCENARIOS[name](scales[name]) for name in names]


class FloodWorker(argparse.Action):
    """`--flood-worker JSON` (hidden): `flood` for the order, its answers printed as JSON, then
    exit, as `--help` does; `_flood` starts this module with it in a process of its own."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
        option_string: str | None = None,
    ) -> None:  # fmt: skip
        order = json.loads(values)
        ensure_file_limit(order["count"] + 100)
        answers = asyncio.run(flood(order))
        sys.stdout.write(json.dumps([dataclasses.asdict(a) for a in answers]))
        parser.exit()


def _options(parser: argparse.ArgumentParser, scenarios: Sequence[str]) -> None:
    report.listed(parser, scenarios)
    parser.add_argument("--flood-worker", metavar="JSON", action=FloodWorker,
                        help=argparse.SUPPRESS)  # fmt: skip


def _summary(quick: bool, results: list[Result], seconds: float) -> dict[str, Any]:
    """`report.summarize`'s, without notes: this module's scenarios never wrote any."""
    summary = report.summarize(quick, results, seconds)
    for scenario in summary["scenarios"]:
        del scenario["notes"]
    return summary


def main(argv: list[str] | None = None) -> int:
    return report.main(
        argv,
        prog="python -m bench.reliability.admission",
        description=report.headline(__doc__),
        out="admission",
        run=lambda names, quick: asyncio.run(run(names, QUICK if quick else FULL)),
        scenarios=list(SCENARIOS),
        options=_options,
        summary=_summary,
    )


if __name__ == "__main__":
    raise SystemExit(main())
