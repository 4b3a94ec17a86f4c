"""DUR-1, DUR-3, OVL-2 and the SIGSTOP stall of the reliability catalogue, at full scale: what a
comment's answer promises (docs/protocol.md, "A rejection is final").

Real `halyq serve` processes on one real Redis (the embedded redis-server, `appendfsync
always`, started here so that it can be stalled with SIGSTOP), and clients that behave as the
protocol asks: one comment at a time, the same `client_msg_id` again after `retry`, a
transient rejection or a lost connection. Every attempt says in its text which attempt it is,
so the record shows which attempt made each entry.

    .venv/bin/python -m bench.reliability.submissions                 # the catalogue's numbers
    .venv/bin/python -m bench.reliability.submissions --quick         # a smoke run (~1.5 min)
    .venv/bin/python -m bench.reliability.submissions --only dur3 --only stall

It prints a JSON summary (each criterion, passed or not, with what was measured) and writes it
to bench/out/<time>-submissions.json; exit status 1 if a criterion failed. Run it alone on the
machine: `flock /tmp/halyq-heavy.lock .venv/bin/python -m bench.reliability.submissions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.reliability import report
from bench.reliability.faultclients import Attempt, Comment, address, percentile
from bench.reliability.report import Result
from moderation import AkimLevel, CommentHeld, CommentPosted, CreateMeeting, StartMeeting
from moderation.events import QuestionAsked
from server.store import Store
from server.store.embedded import EmbeddedRedis
from server.usecases import UseCases, change_meeting, create_meeting
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
ANSWER_TIMEOUT = 10.0  # an attempt unanswered this long: the connection is given up
TRANSIENT = frozenset({"unavailable", "overloaded", "rate_limited"})  # not recorded: again later
CLIENT_ERRORS = (OSError, ConnectionClosed, InvalidHandshake, TimeoutError)
SERVER_FIGURES = ("halyq_comments_total", "halyq_event_loop_lag_seconds_bucket",
                  "halyq_ack_latency_seconds_bucket")  # fmt: skip
ANSWER_PREFIXES = ('{"type":"ack"', '{"type":"rejected"', '{"type":"retry"')


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def key(stream_id: str) -> tuple[int, int]:
    stamp, _, seq = stream_id.partition("-")
    return int(stamp), int(seq or 0)


# Redis, nodes and meetings


class Node:
    """A `halyq serve` process on a fixed port (so that a restart serves the same URL), started,
    stopped and killed here by its PID."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.workdir = workdir
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self.spawned = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ws(self, meeting_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/meetings/{meeting_id}"

    def start(self) -> float:
        """Start it; returns the seconds it took to serve."""
        began = time.monotonic()
        ready = self.workdir / f"ready-{self.name}-{uuid.uuid4().hex[:6]}.json"
        log = (self.workdir / f"{self.name}.log").open("ab")
        command = [sys.executable, "-m", "server", "serve", "--port", str(self.port),
                   "--ready-file", str(ready)]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.spawned = time.monotonic()
        while not (ready.exists() and ready.stat().st_size):
            if self.process.poll() is not None or time.monotonic() - began > READY_TIMEOUT:
                raise RuntimeError(f"node {self.name} did not serve: {self.log_tail()}")
            time.sleep(0.02)
        return time.monotonic() - began

    def kill(self) -> None:
        """kill -9, as a crash or an OOM kill leaves it."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rss(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return 0
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(
                self.peak_rss, int(psutil.Process(self.process.pid).memory_info().rss)
            )
        return self.peak_rss

    async def metrics(self) -> dict[str, float]:
        """The Prometheus samples of its /metrics, by name with labels."""
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(self.url + "/metrics")).text
        samples = {}
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name and not line.startswith("#"):
                with contextlib.suppress(ValueError):
                    samples[name] = float(value)
        return samples

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / f"{self.name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Cluster:
    embedded: EmbeddedRedis
    nodes: list[Node]
    prefix: str
    workdir: Path

    @property
    def redis_pid(self) -> int:
        assert self.embedded.process is not None
        return self.embedded.process.pid

    async def meetings(self, count: int) -> list[str]:
        """`count` live meetings, slow mode off (as the catalogue's "test token" asks)."""
        store = Store(self.embedded.url, self.prefix)
        try:
            await store.check_durability()
            cases = UseCases(store=store)
            made = []
            for n in range(count):
                command = CreateMeeting(
                    title=f"Бенчмарк {n}", akim="Бенчмарк Әкім", level=AkimLevel.DISTRICT,
                    territory="Бенчмарк ауданы", planned_minutes=60, slow_mode_seconds=0.0,
                )  # fmt: skip
                meeting = await create_meeting(cases, command)
                await change_meeting(cases, meeting.id, StartMeeting())
                made.append(meeting.id)
            return made
        finally:
            await store.close()

    async def record(self, meeting_id: str) -> list[tuple[str, str, str]]:
        """Every comment in the meeting's record: (entry id, client_msg_id, text)."""
        store = Store(self.embedded.url, self.prefix)
        found = []
        try:
            async for chunk in store.record.replay(meeting_id, "0-0", chunk=5000):
                for entry_id, event in chunk:
                    if isinstance(event, CommentPosted | CommentHeld | QuestionAsked):
                        found.append((entry_id, event.client_msg_id, event.text))
        finally:
            await store.close()
        return found


@contextlib.asynccontextmanager
async def cluster(nodes: int, **settings: str) -> AsyncIterator[Cluster]:
    """A durable Redis of our own and `nodes` `halyq serve` processes on it."""
    with tempfile.TemporaryDirectory(prefix="halyq-submissions-") as folder:
        workdir = Path(folder)
        redis = EmbeddedRedis(workdir / "redis").start()
        prefix = f"b{uuid.uuid4().hex[:8]}:"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALYQ_")}
        env.pop("REDIS_URL", None)
        env |= {"REDIS_URL": redis.url, "HALYQ_REDIS_PREFIX": prefix, "PYTHONUNBUFFERED": "1",
                "HALYQ_LOG_LEVEL": "warning", "HALYQ_MAX_CONNECTIONS_PER_ADDRESS": "100000",
                "HALYQ_DATA_DIR": str(workdir / "data"), **settings}  # fmt: skip
        made = [Node(name, workdir, env) for name in "ABCDEFGH"[:nodes]]
        try:
            for node in made:
                await asyncio.to_thread(node.start)
            yield Cluster(redis, made, prefix, workdir)
        finally:
            if redis.process is not None:  # never leave it stopped
                with contextlib.suppress(ProcessLookupError):
                    os.kill(redis.process.pid, signal.SIGCONT)
            for node in made:
                node.stop()
            redis.stop()


# Clients


class Commenter:
    """Writes a comment every `1 / rate` seconds into its queue, and sends the queue one comment
    at a time, each until it is settled: the same id again after `retry` or a transient
    rejection (after `retry_after`) or a lost connection (after a full-jitter backoff, to the
    next node of its list). One at a time keeps its comments in the record in its send order."""

    def __init__(self, name: str, urls: list[Callable[[], str]], number: int, rate: float) -> None:
        self.name = name
        self.urls = urls
        self.address = address(number)
        self.rate = rate
        self.rng = random.Random(number)
        self.comments: list[Comment] = []
        self.writing = True
        self.wake = asyncio.Event()
        self.answer: asyncio.Future[tuple[str, dict[str, Any]]] | None = None
        self.connects = 0
        self.drops = 0

    def stop_writing(self) -> None:
        self.writing = False
        self.wake.set()

    @property
    def finished(self) -> bool:
        return not self.writing and all(c.settled for c in self.comments)

    async def run(self) -> None:
        writer = asyncio.get_running_loop().create_task(self._write())
        failures, turn = 0, 0
        try:
            while not self.finished:
                url = self.urls[turn % len(self.urls)]()
                try:
                    async with self._connect(url) as ws:
                        self.connects += 1
                        failures = 0
                        await self._session(ws, url)
                        return
                except CLIENT_ERRORS:
                    self.drops += 1
                    failures += 1
                    turn += 1
                    await asyncio.sleep(self.rng.uniform(0, min(2.0, 0.2 * 2**failures)))
        finally:
            writer.cancel()

    def _connect(self, url: str) -> Any:
        return connect(url, compression=None, max_size=None, max_queue=None, open_timeout=5,
                       local_addr=(self.address, 0))  # fmt: skip

    async def _write(self) -> None:
        began = time.monotonic()
        n = 0
        while self.writing:
            self.comments.append(Comment(f"{self.name}-{n}", time.monotonic()))
            self.wake.set()
            n += 1
            await asyncio.sleep(max(0.0, began + n / self.rate - time.monotonic()))

    async def _session(self, ws: ClientConnection, url: str) -> None:
        reader = asyncio.get_running_loop().create_task(self._read(ws))
        try:
            done = 0
            while not self.finished:
                while done < len(self.comments) and self.comments[done].settled:
                    done += 1
                if done == len(self.comments):
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                await self._send(ws, url, self.comments[done], reader)
        finally:
            reader.cancel()

    async def _send(
        self, ws: ClientConnection, url: str, comment: Comment, reader: asyncio.Task[None]
    ) -> None:
        attempt = Attempt(len(comment.attempts) + 1, url, time.monotonic())
        comment.attempts.append(attempt)
        answer: asyncio.Future[tuple[str, dict[str, Any]]]
        self.answer = answer = asyncio.get_running_loop().create_future()
        frame = {"type": "comment", "client_msg_id": comment.client_msg_id, "name": "Бенч",
                 "text": comment.text(attempt.number)}  # fmt: skip
        try:
            await ws.send(json.dumps(frame, ensure_ascii=False))
            waited: list[asyncio.Future[Any]] = [answer, reader]
            await asyncio.wait(waited, timeout=ANSWER_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        except CLIENT_ERRORS:
            pass
        if not answer.done():
            attempt.answer, attempt.answered = "lost", time.monotonic()
            raise ConnectionError("the connection went away before the answer")
        kind, reply = answer.result()
        attempt.answered = time.monotonic()
        if kind == "ack":
            attempt.answer, comment.acked = "ack", reply["id"]
            return
        # As the viewer page does: `retry_after` when given, 3 s after `unavailable`.
        wait = float(reply.get("retry_after", 3 if reply.get("reason") == "unavailable" else 1))
        if kind == "retry":
            attempt.answer = "retry"
        else:
            attempt.answer = f"rejected:{reply['reason']}"
            if reply["reason"] not in TRANSIENT:
                comment.final = reply["reason"]
                return
        await asyncio.sleep(wait)

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            if not isinstance(message, str) or not message.startswith(ANSWER_PREFIXES):
                continue  # events and status frames: not what this client measures
            frame = json.loads(message)
            if self.answer is not None and not self.answer.done():
                self.answer.set_result((frame["type"], frame))


class Cpu:
    """CPU seconds (user and system) used by some processes since this was made."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.start = {name: self._seconds(p) for name, p in self.processes.items()}

    @staticmethod
    def _seconds(process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    def used(self) -> dict[str, float]:
        return {name: round(self._seconds(p) - self.start[name], 1)
                for name, p in self.processes.items()}  # fmt: skip


class HealthProbe:
    """`GET /healthz` every `every` seconds from a thread of its own (the load's event loop is
    busy and would add its own delays); the round trips in seconds."""

    def __init__(self, url: str, every: float = 0.1) -> None:
        self.url = url
        self.every = every
        self.times: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.wait(self.every):
                began = time.monotonic()
                try:
                    ok = http.get(self.url + "/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.times.append(time.monotonic() - began)
                else:
                    self.failures += 1


async def until(condition: Callable[[], bool], within: float) -> float | None:
    """Seconds until `condition()` held, or None if not within `within`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > within:
            return None
        await asyncio.sleep(0.05)
    return time.monotonic() - began


# Checks shared by the scenarios


def check_record(
    result: Result, commenters: list[Commenter], record: list[tuple[str, str, str]]
) -> None:
    """Every acked comment is in the record exactly once, under its ack's id; no entry was
    made by an attempt answered `rejected`; each writer's entries are in its send order."""
    entries: dict[str, list[tuple[str, str]]] = {}
    for entry_id, client_msg_id, text in record:
        entries.setdefault(client_msg_id, []).append((entry_id, text))
    comments = [c for who in commenters for c in who.comments]
    acked = [c for c in comments if c.acked]
    missing = [c.client_msg_id for c in acked if c.client_msg_id not in entries]
    twice = [i for i, found in entries.items() if len(found) > 1]
    wrong_id = [c.client_msg_id for c in acked if entries.get(c.client_msg_id, [(c.acked,)])[0][0]
                != c.acked]  # fmt: skip
    rejected_made = []
    for c in comments:
        for entry_id, text in entries.get(c.client_msg_id, []):
            made_by = int(text.rsplit(" ", 1)[1])
            if c.attempts[made_by - 1].answer.startswith("rejected"):
                rejected_made.append((c.client_msg_id, entry_id, made_by))
    out_of_order = 0
    for who in commenters:
        ids = [entries[c.client_msg_id][0][0] for c in who.comments if c.client_msg_id in entries]
        out_of_order += sum(1 for a, b in itertools.pairwise(ids) if key(a) >= key(b))
    result.check("every acked comment is in the record", not missing, len(missing))
    result.check("no comment is in the record twice", not twice, len(twice))
    result.check("each ack names its entry", not wrong_id, len(wrong_id))
    result.check("no entry made by an attempt answered `rejected`", not rejected_made,
                 rejected_made[:10])  # fmt: skip
    result.check("each writer's entries in its send order", not out_of_order, out_of_order)
    result.figures |= {"comments": len(comments), "acked": len(acked), "entries": len(record)}


def answers(commenters: list[Commenter]) -> Counter[str]:
    return Counter(a.answer for who in commenters for c in who.comments for a in c.attempts)


def latencies(commenters: list[Commenter], answer: str | None = None) -> list[float]:
    every = [a for who in commenters for c in who.comments for a in c.attempts]
    wanted = [a for a in every if a.answered and a.answer != "lost"]
    return [a.answered - a.sent for a in wanted if answer is None or a.answer == answer]


# DUR-1: a node killed mid-burst


@dataclass(frozen=True)
class Dur1:
    commenters: int = 200
    rate: float = 10.0  # each; the per-connection flood limit is 10 frames a second
    seconds: float = 30.0
    kill_at: float = 10.0
    settle_within: float = 30.0


async def dur1(scale: Dur1) -> Result:
    """DUR-1: `commenters` x `rate` comments a second over two nodes for `seconds`; node A is
    killed (-9) at `kill_at` and started again at once (we are its supervisor); its clients
    reconnect (to B or to A again) and send their unacknowledged comments again."""
    result = Result("dur1", figures={"scale": asdict(scale)})
    async with cluster(2) as c:
        (meeting,) = await c.meetings(1)
        a, b = c.nodes
        urls = [lambda: a.ws(meeting), lambda: b.ws(meeting)]
        crowd = [Commenter(f"d{n}", urls[n % 2:] + urls[: n % 2], n, scale.rate)
                 for n in range(scale.commenters)]  # fmt: skip
        tasks = [asyncio.get_running_loop().create_task(who.run()) for who in crowd]
        began = time.monotonic()
        await asyncio.sleep(scale.kill_at)
        a.kill()
        killed = time.monotonic()
        serving = await asyncio.to_thread(a.start)  # we are its supervisor: at once
        restart = a.spawned - killed  # from the kill to the new process
        await asyncio.sleep(max(0.0, began + scale.seconds - time.monotonic()))
        for who in crowd:
            who.stop_writing()
        left = scale.settle_within - (time.monotonic() - killed)
        settled = await until(lambda: all(w.finished for w in crowd), left)
        for task in tasks:
            task.cancel()
        record = await c.record(meeting)
    written_before = [cm for who in crowd for cm in who.comments if cm.written < killed]
    unacked_before = [cm for cm in written_before if not cm.acked]
    steady = [cm for who in crowd for cm in who.comments if cm.acked]
    result.check("node A restarted within 2 s of the kill", restart <= 2.0, round(restart, 3))
    result.check("every comment acked within 30 s of the restart", settled is not None
                 and not unacked_before, {"unacked": sum(not cm.acked for w in crowd
                                                        for cm in w.comments)})  # fmt: skip
    check_record(result, crowd, record)
    result.figures |= {
        "offered_per_second": scale.commenters * scale.rate,
        "acked_per_second": round(len(steady) / scale.seconds, 1),
        "answers": dict(answers(crowd)),
        "ack_ms_p50": ms(percentile(latencies(crowd, "ack"), 0.5)),
        "ack_ms_p99": ms(percentile(latencies(crowd, "ack"), 0.99)),
        "reconnects": sum(w.connects - 1 for w in crowd),
        "serving_again_seconds": round(serving, 2),  # from its start to its first answer
    }
    return result


# DUR-3: one id, 1,000 times


@dataclass(frozen=True)
class Dur3:
    sockets: int = 10
    each: int = 100


async def dur3(scale: Dur3) -> Result:
    """DUR-3: one `client_msg_id` sent `sockets x each` times at once, from sockets spread over
    two nodes: one entry, and every answer an ack with its id (never `rate_limited`)."""
    result = Result("dur3", figures={"scale": asdict(scale)})
    async with cluster(2) as c:
        (meeting,) = await c.meetings(1)
        frame = json.dumps({"type": "comment", "client_msg_id": "the-same", "name": "Бенч",
                            "text": "Сұрақ the-same attempt 1"})  # fmt: skip

        async def resend(n: int) -> list[dict[str, Any]]:
            url = c.nodes[n % 2].ws(meeting)
            async with connect(url, compression=None, max_size=None, max_queue=None,
                               local_addr=(address(n), 0)) as ws:  # fmt: skip
                for _ in range(scale.each):
                    await ws.send(frame)
                got: list[dict[str, Any]] = []
                while len(got) < scale.each:
                    message = await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT)
                    if isinstance(message, str) and message.startswith(ANSWER_PREFIXES):
                        got.append(json.loads(message))
                return got

        began = time.monotonic()
        replies = [r for got in await asyncio.gather(*(resend(n) for n in range(scale.sockets)))
                   for r in got]  # fmt: skip
        took = time.monotonic() - began
        record = await c.record(meeting)
    kinds = Counter(f"{r['type']}:{r.get('reason', '')}" for r in replies)
    ids = {r.get("id") for r in replies}
    entries = [e for e in record if e[1] == "the-same"]
    result.check("exactly one entry", len(entries) == 1, len(entries))
    result.check("every answer an ack", kinds == Counter({"ack:": len(replies)}), dict(kinds))
    same = bool(entries) and ids == {entries[0][0]}
    result.check("every ack carries the entry's id", same, sorted(map(str, ids)))
    result.check("1,000 answers", len(replies) == scale.sockets * scale.each, len(replies))
    result.figures |= {"seconds": round(took, 2)}
    return result


# OVL-2: overload is explicit


@dataclass(frozen=True)
class Ovl2:
    connections: int = 500
    meetings: int = 50
    rate: float = 10.0  # each: 5,000 a second in all
    seconds: float = 60.0


class Offerer:
    """Sends a new comment every `1 / rate` seconds whatever the answers (an open loop), and
    times each answer; a comment unanswered at the end counts as silent."""

    def __init__(self, url: str, number: int, rate: float) -> None:
        self.url = url
        self.number = number
        self.address = address(number)
        self.rate = rate
        self.sent: dict[str, float] = {}
        self.answered: dict[str, tuple[str, float, str]] = {}  # id -> (answer, seconds, event id)
        self.closed = ""
        self.complete = asyncio.Event()  # every comment sent, and every one answered
        self.done_sending = False
        self.ws: ClientConnection | None = None

    async def open(self) -> None:
        """Connect (again after a refusal: a crowd opening at once meets the handshake queue)."""
        for failures in range(8):
            try:
                self.ws = await connect(self.url, compression=None, max_size=None, max_queue=None,
                                        open_timeout=30, local_addr=(self.address, 0))  # fmt: skip
                return
            except CLIENT_ERRORS as error:
                self.closed = type(error).__name__
                await asyncio.sleep(random.uniform(0, 0.2 * 2**failures))

    async def run(self, seconds: float) -> None:
        if self.ws is None:
            return
        self.closed = ""
        ws = self.ws
        try:
            reader = asyncio.get_running_loop().create_task(self._read(ws))
            began = time.monotonic()
            n = 0
            while time.monotonic() - began < seconds:
                client_msg_id = f"o{self.number}-{n}"
                self.sent[client_msg_id] = time.monotonic()
                frame = {"type": "comment", "client_msg_id": client_msg_id, "name": "Бенч",
                         "text": f"Сұрақ {n} attempt 1"}  # fmt: skip
                await ws.send(json.dumps(frame))
                n += 1
                await asyncio.sleep(max(0.0, began + n / self.rate - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_answered(), ANSWER_TIMEOUT)
            reader.cancel()
        except CLIENT_ERRORS as error:
            self.closed = self.closed or type(error).__name__
        finally:
            await ws.close()

    async def _all_answered(self) -> None:
        self.done_sending = True
        if len(self.answered) < len(self.sent):
            await self.complete.wait()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            await self._answers(ws)
        except ConnectionClosed as closed:
            self.closed = f"closed {closed.rcvd.code if closed.rcvd else 'without a code'}"
        except CLIENT_ERRORS as error:
            self.closed = type(error).__name__

    async def _answers(self, ws: ClientConnection) -> None:
        async for message in ws:
            if isinstance(message, str) and message.startswith(ANSWER_PREFIXES):
                frame = json.loads(message)
                cid = frame["client_msg_id"]
                kind = frame["type"] if frame["type"] != "rejected" else frame["reason"]
                took = time.monotonic() - self.sent[cid]
                self.answered[cid] = (kind, took, frame.get("id", ""))
                if self.done_sending and len(self.answered) == len(self.sent):
                    self.complete.set()


async def ovl2(scale: Ovl2) -> Result:
    """OVL-2: `connections` offer `rate` comments a second each for `seconds`, far past what
    the node can record: each is answered `ack` or `overloaded` (with `retry_after`) within
    2 s, none is left silent, /healthz stays quick, memory bounded, no acked comment lost."""
    result = Result("ovl2", figures={"scale": asdict(scale)})
    async with cluster(1) as c:
        meetings = await c.meetings(scale.meetings)
        (node,) = c.nodes
        crowd = [Offerer(node.ws(meetings[n % len(meetings)]), n, scale.rate)
                 for n in range(scale.connections)]  # fmt: skip
        cpu = Cpu({"server": node.pid, "redis": c.redis_pid, "load": os.getpid()})
        lags: list[float] = []
        with HealthProbe(node.url) as health:
            watching = True

            async def watch() -> None:
                while watching:
                    due = time.monotonic() + 0.5
                    await asyncio.to_thread(node.rss)
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    lags.append(max(0.0, time.monotonic() - due))

            watcher = asyncio.get_running_loop().create_task(watch())
            for start in range(0, len(crowd), 50):
                await asyncio.gather(*(o.open() for o in crowd[start : start + 50]))
            await asyncio.gather(*(o.run(scale.seconds) for o in crowd))
            watching = False
            await watcher
        used = cpu.used()
        samples = await node.metrics()
        records = [e for m in meetings for e in await c.record(m)]
    sent = sum(len(o.sent) for o in crowd)
    replies = [a for o in crowd for a in o.answered.values()]
    kinds = Counter(a[0] for a in replies)
    late = [a for a in replies if a[1] > 2.0]
    recorded = {e[1]: e[0] for e in records}
    acked = {cid: a[2] for o in crowd for cid, a in o.answered.items() if a[0] == "ack"}
    lost = [cid for cid, event_id in acked.items() if recorded.get(cid) != event_id]
    silent = sent - len(replies)
    health_p99 = percentile(health.times, 0.99)
    result.check("every comment answered (none silent)", silent == 0, silent)
    result.check("every answer ack or overloaded", set(kinds) <= {"ack", "overloaded"}, dict(kinds))
    result.check("every answer within 2 s", not late, {"late": len(late),
                 "max_s": round(max((a[1] for a in replies), default=0), 2)})  # fmt: skip
    result.check("/healthz p99 <= 200 ms", health_p99 is not None and health_p99 <= 0.2,
                 {"p99_ms": ms(health_p99), "failures": health.failures})  # fmt: skip
    result.check("RSS <= 512 MB", node.peak_rss <= 512 << 20, round(node.peak_rss / 2**20, 1))
    result.check("no acked comment lost", not lost, len(lost))
    result.check("no connection dropped", not any(o.closed for o in crowd),
                 Counter(o.closed for o in crowd if o.closed))  # fmt: skip
    took = [a[1] for a in replies]
    result.figures |= {
        "offered": sent, "offered_per_second": round(sent / scale.seconds),
        "acked_per_second": round(kinds["ack"] / scale.seconds),
        "answer_ms_p50": ms(percentile(took, 0.5)), "answer_ms_p99": ms(percentile(took, 0.99)),
        "healthz_ms_p50": ms(percentile(health.times, 0.5)),
        # The load runs beside the server on this machine: when its own loop runs late, the
        # answer times it measures include its own delay.
        "cpu_seconds": used, "load_loop_late_ms_p99": ms(percentile(lags, 0.99)),
        "server": {k: v for k, v in samples.items() if k.startswith(SERVER_FIGURES)},
    }  # fmt: skip
    return result


# The stall: Redis stopped (SIGSTOP) under load


@dataclass(frozen=True)
class Stall:
    commenters: int = 200
    rate: float = 1.0  # each: 200 comments a second
    before: float = 5.0
    stall: float = 10.0
    after: float = 5.0
    settle_within: float = 30.0


async def stall(scale: Stall) -> Result:
    """Issue 8, item 2: Redis is stopped for `stall` seconds while comments flow. Afterwards no
    entry was made by an attempt answered `rejected` (checked by id and attempt over every
    such attempt, at least 200), every attempt answered `retry` was followed by a resend that
    settled it, and each comment is in the record once."""
    result = Result("stall", figures={"scale": asdict(scale)})
    async with cluster(1) as c:
        (meeting,) = await c.meetings(1)
        (node,) = c.nodes
        crowd = [Commenter(f"s{n}", [lambda: node.ws(meeting)], n, scale.rate)
                 for n in range(scale.commenters)]  # fmt: skip
        tasks = [asyncio.get_running_loop().create_task(who.run()) for who in crowd]
        await asyncio.sleep(scale.before)
        os.kill(c.redis_pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            await asyncio.sleep(scale.stall)
        finally:
            os.kill(c.redis_pid, signal.SIGCONT)
        resumed = time.monotonic()
        await asyncio.sleep(scale.after)
        for who in crowd:
            who.stop_writing()
        settled = await until(lambda: all(w.finished for w in crowd), scale.settle_within)
        for task in tasks:
            task.cancel()
        record = await c.record(meeting)
    attempts = [a for who in crowd for cm in who.comments for a in cm.attempts]
    during = [a for a in attempts if stopped <= a.sent <= resumed]
    rejected = [a for a in attempts if a.answer.startswith("rejected")]
    result.check("at least 200 attempts answered with a rejection", len(rejected) >= 200,
                 len(rejected))  # fmt: skip
    result.check("every comment settled (acked) afterwards", settled is not None,
                 sum(not cm.acked for w in crowd for cm in w.comments))  # fmt: skip
    check_record(result, crowd, record)
    during_took = [a.answered - a.sent for a in during if a.answered]
    result.figures |= {
        "answers": dict(answers(crowd)),
        "answers_during_the_stall": dict(Counter(a.answer for a in during)),
        "answer_ms_p99_during_the_stall": ms(percentile(during_took, 0.99)),
        "answer_ms_max_during_the_stall": ms(max(during_took, default=0)),
    }
    return result


# Running


SCENARIOS: dict[str, tuple[Callable[[Any], Any], Any, Any]] = {
    "dur1": (dur1, Dur1(), Dur1(commenters=40, seconds=12, kill_at=4, settle_within=30)),
    "dur3": (dur3, Dur3(), Dur3()),
    "ovl2": (ovl2, Ovl2(), Ovl2(connections=100, meetings=10, seconds=10)),
    "stall": (stall, Stall(), Stall(before=2, stall=5, after=2)),
}


async def run(names: list[str], quick: bool) -> list[Result]:
    results = []
    for name in names:
        scenario, full, small = SCENARIOS[name]
        results.append(await scenario(small if quick else full))
    return results


def _plain(value: Any) -> Any:
    """`value` as JSON can hold it: keys as text, tuples as lists, anything else as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _summary(quick: bool, results: list[Result], seconds: float) -> dict[str, Any]:
    scenarios = [{"scenario": r.scenario, "passed": r.passed,
                  "criteria": [{"name": c.name, "passed": c.passed, "measured": c.measured}
                               for c in r.criteria],
                  "figures": r.figures}
                 for r in results]  # fmt: skip
    summary: dict[str, Any] = _plain({
        "bench": "submissions", "quick": quick, "passed": all(r.passed for r in results),
        "seconds": round(seconds, 1), "scenarios": scenarios,
    })  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> int:
    return report.main(
        argv,
        prog=None,
        description=report.headline(__doc__),
        out="submissions",
        run=lambda names, quick: asyncio.run(run(names, quick)),
        scenarios=list(SCENARIOS),
        options=report.repeated("run these"),
        summary=_summary,
        stamp=lambda: time.strftime("%Y%m%d-%H%M%S"),  # local time, as ever
    )


if __name__ == "__main__":
    sys.exit(main())
