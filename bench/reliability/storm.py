"""FLT-4 (reconnect storm) and DUR-7 (viewer continuity) of the reliability catalogue, full size.

One `halyq serve` node on the embedded redis-server of this run (`REDIS_URL`, so the node can
be restarted while Redis stays), pinned to core 0; Redis and these clients on core 1. Viewers
are cheap hand-made WebSocket clients (`bench/viewer.py`'s framing) spread over 100 loopback
addresses (the per-address cap is not under test), each resuming with `?after=<last>&epoch=`
as the page does, and checked event by event: nothing missed, nothing twice.

- FLT-4: 10,000 viewers while a commenter posts; the node is restarted, and every viewer
  reconnects and resumes at once (99% within 30 s, 100% within 60 s, 0 gaps, reads of the
  record far below one per viewer, RSS <= 1.5 GB). Then twice more every viewer drops and
  reconnects at once to the same node: its RSS must come back within 10% of its level before
  the storm, and not grow from one storm to the next.
- DUR-7: 1,000 viewers each dropped 5 times at random (away 1-30 s) while a moderator approves
  1,000 questions at 20 a second; 10 more stay away past the resume window. The first end with
  every approval once, in order, never told to reload; the others are told to reload within
  1 s of coming back and end with all 1,000 (the hello's public questions and what follows).

    .venv/bin/python -m bench.reliability.storm                # the full numbers (~8 min)
    .venv/bin/python -m bench.reliability.storm --quick        # a smoke run (~2 min)
    .venv/bin/python -m bench.reliability.storm --only dur7

It prints a JSON summary and writes it to bench/out/<time>-storm.json; exit status 1 if a
criterion failed. Run it alone on the machine (`flock /tmp/halyq-heavy.lock ...`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import psutil
import uvloop
from websockets.asyncio.client import connect

from bench.reliability import report
from bench.reliability.report import Result
from bench.servers import METRIC_LINE, die_with_parent, pinned, server_environment
from bench.viewer import (
    CLOSE_NORMAL,
    FIN,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    ProtocolError,
    control_frame,
    frame_bounds,
    handshake_request,
)
from moderation import AkimLevel, AskQuestion, CreateMeeting, Moderate, StartMeeting, Submission
from server.store import Store
from server.store.embedded import EmbeddedRedis, socket_path
from server.usecases import Asked, UseCases, act, change_meeting, create_meeting, submit
from tests import viewers
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
ADDRESSES = [f"127.0.0.{n}" for n in range(2, 102)]  # viewers' source addresses
READY_TIMEOUT = 60.0
HELLO = b'{"type":"hello"'
EVENTS = b'{"type":"events"'
RELOAD = b'{"type":"reload"'
LAST = re.compile(rb'"last":"([0-9]+-[0-9]+)"')
EPOCH = re.compile(rb'"epoch":"([^"]*)"')
SEQ = re.compile(rb"storm-([0-9]+) ")
RETRY_AFTER = re.compile(rb"\r\nretry-after: *([0-9]+)", re.IGNORECASE)
MB = 1 << 20
SWEPT = re.compile(r"swept memory after (\d+) connections left: (\d+) objects freed in (\d+) ms")
TWO_CORES = (os.cpu_count() or 1) > 1
OPEN_TIMEOUT = 30.0  # seconds for a viewer's connection, upgrade and catch-up


# Scales


@dataclass(frozen=True, slots=True)
class Storm:
    """FLT-4, and the memory storms after it."""

    viewers: int = 10_000
    connect_rate: float = 1000.0  # viewers connected a second at the start
    comment_rate: float = 2.0  # comments a second, all along
    memory_storms: int = 2
    settle: float = 20.0  # seconds after a storm before memory is measured
    recovered_99: float = 30.0
    recovered_all: float = 60.0
    rss_max_mb: float = 1536.0
    rss_back_within: float = 0.10


@dataclass(frozen=True, slots=True)
class Continuity:
    """DUR-7."""

    viewers: int = 1000
    long_gap: int = 10
    items: int = 1000
    rate: float = 20.0  # approvals a second
    drops: int = 5
    connected: tuple[float, float] = (1.0, 8.0)  # seconds a viewer stays between two drops
    away: tuple[float, float] = (1.0, 30.0)
    long_away: float = 45.0  # seconds: more approvals than the resume window holds
    resume_limit: int = 700  # HALYQ_RESUME_LIMIT: 35 s of approvals at 20 a second
    reload_within: float = 1.0


FULL: dict[str, Any] = {"flt4": Storm(), "dur7": Continuity()}
QUICK: dict[str, Any] = {
    "flt4": Storm(viewers=1000, memory_storms=2, settle=8.0),
    "dur7": Continuity(
        viewers=100,
        long_gap=3,
        items=200,
        drops=3,
        connected=(0.5, 3.0),
        away=(0.5, 4.0),
        long_away=12.0,
        resume_limit=100,
    ),
}


# The node


@dataclass
class Node:
    """`halyq serve` on a fixed port (a restart comes back where the viewers look)."""

    workdir: Path
    redis_url: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start it; returns when it serves (monotonic time)."""
        ready = self.workdir / "ready.json"
        ready.unlink(missing_ok=True)
        env = server_environment() | {"REDIS_URL": self.redis_url} | self.env
        command = [sys.executable, "-m", "server", "serve", "--port", str(self.port),
                   "--ready-file", str(ready)]  # fmt: skip
        with (self.workdir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                pinned(command, "0" if TWO_CORES else None),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while not (ready.exists() and ready.stat().st_size):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the node did not start:\n{self.log_tail()}")
            time.sleep(0.02)
        return time.monotonic()

    def stop(self) -> None:
        """SIGTERM (uvicorn closes every socket 1012), then SIGKILL by PID if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def rss(self) -> int:
        return (
            0 if self.process is None else int(psutil.Process(self.process.pid).memory_info().rss)
        )

    def metrics(self) -> dict[str, float]:
        text = httpx.get(self.url + "/metrics", timeout=10).text
        return {m[1]: float(m[2]) for line in text.splitlines() if (m := METRIC_LINE.match(line))}

    def log_tail(self, lines: int = 20) -> str:
        text = (self.workdir / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def range_reads(data_dir: Path) -> int:
    """XRANGE and XREVRANGE calls the run's Redis has served (scripts' calls included)."""
    return viewers.range_reads(f"unix://{socket_path(data_dir)}")


async def live_meeting(store: Store) -> str:
    cases = UseCases(store=store)
    command = CreateMeeting(
        title="Бенчмарк: дауыл",
        akim="Бенчмарк Әкім",
        level=AkimLevel.DISTRICT,
        territory="Бенчмарк ауданы",
        planned_minutes=60,
        slow_mode_seconds=0.0,
    )
    meeting = await create_meeting(cases, command)
    return (await change_meeting(cases, meeting.id, StartMeeting())).id


class Memory:
    """The node's RSS, sampled twice a second while it runs."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic(), self.node.rss()))
            await asyncio.sleep(0.5)

    def peak(self, since: float = 0.0) -> int:
        return max((rss for at, rss in self.samples if at >= since), default=0)

    async def settled(self, seconds: float) -> int:
        """The median RSS over the last third of `seconds` from now."""
        began = time.monotonic()
        await asyncio.sleep(seconds)
        window = sorted(rss for at, rss in self.samples if at >= began + seconds * 2 / 3)
        return window[len(window) // 2] if window else self.node.rss()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


# Viewers


class Refused(ConnectionError):
    """The upgrade was answered with an HTTP status (503 or 429), with its Retry-After."""

    def __init__(self, status: str, retry_after: float) -> None:
        super().__init__(status)
        self.retry_after = retry_after


class Link(asyncio.Protocol):
    """One connection of a `Member`: the handshake by hand, then frames as `bench/viewer.py`
    parses them; every text message goes to the member."""

    def __init__(self, member: Member, request: tuple[bytes, bytes]) -> None:
        self.member = member
        self.request, self.accept = request
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        data, self.buffer = self.buffer + data, b""
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = data
                return
            head = data[:end]
            if not head.startswith(b"HTTP/1.1 101"):
                found = RETRY_AFTER.search(head)
                status = head[: head.find(b"\r\n")].decode("latin-1")
                self.fail(Refused(status, float(found.group(1)) if found else 1.0))
                return
            self.upgraded, data = True, data[end + 4 :]
        pos = 0
        try:
            while (bounds := frame_bounds(data, pos)) is not None:
                start, stop = bounds
                self.frame(data[pos], data[start:stop])
                pos = stop
        except ProtocolError as error:
            self.fail(error)
            return
        self.buffer = data[pos:]

    def frame(self, head: int, payload: bytes) -> None:
        opcode = head & 0x0F
        if opcode == OP_TEXT and head & FIN:
            self.member.message(self, payload)
        elif opcode == OP_PING:
            self.send(control_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.member.close_code = struct.unpack("!H", payload[:2])[0] if payload else 1005
            self.send(control_frame(OP_CLOSE, payload[:2]))
            if self.transport is not None:
                self.transport.close()

    def send(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def fail(self, error: Exception) -> None:
        self.member.failure = error
        self.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.lost.done():
            self.lost.set_result(None)
        self.member.gone(self)


class Member:
    """One viewer across its connections: what it was shown and how each resume went.

    `seqs` checks a stream of numbered comments (FLT-4): each must follow the one before.
    `approved` collects question ids from `question.approved` events (DUR-7).
    """

    def __init__(self, number: int, host: str, port: int, path: str, *, questions: bool) -> None:
        self.number = number
        self.host, self.port, self.path = host, port, path
        self.address = ADDRESSES[number % len(ADDRESSES)]
        self.questions = questions
        self.link: Link | None = None
        self.last: str | None = None
        self.epoch = ""
        self.next_seq: int | None = None
        self.gaps = 0
        self.duplicates = 0
        self.reloads = 0
        self.resumes = 0
        self.approved: list[str] = []
        self.public: set[str] = set()  # a reload's hello: the public questions as of then
        self.wants_public = False  # keep the public questions of each hello (DUR-7's long gaps)
        self.caught_up: asyncio.Event = asyncio.Event()
        self.reloaded_after: list[float] = []  # seconds from connect to each reload frame
        self.opened = 0.0
        self.failure: Exception | None = None
        self.close_code = 0
        self.stopped = False

    # Messages

    def message(self, link: Link, data: bytes) -> None:
        if data.startswith(HELLO):
            if found := EPOCH.search(data):
                self.epoch = found.group(1).decode()
            if self.wants_public:
                self.public = {q["id"] for q in json.loads(data)["questions"]}
        elif data.startswith(RELOAD):
            self.reloads += 1
            self.reloaded_after.append(time.monotonic() - self.opened)
            self.next_seq, self.approved = None, []
        elif data.startswith(EVENTS):
            self.events(data)
            self.caught_up.set()

    def events(self, data: bytes) -> None:
        if self.questions:
            for event in json.loads(data)["events"]:
                if event["kind"] == "question.approved":
                    self.approved.append(event["question"])
        for found in SEQ.finditer(data):
            seq = int(found.group(1))
            if self.next_seq is not None and seq != self.next_seq:
                if seq < self.next_seq:
                    self.duplicates += 1
                else:
                    self.gaps += 1
            self.next_seq = seq + 1
        if last := LAST.search(data, max(0, len(data) - 60)):
            self.last = last.group(1).decode()

    # Connections

    async def open(self) -> None:
        """Connect (resuming once there is a `last`), until the catch-up has come."""
        loop = asyncio.get_running_loop()
        path = self.path
        resuming = self.last is not None
        if resuming:
            path += f"?after={self.last}&epoch={self.epoch}"
        link = Link(self, handshake_request(self.host, self.port, path))
        self.failure = None
        self.caught_up.clear()
        self.opened = time.monotonic()
        waiter: asyncio.Future[Any] = asyncio.ensure_future(self.caught_up.wait())
        try:
            async with asyncio.timeout(OPEN_TIMEOUT):
                await loop.create_connection(
                    lambda: link, self.host, self.port, local_addr=(self.address, 0)
                )
                self.link = link
                await asyncio.wait([waiter, link.lost], return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            link.abort()
            raise
        finally:
            waiter.cancel()
        if not self.caught_up.is_set():
            raise self.failure or ConnectionError(f"closed before catch-up ({self.close_code})")
        self.resumes += resuming

    def gone(self, link: Link) -> None:
        if self.link is link:
            self.link = None

    def drop(self) -> None:
        if self.link is not None:
            self.link.abort()

    def close(self) -> None:
        self.stopped = True
        if self.link is not None:
            self.link.send(control_frame(OP_CLOSE, struct.pack("!H", CLOSE_NORMAL)))
            self.link.abort()

    async def reopen(self) -> bool:
        """Connect at once, and again with backoff (the server's Retry-After when it gave
        one) until it works or 30 attempts failed."""
        for attempt in range(1, 31):
            try:
                await self.open()
                return True
            except (OSError, TimeoutError) as error:
                wait = random.uniform(0.2, 0.6) * min(attempt, 4)
                if isinstance(error, Refused):
                    wait = error.retry_after * random.uniform(1.0, 2.0)
                await asyncio.sleep(min(wait, 15.0))
        return False

    async def keep_open(self, recovered: Callable[[Member], None]) -> None:
        """Stay connected: after each loss, reconnect at once; `recovered` after each."""
        while not self.stopped and await self.reopen():
            recovered(self)
            link = self.link
            if link is not None:
                await link.lost


# FLT-4


class Commenter:
    """Numbered comments at `rate`, each sent again with its id until acknowledged (G2)."""

    def __init__(self, url: str, rate: float) -> None:
        self.url, self.rate = url, rate
        self.acked = 0
        self.stopped = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self.stopped:
            try:
                async with connect(self.url, compression=None, open_timeout=10) as ws:
                    await self._post(ws)
            except (OSError, TimeoutError, ConnectionError) as error:
                del error
            except Exception as error:  # the socket closed under us (websockets' own errors)
                if type(error).__module__.split(".")[0] != "websockets":
                    raise
            await asyncio.sleep(0.3)

    async def _post(self, ws: Any) -> None:
        await ws.recv()  # hello
        while not self.stopped:
            n = self.acked
            text = f"storm-{n} комментарий"
            frame = {"type": "comment", "client_msg_id": f"storm-{n}", "name": "", "text": text}
            await ws.send(json.dumps(frame))
            while True:
                answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if answer.get("client_msg_id") == f"storm-{n}":
                    break
            if answer["type"] == "ack":
                self.acked += 1
                await asyncio.sleep(1 / self.rate)
            else:
                await asyncio.sleep(float(answer.get("retry_after", 1)))

    async def stop(self) -> None:
        self.stopped = True
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


async def flt4(scale: Storm, workdir: Path) -> Result:
    result = Result("FLT-4", dataclasses.asdict(scale))
    data = workdir / "redis"
    with EmbeddedRedis(data) as redis:
        store = Store(redis.url)
        await store.check_durability()
        meeting_id = await live_meeting(store)
        await store.close()
        env = {"HALYQ_ADDRESS_COMMENTS_PER_MINUTE": "100000", "HALYQ_ADDRESS_COMMENT_BURST": "1000",
               "HALYQ_VIEWER_WARMUP_SECONDS": "0", "HALYQ_LOG_LEVEL": "info"}  # fmt: skip
        node = Node(workdir, redis.url, free_port(), env)
        await asyncio.to_thread(node.start)
        memory = Memory(node)
        memory.start()
        try:
            await _flt4_run(scale, node, data, meeting_id, memory, result)
        finally:
            memory.stop()
            node.stop()
            result.figures["sweeps"] = sweeps(workdir / "server.log")
    return result


def sweeps(log: Path) -> list[dict[str, int]]:
    """The node's full collections after storms (`server/fanout/sweeper.py`), from its log."""
    found = SWEPT.findall(log.read_text(errors="replace"))
    return [
        {"connections_gone": int(g), "objects_freed": int(f), "ms": int(ms)} for g, f, ms in found
    ]


class Crowd:
    """The members, each kept connected by a task of its own; `back` times their returns."""

    def __init__(self, members: list[Member]) -> None:
        self.members = members
        self.back: dict[int, float] = {}
        self.since = 0.0
        self.full = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def mark(self) -> None:
        self.back, self.since = {}, time.monotonic()
        self.full.clear()

    def _recovered(self, member: Member) -> None:
        self.back.setdefault(member.number, time.monotonic() - self.since)
        if len(self.back) == len(self.members):
            self.full.set()

    async def connect(self, rate: float) -> None:
        self.mark()
        loop = asyncio.get_running_loop()
        for index, member in enumerate(self.members):
            delay = self.since + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.tasks.append(loop.create_task(member.keep_open(self._recovered)))
        await self.all_back(120.0)

    async def all_back(self, within: float) -> dict[str, Any]:
        """How many came back since `mark`, and how fast (waiting up to `within` seconds)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.full.wait()
        times = list(self.back.values())
        return {
            "recovered": len(times),
            "of": len(self.members),
            "within_30s": sum(t <= 30 for t in times),
            "within_60s": sum(t <= 60 for t in times),
            "p50_s": percentile(times, 0.5),
            "p99_s": percentile(times, 0.99),
            "max_s": round(max(times), 3) if times else None,
        }

    def drop_all(self) -> None:
        self.mark()
        for member in self.members:
            member.drop()

    async def close(self) -> None:
        for member in self.members:
            member.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _flt4_run(
    scale: Storm, node: Node, data: Path, meeting_id: str, memory: Memory, result: Result
) -> None:
    path = f"/ws/meetings/{meeting_id}"
    members = [
        Member(n, "127.0.0.1", node.port, path, questions=False) for n in range(scale.viewers)
    ]
    crowd = Crowd(members)
    commenter = Commenter("ws" + node.url.removeprefix("http") + path, scale.comment_rate)
    commenter.start()
    try:
        await crowd.connect(scale.connect_rate)
        result.figures["connected"] = len(crowd.back)
        result.figures["rss_connected_mb"] = round(node.rss() / MB, 1)
        # The storm: the node restarts, every viewer resumes at once.
        reads, began = range_reads(data), time.monotonic()
        crowd.mark()
        await asyncio.to_thread(node.stop)
        ready = await asyncio.to_thread(node.start)
        restart = await crowd.all_back(scale.recovered_all + 30)
        restart["node_down_s"] = round(ready - began, 3)
        result.figures["restart_storm"] = restart
        result.figures["restart_range_reads"] = range_reads(data) - reads
        result.figures["restart_resume_reads"] = node.metrics().get("halyq_resume_reads_total")
        result.figures["rss_peak_restart_mb"] = round(memory.peak(began) / MB, 1)
        await _memory_storms(scale, crowd, memory, data, result)
        await _gap_check(crowd, commenter, result)
    finally:
        await commenter.stop()
        await crowd.close()
    _judge_flt4(scale, result)


async def _memory_storms(
    scale: Storm, crowd: Crowd, memory: Memory, data: Path, result: Result
) -> None:
    """Every viewer drops and comes back at once, `memory_storms` times."""
    levels = [await memory.settled(scale.settle)]
    storms = []
    for _ in range(scale.memory_storms):
        reads, began = range_reads(data), time.monotonic()
        crowd.drop_all()
        figures = await crowd.all_back(scale.recovered_all)
        figures["range_reads"] = range_reads(data) - reads
        figures["rss_peak_mb"] = round(memory.peak(began) / MB, 1)
        levels.append(await memory.settled(scale.settle))
        figures["rss_after_mb"] = round(levels[-1] / MB, 1)
        storms.append(figures)
    result.figures["rss_before_storms_mb"] = round(levels[0] / MB, 1)
    result.figures["memory_storms"] = storms


async def _gap_check(crowd: Crowd, commenter: Commenter, result: Result) -> None:
    """The last comment reaches everyone; then every viewer's numbers must have run on."""
    await commenter.stop()
    last = commenter.acked - 1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(m.next_seq == last + 1 for m in crowd.members):
            break
        await asyncio.sleep(0.2)
    members = crowd.members
    result.figures["comments_acked"] = commenter.acked
    result.figures["viewers_with_every_comment"] = sum(m.next_seq == last + 1 for m in members)
    result.figures["gaps"] = sum(m.gaps for m in members)
    result.figures["duplicates"] = sum(m.duplicates for m in members)
    result.figures["reloads"] = sum(m.reloads for m in members)
    result.figures["resumes"] = sum(m.resumes for m in members)


def _judge_flt4(scale: Storm, result: Result) -> None:
    figures, viewers = result.figures, scale.viewers
    restart = figures.get("restart_storm", {})
    result.check("99% recovered within 30 s", restart.get("within_30s", 0) >= 0.99 * viewers,
                 restart.get("within_30s"), f">= {0.99 * viewers:.0f}")  # fmt: skip
    result.check("100% recovered within 60 s", restart.get("within_60s", 0) == viewers,
                 restart.get("within_60s"), viewers)  # fmt: skip
    reads = figures.get("restart_range_reads")
    tenths = max(1.0, 10 * (restart.get("max_s") or 0.0))  # the storm's length, in 100 ms
    per_tenth = None if reads is None else round(reads / tenths, 3)
    figures["restart_range_reads_per_100ms"] = per_tenth
    result.check(
        "<= 1 XRANGE per 100 ms (one meeting), not one per viewer",
        per_tenth is not None and per_tenth <= 1 and reads is not None and reads <= viewers / 20,
        {"reads": reads, "per_100ms": per_tenth},
        {"per_100ms": 1, "reads": f"<= {viewers // 20}"},
    )
    peaks = [figures.get("rss_peak_restart_mb", 0)] + [
        s["rss_peak_mb"] for s in figures.get("memory_storms", [])
    ]
    result.check("RSS <= 1.5 GB", max(peaks) <= scale.rss_max_mb, max(peaks), scale.rss_max_mb)
    before = figures.get("rss_before_storms_mb", 0)
    after = [s["rss_after_mb"] for s in figures.get("memory_storms", [])]
    bound = before * (1 + scale.rss_back_within)
    result.check("RSS back within 10% after each storm", bool(after) and max(after) <= bound,
                 after, f"<= {bound:.1f} MB")  # fmt: skip
    result.check("a second storm does not grow it", len(after) > 1
                 and after[-1] <= after[0] * (1 + scale.rss_back_within / 2), after,
                 "the last within 5% of the first")  # fmt: skip
    complete = figures.get("viewers_with_every_comment")
    result.check("0 gaps, 0 duplicates, every viewer has every comment",
                 figures.get("gaps") == 0 and figures.get("duplicates") == 0
                 and complete == viewers and figures.get("reloads") == 0,
                 {k: figures.get(k) for k in ("gaps", "duplicates", "reloads")}
                 | {"complete": complete}, {"gaps": 0, "duplicates": 0, "reloads": 0,
                                           "complete": viewers})  # fmt: skip


# DUR-7


async def dur7(scale: Continuity, workdir: Path) -> Result:
    result = Result("DUR-7", dataclasses.asdict(scale))
    with EmbeddedRedis(workdir / "redis") as redis:
        store = Store(redis.url)
        await store.check_durability()
        try:
            meeting_id = await live_meeting(store)
            questions = await _ask(store, meeting_id, scale.items)
            env = {"HALYQ_RESUME_LIMIT": str(scale.resume_limit), "HALYQ_LOG_LEVEL": "warning"}
            node = Node(workdir, redis.url, free_port(), env)
            await asyncio.to_thread(node.start)
            try:
                await _dur7_run(scale, node, store, meeting_id, questions, result)
            finally:
                node.stop()
        finally:
            await store.close()
    return result


async def _ask(store: Store, meeting_id: str, count: int) -> list[str]:
    cases, asked = UseCases(store=store), []
    meeting = await store.meetings.get(meeting_id)
    assert meeting is not None
    for n in range(count):
        what = AskQuestion(client_msg_id=f"q{n}", name="Тұрғын", text=f"Сұрақ нөмірі {n}?")
        outcome = await submit(cases, meeting, Submission(what=what, sender=f"s{n}"))
        assert isinstance(outcome, Asked), outcome
        asked.append(outcome.id)
    return asked


async def _dur7_run(
    scale: Continuity, node: Node, store: Store, meeting_id: str, questions: list[str],
    result: Result,
) -> None:  # fmt: skip
    path = f"/ws/meetings/{meeting_id}"
    total = scale.viewers + scale.long_gap
    members = [Member(n, "127.0.0.1", node.port, path, questions=True) for n in range(total)]
    for member in members[scale.viewers :]:
        member.wants_public = True
    for start in range(0, total, 200):  # 200 at a time: the handshake queue is not under test
        await asyncio.gather(*(m.reopen() for m in members[start : start + 200]))
    approved: list[str] = []
    began = time.monotonic()

    async def moderate() -> None:
        cases = UseCases(store=store)
        meeting = await store.meetings.get(meeting_id)
        assert meeting is not None
        for n, question in enumerate(questions):
            await asyncio.sleep(max(0.0, began + n / scale.rate - time.monotonic()))
            command = Moderate(action="approve", item=question, version=1)
            await act(cases, meeting, command, by="bench-moderator")
            approved.append(question)

    async def short_gaps(member: Member) -> None:
        for _ in range(scale.drops):
            await asyncio.sleep(random.uniform(*scale.connected))
            member.drop()
            await asyncio.sleep(random.uniform(*scale.away))
            await member.reopen()

    async def long_gap(member: Member) -> None:
        await asyncio.sleep(random.uniform(*scale.connected))
        member.drop()
        await asyncio.sleep(scale.long_away)
        await member.reopen()

    runs = [short_gaps(m) for m in members[: scale.viewers]]
    runs += [long_gap(m) for m in members[scale.viewers :]]
    await asyncio.gather(moderate(), *runs)
    await _settle(members, questions)
    _judge_dur7(scale, members, questions, result)
    for member in members:
        member.close()


async def _settle(members: list[Member], questions: list[str]) -> None:
    """Every member has every approval (or stops trying after 60 s)."""
    deadline = time.monotonic() + 60
    final = questions[-1]
    while time.monotonic() < deadline:
        if all(final in m.approved or final in m.public for m in members):
            return
        await asyncio.sleep(0.2)


def _judge_dur7(
    scale: Continuity, members: list[Member], questions: list[str], result: Result
) -> None:
    short, long = members[: scale.viewers], members[scale.viewers :]
    in_order = sum(m.approved == questions for m in short)
    reloads = sum(m.reloads for m in short)
    result.figures |= {"short_gap_viewers": len(short), "resumes": sum(m.resumes for m in short),
                       "with_every_item_in_order": in_order, "reloads": reloads}  # fmt: skip
    result.check("short gaps: all items in order, 0 gaps, 0 duplicates", in_order == len(short),
                 in_order, len(short))  # fmt: skip
    result.check("short gaps: recovered on every resume", reloads == 0, reloads, 0)
    told = [t for m in long for t in m.reloaded_after]
    complete = sum(
        m.reloads == 1
        and len(m.approved) == len(set(m.approved))
        and m.public | set(m.approved) == set(questions)
        for m in long
    )
    result.figures |= {"long_gap_viewers": len(long), "reload_after_s": told,
                       "long_gap_complete": complete}  # fmt: skip
    result.check("long gaps: told to reload within 1 s", len(told) == len(long)
                 and max(told) <= scale.reload_within, percentile(told, 1.0),
                 scale.reload_within)  # fmt: skip
    result.check("long gaps: end with every item", complete == len(long), complete, len(long))


# Running


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"storm: needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


SCENARIOS: dict[str, Callable[[Any, Path], Awaitable[Result]]] = {"flt4": flt4, "dur7": dur7}


async def run(names: list[str], scales: dict[str, Any]) -> list[Result]:
    results = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"halyq-{name}-") as folder:
            results.append(await SCENARIOS[name](scales[name], Path(folder)))
    return results


def _run(names: list[str], quick: bool) -> list[Result]:
    scales = QUICK if quick else FULL
    raise_file_limit(scales["flt4"].viewers + 2000)  # the node inherits it as well
    if TWO_CORES:
        os.sched_setaffinity(0, {1})  # the clients beside Redis, the node on core 0
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:

        async def bounded() -> list[Result]:
            async with asyncio.timeout(1800):
                return await run(names, scales)

        return runner.run(bounded())


def _as_json(result: Result) -> dict[str, Any]:
    """This module's shape of a result: the criteria keyed by name, each with `pass`."""
    criteria = {c.name: {"pass": c.passed, "measured": c.measured, "target": c.target}
                for c in result.criteria}  # fmt: skip
    return {"test": result.scenario, "scale": result.scale, "criteria": criteria,
            "figures": result.figures, "notes": result.notes}  # fmt: skip


def _summary(quick: bool, results: list[Result], _seconds: float) -> dict[str, Any]:
    return {"quick": quick, "passed": all(r.passed for r in results),
            "results": [_as_json(r) for r in results]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return report.main(
        argv,
        prog="python -m bench.reliability.storm",
        description=__doc__,
        out="storm",
        run=_run,
        scenarios=list(SCENARIOS),
        options=report.repeated(),
        summary=_summary,
    )


if __name__ == "__main__":
    sys.exit(main())
