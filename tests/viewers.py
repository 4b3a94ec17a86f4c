"""Viewers that come and go: sockets that keep what they were shown and resume as the page does.

Storm and continuity tests (FLT-4, FLT-6, DUR-7) follow each viewer across its connections:
every event id it was shown, in order, the `last` it resumes after and the epoch it resumes
under, and how often it was told to reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.helpers import TIMEOUT, cli, recv_json


class Viewer:
    """One viewer across its connections to a meeting."""

    def __init__(self) -> None:
        self.ids: list[str] = []  # the event ids shown, in order (a reload starts them again)
        self.last: str | None = None
        self.epoch: str | None = None
        self.reloads = 0
        self.resumes = 0
        self.ws: ClientConnection | None = None

    async def open(self, base_url: str, meeting_id: str) -> dict[str, Any]:
        """Connect, resuming from `last` under `epoch` once there is one, and take the catch-up;
        returns the hello."""
        query = {"after": self.last, "epoch": self.epoch} if self.last else {}
        path = f"/ws/meetings/{meeting_id}" + (f"?{urlencode(query)}" if query else "")
        self.ws = await connect(
            "ws" + base_url.removeprefix("http") + path,
            compression=None,
            max_size=None,
            open_timeout=TIMEOUT,
        )
        hello = await recv_json(self.ws)
        assert hello["type"] == "hello", hello
        self.resumes += bool(query)
        self.epoch = hello["epoch"]
        frame = await self._next()
        if frame["type"] == "reload":
            self.reloads += 1
            self.ids.clear()  # the page drops what it shows; the history follows
            frame = await self._next()
        self.take(frame)
        return hello

    async def _next(self) -> dict[str, Any]:
        assert self.ws is not None
        while (frame := await recv_json(self.ws))["type"] == "status":
            pass  # the record's health (another test's concern)
        return frame

    def take(self, frame: dict[str, Any]) -> None:
        assert frame["type"] == "events", frame
        self.ids += [event["id"] for event in frame["events"]]
        self.last = frame["last"]

    async def read_until(self, done: Callable[[Viewer], bool], timeout: float = TIMEOUT) -> None:
        """Take frames until `done(self)`; other frames (acks, statuses) are passed over."""
        deadline = time.monotonic() + timeout
        while not done(self):
            assert self.ws is not None
            frame = await recv_json(self.ws, max(0.01, deadline - time.monotonic()))
            if frame["type"] == "events":
                self.take(frame)

    async def read_for(self, seconds: float) -> None:
        """Take whatever comes for `seconds`."""
        with contextlib.suppress(TimeoutError):
            await self.read_until(lambda _: False, seconds)

    async def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Take frames until the server closes the socket; its close code."""
        assert self.ws is not None
        with contextlib.suppress(ConnectionClosed):
            await self.read_until(lambda _: False, timeout)
        return self.ws.close_code

    def drop(self) -> None:
        """Lose the connection at once, as a phone going through a tunnel does."""
        if self.ws is not None:
            self.ws.transport.abort()
            self.ws = None

    def has(self, ids: list[str]) -> bool:
        """The last ids shown are `ids`."""
        return self.ids[-len(ids) :] == ids if ids else True

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.ids


def in_order_once(shown: list[str], expected: list[str]) -> None:
    """`shown` holds each of `expected` exactly once, in order, and nothing between them."""
    assert len(shown) == len(set(shown)), "an event was shown twice"
    first = shown.index(expected[0])
    assert shown[first:] == expected, "an event is missing or out of order"


def redis_cli(url: str, *args: str) -> str:
    """One command against the Redis at `url` (unix:// or redis://), as an operator runs it;
    an error reply or nobody answering fails the test."""
    return cli(url, *args, check=True).strip()


def range_reads(url: str) -> int:
    """XRANGE and XREVRANGE calls the Redis at `url` has served (INFO commandstats), scripts'
    calls included."""
    total = 0
    for line in redis_cli(url, "INFO", "commandstats").splitlines():
        name, _, stats = line.partition(":")
        if name in ("cmdstat_xrange", "cmdstat_xrevrange"):
            total += int(stats.split(",")[0].removeprefix("calls="))
    return total


@contextlib.asynccontextmanager
async def closing(viewers: list[Viewer]) -> AsyncIterator[list[Viewer]]:
    """The viewers, their connections dropped at the end however the test went (a server that
    went away may have left them half-closed)."""
    try:
        yield viewers
    finally:
        for viewer in viewers:
            viewer.drop()


async def gather_all(*aws: Any) -> list[Any]:
    """`asyncio.gather`, cancelling the rest if one fails (so a test fails fast and clean)."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
