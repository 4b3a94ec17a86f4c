"""Commenters: R comments per second, spread over a few `websockets` connections, with ack timing.

Comments go out on a fixed schedule (open loop: a slow server does not slow the sender down),
each stamped with its wall-clock send time so that viewers in other processes can time delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.histogram import Histogram

ACK = b'{"type":"ack"'
REJECTED = b'{"type":"rejected"'
NAME = "Көрермен"
# A realistic comment body (about 100 characters): the size of what fans out matters.
FILLER = (
    "Құрметті әкім, біздің ауылдағы жол жөндеуі қашан басталады? Балалар мектепке батпақпен барады."
)


@dataclass(frozen=True, slots=True)
class Window:
    """The measured window in wall-clock seconds; the comments start `warmup` before it."""

    start: float
    end: float

    @property
    def start_ns(self) -> int:
        return int(self.start * 1e9)

    @property
    def end_ns(self) -> int:
        return int(self.end * 1e9)

    @property
    def seconds(self) -> float:
        return self.end - self.start


def comment_text(sent_ns: int, seq: int) -> str:
    """`bench t=<ns> s=<seq>` with digit groups split by `_`, then the filler."""
    return f"bench t={sent_ns:_} s={seq:_} {FILLER}"


class Commenters:
    """`ceil(rate / per_connection)` connections that together send `rate` comments a second."""

    def __init__(
        self, ws_url: str, rate: float, per_connection: float, window: Window, tag: str
    ) -> None:
        self.ws_url = ws_url
        self.rate = rate
        self.count = math.ceil(rate / per_connection) if rate > 0 else 0
        self.window = window
        self.tag = tag
        self.connections: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.pending: dict[str, tuple[int, bool]] = {}  # id -> (perf_counter_ns, in window)
        self.ack = Histogram()
        self.sent_total = 0
        self.sent = 0  # in the window, as are the counts below
        self.acked = 0
        self.held = 0
        self.rejected: Counter[str] = Counter()

    async def connect(self) -> None:
        opening = [
            connect(self.ws_url, compression=None, max_size=None, max_queue=1024)
            for _ in range(self.count)
        ]
        self.connections = list(await asyncio.gather(*opening))

    def start(self, first_wall: float) -> None:
        """Send from `first_wall` until the window ends; connection i starts i/rate later."""
        loop = asyncio.get_running_loop()
        for index, ws in enumerate(self.connections):
            offset = first_wall + index / self.rate
            self.tasks.append(loop.create_task(self._send_loop(index, ws, offset)))
            self.tasks.append(loop.create_task(self._read_loop(ws)))

    def unanswered(self) -> int:
        return sum(1 for _, in_window in self.pending.values() if in_window)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await task
        closing = [ws.close() for ws in self.connections]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.gather(*closing, return_exceptions=True)

    async def _send_loop(self, index: int, ws: ClientConnection, first: float) -> None:
        interval = self.count / self.rate
        seq = 0
        while (due := first + seq * interval) < self.window.end:
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._send(ws, f"{self.tag}c{index}n{seq}", seq)
            seq += 1

    async def _send(self, ws: ClientConnection, msg_id: str, seq: int) -> None:
        sent_ns = time.time_ns()
        in_window = self.window.start_ns <= sent_ns < self.window.end_ns
        frame = json.dumps(
            {
                "type": "comment",
                "client_msg_id": msg_id,
                "name": NAME,
                "text": comment_text(sent_ns, seq),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self.pending[msg_id] = (time.perf_counter_ns(), in_window)
        self.sent_total += 1
        self.sent += in_window
        await ws.send(frame)

    async def _read_loop(self, ws: ClientConnection) -> None:
        # Commenters get every broadcast too: skip those frames without decoding them.
        with contextlib.suppress(ConnectionClosed):
            while True:
                raw = await ws.recv(decode=False)
                if raw.startswith((ACK, REJECTED)):
                    self._answer(raw)

    def _answer(self, raw: bytes) -> None:
        now = time.perf_counter_ns()
        answer = json.loads(raw)
        sent = self.pending.pop(str(answer.get("client_msg_id")), None)
        if sent is None or not sent[1]:
            return
        if answer["type"] == "ack":
            self.acked += 1
            self.held += answer.get("status") == "held"
            self.ack.record((now - sent[0]) // 1000)
        else:
            self.rejected[str(answer.get("reason"))] += 1
