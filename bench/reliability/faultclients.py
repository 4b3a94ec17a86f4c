"""The clients of the fault scenarios (bench/reliability/faults.py), and the nodes they use.

Clients behave as docs/protocol.md asks of them: a commenter writes comments into a queue at
its pace, sends them one at a time, and sends one again, with the same `client_msg_id`, after a
`retry`, a transient rejection or a lost connection; a viewer resumes with `?after=<last>`.
Both reconnect with full-jitter backoff, to the next node in their list. Each attempt says in
its text which attempt it is, so the record shows which attempt made each entry: one answered
`rejected` must never have made one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import signal
import time
from array import array
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.helpers import ServerProcess, comment, environment, start_server

OPEN_TIMEOUT = 5.0
ANSWER_TIMEOUT = 10.0  # an attempt unanswered this long: the connection is given up
TRANSIENT = frozenset({"unavailable", "overloaded", "rate_limited"})  # send again later
COMMENT_KINDS = frozenset({"comment.posted", "comment.held"})
EVENTS_PREFIX = '{"type":"events"'
CLIENT_ERRORS = (OSError, ConnectionClosed, InvalidHandshake, TimeoutError)


def key(stream_id: str) -> int:
    """A stream id as one sortable integer (milliseconds, then the sequence)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms) << 20 | int(seq or 0)


def address(number: int) -> str:
    """Client `number`'s own loopback address (127.0.1.2, 127.0.1.3...): per-address limits
    see many clients, as behind many homes, not one."""
    return f"127.0.{1 + number // 250}.{2 + number % 250}"


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full jitter (FLT-3: base 0.5 s, cap 10 s): a random wait up to `base * 2**failures`."""

    base: float = 0.5
    cap: float = 10.0

    def delay(self, failures: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * 2**failures))


BACKOFF = Backoff()


async def _doze(wake: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), max(0.0, seconds))
    wake.clear()


# Commenters


@dataclass(slots=True)
class Attempt:
    """One sending of a comment: where, when (the sender's clock: wall here, monotonic in
    submissions.py), and the answer."""

    number: int
    node: str
    sent: float
    answer: str = ""  # ack, retry, rejected:<reason>, lost (connection gone), silent
    answered: float = 0.0


@dataclass(slots=True)
class Comment:
    client_msg_id: str
    written: float  # when its writer wrote it (as `Attempt.sent`): the queue holds it from then
    attempts: list[Attempt] = field(default_factory=list)
    acked: str = ""  # the event id of its ack
    final: str = ""  # a final rejection's reason
    due: float = 0.0  # not sent again before this

    @property
    def settled(self) -> bool:
        return bool(self.acked or self.final)

    def text(self, attempt: int) -> str:
        return f"Сұрақ {self.client_msg_id} attempt {attempt}"


class Commenter:
    """Writes a comment every `interval` seconds into a queue, sends the queue one comment at a
    time and resends each until it is acknowledged. A `retry` or a transient rejection holds
    the whole queue for `retry_after` (a page does not hammer a server that asked to wait)."""

    def __init__(
        self,
        name: str,
        nodes: list[tuple[str, str]],
        source: str,
        *,
        count: int | None,
        interval: float,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.nodes = nodes  # (node name, socket URL), the home node first
        self.source = source
        self.count = count  # None: until `stop_new`
        self.interval = interval
        self.stop_new = math.inf  # wall time after which no new comment is written
        self.comments: list[Comment] = []
        self.pending: dict[str, Comment] = {}
        self.connects: list[tuple[float, str]] = []
        self.drops: list[float] = []
        self.statuses: list[tuple[float, str, str]] = []
        self.stray = 0  # answers to no attempt in flight
        self.node: str | None = None
        self.random = random.Random(seed)
        self._wake = asyncio.Event()
        self._next_new = 0.0
        self._hold = 0.0
        self._in_flight: tuple[Comment, Attempt] | None = None

    def stop(self, at: float | None = None) -> None:
        """Write no new comment after `at` (now by default); the queue is still sent."""
        self.stop_new = time.time() if at is None else at
        self._wake.set()

    @property
    def started_all(self) -> bool:
        """Every comment it will write is written."""
        return self._full or self._next_new > self.stop_new

    @property
    def _full(self) -> bool:
        return self.count is not None and len(self.comments) >= self.count

    def is_finished(self) -> bool:
        """Every comment it will write is written, and each acked or finally refused."""
        return self.started_all and not self.pending

    @property
    def acked(self) -> int:
        return sum(1 for c in self.comments if c.acked)

    async def run(self) -> None:
        # Commenters started together do not all write in the same instant.
        self._next_new = time.time() + self.random.uniform(0, self.interval)
        failures = turn = 0
        while not self.is_finished():
            node, url = self.nodes[turn % len(self.nodes)]
            connected = False
            try:
                async with connect(
                    url, open_timeout=OPEN_TIMEOUT, compression=None, max_size=None,
                    local_addr=(self.source, 0),
                ) as ws:  # fmt: skip
                    connected = True
                    self.node = node
                    self.connects.append((time.time(), node))
                    await self._session(ws, node)
            except CLIENT_ERRORS:
                pass
            self.node = None
            self._lost("lost")
            if self.is_finished():
                return
            self.drops.append(time.time())
            failures = 0 if connected else failures + 1
            turn += 1
            await asyncio.sleep(BACKOFF.delay(failures, self.random))

    def _lost(self, answer: str) -> None:
        if self._in_flight is not None:
            comment_, attempt = self._in_flight
            attempt.answer, attempt.answered = answer, time.time()
            comment_.due = 0.0
            self._in_flight = None

    async def _session(self, ws: ClientConnection, node: str) -> None:
        receiver = asyncio.get_running_loop().create_task(self._receive(ws))
        try:
            while not self.is_finished() and not receiver.done():
                now = time.time()
                if self._in_flight is None and (chosen := self._next(now)) is not None:
                    attempt = Attempt(len(chosen.attempts) + 1, node, now)
                    chosen.attempts.append(attempt)
                    self._in_flight = (chosen, attempt)
                    await ws.send(comment(chosen.client_msg_id, chosen.text(attempt.number)))
                    continue
                if self._in_flight is not None and now - self._in_flight[1].sent > ANSWER_TIMEOUT:
                    self._lost("silent")
                    return  # the connection is given up: reconnect and send again
                await _doze(self._wake, self._wake_at(now) - now)
            if receiver.done():
                receiver.result()
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, *CLIENT_ERRORS):
                await receiver

    def _next(self, now: float) -> Comment | None:
        """The comment to send now, if any: the queue's earliest that is due."""
        self._write(now)
        due = [c for c in self.pending.values() if c.due <= now]
        if now < self._hold or not due:
            return None
        return min(due, key=lambda c: c.due)

    def _write(self, now: float) -> None:
        """The comments written by `now`, one every `interval`, join the queue."""
        while not self._full and self._next_new <= min(now, self.stop_new):
            new = Comment(f"{self.name}-{len(self.comments):05d}", self._next_new, due=0.0)
            self.comments.append(new)
            self.pending[new.client_msg_id] = new
            self._next_new += self.interval

    def _wake_at(self, now: float) -> float:
        if self._in_flight is not None:
            return self._in_flight[1].sent + ANSWER_TIMEOUT
        times = [c.due for c in self.pending.values()]
        if not self.started_all:
            times.append(self._next_new)
        return max(min(times, default=now + 1.0), self._hold)

    async def _receive(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, str) and not message.startswith(EVENTS_PREFIX):
                    self._answer(json.loads(message))
        finally:
            self._wake.set()

    def _answer(self, frame: dict[str, Any]) -> None:
        kind, now = frame.get("type"), time.time()
        if kind == "status":
            self.statuses.append((now, str(frame.get("state")), str(frame.get("reason", ""))))
            return
        if kind not in ("ack", "retry", "rejected"):
            return
        flight = self._in_flight
        if flight is None or flight[0].client_msg_id != frame.get("client_msg_id"):
            self.stray += 1
            return
        self._in_flight = None
        self._wake.set()
        comment_, attempt = flight
        attempt.answered = now
        if kind == "ack":
            attempt.answer, comment_.acked = "ack", str(frame["id"])
        elif kind == "retry":
            attempt.answer = "retry"
            self._hold = comment_.due = now + float(frame.get("retry_after") or 1)
        else:
            reason = str(frame.get("reason"))
            attempt.answer = f"rejected:{reason}"
            if reason in TRANSIENT:
                self._hold = comment_.due = now + float(frame.get("retry_after") or 1)
            else:
                comment_.final = reason
        if comment_.settled:
            self.pending.pop(comment_.client_msg_id, None)


# Viewers


class Viewer:
    """Watches a meeting from the start (`?after=0`) and resumes with `?after=<last>`; keeps the
    ids of the comment events it got, in order, to compare with the record."""

    def __init__(self, name: str, nodes: list[tuple[str, str]], source: str, seed: int = 0) -> None:
        self.name = name
        self.nodes = nodes
        self.source = source
        self.received = array("q")  # `key`s of comment events, as they came
        self.last: str | None = None
        self.last_key = 0
        self.hellos: list[tuple[float, str]] = []  # (when, node): each (re)connection served
        self.drops: list[float] = []
        self.statuses: list[tuple[float, str, str]] = []
        self.reloads = 0
        self.node: str | None = None
        self.random = random.Random(seed)

    async def run(self) -> None:
        """Until cancelled."""
        failures = turn = 0
        while True:
            node, url = self.nodes[turn % len(self.nodes)]
            served = False
            try:
                async with connect(
                    f"{url}?after={self.last or '0'}", open_timeout=OPEN_TIMEOUT,
                    compression=None, max_size=None, local_addr=(self.source, 0),
                ) as ws:  # fmt: skip
                    async for message in ws:
                        served = self._frame(json.loads(message), node) or served
            except CLIENT_ERRORS:
                pass
            self.node = None
            self.drops.append(time.time())
            failures = 0 if served else failures + 1
            turn += 1
            await asyncio.sleep(BACKOFF.delay(failures, self.random))

    def _frame(self, frame: dict[str, Any], node: str) -> bool:
        kind = frame.get("type")
        if kind == "events":
            self.received.extend(
                key(e["id"]) for e in frame["events"] if e["kind"] in COMMENT_KINDS
            )
            self.last = str(frame["last"])
            self.last_key = key(self.last)
        elif kind == "hello":
            self.node = node
            self.hellos.append((time.time(), node))
            return True
        elif kind == "status":
            self.statuses.append((time.time(), str(frame.get("state")), str(frame.get("reason"))))
        elif kind == "reload":
            self.reloads += 1
        return False

    def events_between(self, start: float, end: float) -> int:
        """Comment events received whose ids were made between the wall times given."""
        low, high = int(start * 1000) << 20, int(end * 1000) << 20
        return sum(1 for k in self.received if low <= k < high)


# Nodes


@dataclass
class Node:
    """A `halyq serve` process started here (stopped, or killed, only by its PID)."""

    name: str
    server: ServerProcess

    @property
    def pid(self) -> int:
        return self.server.process.pid

    def ws(self, meeting_id: str) -> str:
        return self.server.ws(f"/ws/meetings/{meeting_id}")

    def kill(self) -> None:
        """kill -9, as a crash or an OOM kill would leave it."""
        os.kill(self.pid, signal.SIGKILL)
        self.server.process.wait()

    def sockets(self) -> int:
        """Open files and sockets of the process."""
        return int(psutil.Process(self.pid).num_fds())

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    async def metrics(self) -> dict[str, float]:
        """Prometheus samples of /metrics, by name with labels."""
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(self.server.url + "/metrics")).text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    samples[name] = float(value)
        return samples

    def log_tail(self, lines: int = 15) -> list[str]:
        return self.server.log.read_text(errors="replace").splitlines()[-lines:]

    def stop(self) -> None:
        self.server.stop()


async def start_node(
    name: str, workdir: Path, redis_url: str, prefix: str, **settings: str
) -> Node:
    """`halyq serve` on `redis_url` (limits of their defaults; comments from the clients'
    many addresses stay under the per-address ones). Started off the event loop: a proxy or
    clients served by this loop keep going meanwhile."""
    env = environment(
        REDIS_URL=redis_url,
        HALYQ_REDIS_PREFIX=prefix,
        HALYQ_VIEWER_WARMUP_SECONDS="0",  # slow mode is off; warm-up is not under test here
        HALYQ_LOG_LEVEL="info",
        **settings,
    )
    server = await asyncio.to_thread(start_server, workdir, env=env)
    return Node(name, server)


# A crowd of them


async def waited(condition: Callable[[], bool | Awaitable[bool]], within: float) -> float | None:
    """Seconds until `condition()` held, or None if it did not `within` that many."""
    began = time.monotonic()
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - began
        if time.monotonic() - began > within:
            return None
        await asyncio.sleep(0.01)


class Crowd:
    """The scenario's viewers and commenters, each a task of this event loop."""

    def __init__(self) -> None:
        self.viewers: list[Viewer] = []
        self.commenters: list[Commenter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.count = 0

    def _next(self) -> int:
        self.count += 1
        return self.count

    def viewer(self, nodes: list[tuple[str, str]]) -> Viewer:
        number = self._next()
        viewer = Viewer(f"v{number}", nodes, address(number), seed=number)
        self.viewers.append(viewer)
        self.tasks.append(asyncio.get_running_loop().create_task(viewer.run()))
        return viewer

    def commenter(
        self, prefix: str, nodes: list[tuple[str, str]], *, count: int | None, interval: float
    ) -> Commenter:
        number = self._next()
        who = Commenter(
            f"{prefix}{number}", nodes, address(number), count=count, interval=interval,
            seed=number,
        )  # fmt: skip
        self.commenters.append(who)
        self.tasks.append(asyncio.get_running_loop().create_task(who.run()))
        return who

    @property
    def acked(self) -> int:
        return sum(c.acked for c in self.commenters)

    def all_served(self) -> bool:
        return all(v.hellos for v in self.viewers)

    def finished(self) -> bool:
        return all(c.is_finished() for c in self.commenters)

    def caught_up(self, target: str, viewers: Iterable[Viewer] | None = None) -> bool:
        wanted = key(target)
        return all(v.last_key >= wanted for v in (self.viewers if viewers is None else viewers))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        failed = [t.exception() for t in self.tasks if not t.cancelled() and t.exception()]
        if failed:
            raise RuntimeError(f"a client failed: {failed[0]!r}") from failed[0]
